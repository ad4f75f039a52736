// Xi_nu, its derivative, ell_nu and M_nu (papers.md 4.2, 8.5, 9) against closed forms, the
// Gaussian limit and 40-digit mpmath values.
#include "dcsde/theory/special.hpp"

#include <gtest/gtest.h>

#include <boost/math/tools/minima.hpp>
#include <cmath>
#include <limits>
#include <vector>

namespace dcsde {
namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;
const double kInf = std::numeric_limits<double>::infinity();

// Arguments from 1e-8 to 1e8, both signs, including the branch switch y^2 = nu.
std::vector<double> arguments() {
  std::vector<double> ys = {1e-8, 3e-6, 1e-3, 0.1,  0.5,  0.99, 1.0,   1.01, 1.5, 1.7320508,
                            2.0,  3.0,  7.5,  10.0, 55.0, 1e3,  4.2e4, 1e6,  1e8};
  const std::size_t n = ys.size();
  for (std::size_t i = 0; i < n; ++i) ys.push_back(-ys[i]);
  return ys;
}

void expect_relative(double got, double want, double tol, const char* what, double y) {
  EXPECT_LE(std::fabs(got - want), tol * std::fabs(want)) << what << " at y = " << y;
}

TEST(XiNu, CauchyClosedForm) {
  for (double y : arguments()) expect_relative(xi_nu(y, 1.0), std::atan(y) / kPi, 1e-14, "nu=1", y);
}

TEST(XiNu, NuTwoClosedForm) {
  for (double y : arguments()) {
    expect_relative(xi_nu(y, 2.0), y / (2.0 * std::sqrt(2.0 + y * y)), 1e-14, "nu=2", y);
  }
}

TEST(XiNu, NuThreeClosedForm) {
  const double r3 = std::sqrt(3.0);
  for (double y : arguments()) {
    const double want = (y / (r3 * (1.0 + y * y / 3.0)) + std::atan(y / r3)) / kPi;
    expect_relative(xi_nu(y, 3.0), want, 1e-14, "nu=3", y);
  }
}

TEST(XiNu, NonIntegerNuMatchesHighPrecisionValues) {
  struct Case {
    double nu, y, want;  // mpmath, 40 digits: betainc(1/2, nu/2, 0, y^2/(nu+y^2))/2
  };
  const Case cases[] = {
      {1.5, 0.3, 0.09976390159820757388},  {1.5, 2.0, 0.38790583482197446684},
      {1.5, 50.0, 0.4989337845448555666},  {1.5, 1e6, 0.4999999996229147568},
      {0.5, 1.0, 0.19887838915867791845},  {0.5, 1e-5, 2.6967630058070586331e-6},
      {7.25, 3.0, 0.49043293350341545872}, {1e9, 1.0, 0.34134474594755758636},
      {1e6, 2.5, 0.4937902552489183769},   {4.0, 1e-8, 3.7499999999999999219e-9},
  };
  for (const Case& c : cases) {
    expect_relative(xi_nu(c.y, c.nu), c.want, 1e-14, "mpmath", c.y);
    expect_relative(xi_nu(-c.y, c.nu), -c.want, 1e-14, "mpmath", -c.y);
  }
}

TEST(XiNu, GaussianLimit) {
  for (double y : arguments()) {
    const double gauss = 0.5 * std::erf(y / std::sqrt(2.0));
    EXPECT_NEAR(xi_nu(y, 1e9), gauss, 1e-7) << "y = " << y;
    EXPECT_DOUBLE_EQ(xi_nu(y, kGaussianNu), gauss) << "y = " << y;
    // The switch to the Gaussian formula at nu = 1e17 is seamless.
    EXPECT_NEAR(xi_nu(y, 0.99e17), xi_nu(y, 1.01e17), 1e-16) << "y = " << y;
  }
}

TEST(XiNu, OddMonotoneAndBounded) {
  for (double nu : {0.3, 1.0, 1.5, 2.0, 3.0, 10.0, 1e4, kGaussianNu}) {
    double previous = -0.5;
    for (double y = -60.0; y <= 60.0; y += 0.05) {
      const double v = xi_nu(y, nu);
      EXPECT_EQ(xi_nu(-y, nu), -v) << "nu = " << nu << ", y = " << y;
      EXPECT_GE(v, previous) << "nu = " << nu << ", y = " << y;
      EXPECT_LE(std::fabs(v), 0.5);
      previous = v;
    }
    // Strictly increasing where the values are resolvable.
    EXPECT_LT(xi_nu(0.99, nu), xi_nu(1.0, nu));
    EXPECT_EQ(xi_nu(0.0, nu), 0.0);
  }
}

TEST(XiNu, TendsToOneHalfWithoutCancellation) {
  for (double nu : {0.5, 1.0, 3.0, kGaussianNu}) {
    EXPECT_EQ(xi_nu(kInf, nu), 0.5);
    EXPECT_EQ(xi_nu(-kInf, nu), -0.5);
    EXPECT_EQ(xi_nu(1e300, nu), 0.5);
  }
  // The Cauchy tail: 1/2 - Xi_1(y) = atan(1/y)/pi ~ 1/(pi y), to the rounding of Xi (ulp/2
  // ~ 5.6e-17).
  for (double y : {1e2, 1e4, 1e6, 1e8}) {
    EXPECT_NEAR(0.5 - xi_nu(y, 1.0), std::atan(1.0 / y) / kPi, 1.2e-16) << "y = " << y;
  }
  EXPECT_TRUE(std::isnan(xi_nu(std::nan(""), 2.0)));
}

TEST(XiNu, TinyArguments) {
  // Below y^2 underflow the linear term f_nu(0) y is exact.
  for (double nu : {0.5, 1.0, 3.0, 1e5}) {
    for (double y : {1e-12, 1e-200, 1e-300}) {
      expect_relative(xi_nu(y, nu), 0.5 * ell_nu(nu) * y, 1e-15, "tiny", y);
    }
  }
  expect_relative(xi_nu(1e-200, 1.0), 1e-200 / kPi, 1e-15, "tiny nu=1", 1e-200);
}

TEST(XiNuDerivative, IsTheStudentTDensity) {
  for (double y : arguments()) {
    expect_relative(xi_nu_derivative(y, 1.0), 1.0 / (kPi * (1.0 + y * y)), 1e-14, "nu=1", y);
    expect_relative(xi_nu_derivative(y, 2.0), std::pow(2.0 + y * y, -1.5), 1e-13, "nu=2", y);
    if (std::fabs(y) < 30.0) {
      expect_relative(xi_nu_derivative(y, kGaussianNu),
                      std::exp(-0.5 * y * y) / std::sqrt(2.0 * kPi), 1e-14, "gauss", y);
    }
  }
  EXPECT_EQ(xi_nu_derivative(kInf, 1.5), 0.0);
}

TEST(XiNuDerivative, MatchesCentralDifferencesOfXi) {
  for (double nu : {0.7, 1.5, 4.0, 30.0, kGaussianNu}) {
    for (double y : {-3.0, -0.4, 0.0, 0.25, 1.0, 2.5, 8.0}) {
      const double h = 1e-5;
      const double fd = (xi_nu(y + h, nu) - xi_nu(y - h, nu)) / (2.0 * h);
      EXPECT_NEAR(xi_nu_derivative(y, nu), fd, 1e-9) << "nu = " << nu << ", y = " << y;
    }
  }
}

TEST(EllNu, TableOfPapersMd) {
  // papers.md 4.2, 5 digits.
  const std::pair<double, double> table[] = {
      {1.0, 0.63662}, {2.0, 0.70711},  {3.0, 0.73511},  {4.0, 0.75},
      {5.0, 0.75921}, {10.0, 0.77822}, {30.0, 0.79126}, {kGaussianNu, 0.79788}};
  for (const auto& [nu, want] : table) EXPECT_NEAR(ell_nu(nu), want, 5e-6) << "nu = " << nu;
  EXPECT_NEAR(ell_nu(1.0), 2.0 / kPi, 1e-16);
  EXPECT_NEAR(ell_nu(kGaussianNu), std::sqrt(2.0 / kPi), 1e-16);
  EXPECT_NEAR(ell_nu(1.5), 0.68146996257738727991, 1e-15);
  EXPECT_NEAR(ell_nu(0.5), 0.53935260118837935667, 1e-15);
}

TEST(EllNu, IsTwiceTheDerivativeAtZeroAndIncreasing) {
  double previous = 0.0;
  for (double nu : {0.1, 0.5, 1.0, 1.5, 2.0, 5.0, 100.0, 1e6, 1e12, 1e20, kGaussianNu}) {
    EXPECT_NEAR(ell_nu(nu), 2.0 * xi_nu_derivative(0.0, nu), 1e-16) << "nu = " << nu;
    EXPECT_GT(ell_nu(nu), previous - 1e-16) << "nu = " << nu;
    previous = ell_nu(nu);
  }
  // Large nu: ell_nu = sqrt(2/pi) (1 - 1/(4 nu) + 1/(32 nu^2) + O(nu^-3)); a difference of
  // lgamma values would lose these digits.
  for (double nu : {1e6, 1e9}) {
    const double series = 1.0 - 0.25 / nu + 1.0 / (32.0 * nu * nu);
    EXPECT_NEAR(ell_nu(nu), std::sqrt(2.0 / kPi) * series, 1e-15) << "nu = " << nu;
  }
}

TEST(MNu, GuessValuesAndClosedFormMatchTheNumericalSupremum) {
  // papers.md 8.5 [GUESS]: nu = 1: 0.318, nu = 2: 0.385, Gaussian: 0.484.
  EXPECT_NEAR(m_nu(1.0), 0.318, 5e-4);
  EXPECT_NEAR(m_nu(2.0), 0.385, 5e-4);
  EXPECT_NEAR(m_nu(kGaussianNu), 0.484, 5e-4);
  EXPECT_NEAR(m_nu(1.0), 1.0 / kPi, 1e-15);
  EXPECT_NEAR(m_nu(kGaussianNu), std::sqrt(2.0 / kPi) * std::exp(-0.5), 1e-15);
  for (double nu : {0.5, 1.0, 1.5, 2.0, 3.0, 10.0, 1e3, kGaussianNu}) {
    const auto negated = [nu](double y) { return -2.0 * y * xi_nu_derivative(y, nu); };
    const auto [y_star, value] = boost::math::tools::brent_find_minima(negated, 0.01, 20.0, 50);
    EXPECT_NEAR(y_star, 1.0, 1e-6) << "nu = " << nu;
    EXPECT_NEAR(m_nu(nu), -value, 1e-13) << "nu = " << nu;
    if (nu != kGaussianNu) {
      const double closed = ell_nu(nu) * std::exp(-0.5 * (nu + 1.0) * std::log1p(1.0 / nu));
      EXPECT_NEAR(m_nu(nu), closed, 1e-15) << "nu = " << nu;
    }
  }
}

TEST(StudentTVariance, FiniteOnlyAboveTwo) {
  EXPECT_EQ(student_t_variance(1.0), kInf);
  EXPECT_EQ(student_t_variance(2.0), kInf);
  EXPECT_DOUBLE_EQ(student_t_variance(3.0), 3.0);
  EXPECT_DOUBLE_EQ(student_t_variance(kGaussianNu), 1.0);
}

TEST(XiNuVectorized, MatchesScalar) {
  const std::vector<double> ys = arguments();
  Eigen::ArrayXd y =
      Eigen::Map<const Eigen::ArrayXd>(ys.data(), static_cast<Eigen::Index>(ys.size()));
  Eigen::ArrayXd out(y.size()), dout(y.size());
  for (double nu : {1.0, 2.5, kGaussianNu}) {
    xi_nu(y, nu, out);
    xi_nu_derivative(y, nu, dout);
    for (Eigen::Index j = 0; j < y.size(); ++j) {
      EXPECT_EQ(out(j), xi_nu(y(j), nu));
      EXPECT_EQ(dout(j), xi_nu_derivative(y(j), nu));
    }
  }
  // In place, and on a block of a larger array.
  Eigen::ArrayXd z = y;
  xi_nu(z, 1.0, z);
  EXPECT_EQ(z(3), xi_nu(y(3), 1.0));
  Eigen::ArrayXd w = Eigen::ArrayXd::Zero(10);
  xi_nu(y.head(4), 3.0, w.segment(2, 4));
  EXPECT_EQ(w(2), xi_nu(y(0), 3.0));
  EXPECT_EQ(w(0), 0.0);
}

TEST(XiNuDeathTest, RejectsNonPositiveNu) {
  EXPECT_DEATH(xi_nu(1.0, 0.0), "degrees of freedom");
  EXPECT_DEATH(ell_nu(std::nan("")), "degrees of freedom");
}

}  // namespace
}  // namespace dcsde
