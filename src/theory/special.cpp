#include "dcsde/theory/special.hpp"

#include <algorithm>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;
constexpr double kSqrt2OverPi = 0.797884560802865355879892119868763737;  // sqrt(2/pi)
constexpr double kInvSqrt2Pi = 0.398942280401432677939946059934381868;   // 1/sqrt(2 pi)
constexpr double kSqrt2 = 1.414213562373095048801688724209698079;
// From here on t_nu and N(0,1) agree to double rounding (F_nu - Phi = O(1/nu)).
constexpr double kGaussianFrom = 1e17;

bool gaussian(double nu) { return nu >= kGaussianFrom; }

void check_nu(double nu) { DCSDE_ASSERT(nu > 0.0, "Student-t degrees of freedom must be > 0"); }

// f_nu(0) = Gamma((nu+1)/2) / (sqrt(pi nu) Gamma(nu/2)); tgamma_delta_ratio(a, 1/2) is
// Gamma(a)/Gamma(a + 1/2), accurate even where lgamma differences lose digits (large nu).
double density_at_zero(double nu) {
  if (gaussian(nu)) return kInvSqrt2Pi;
  return 1.0 / (std::sqrt(kPi * nu) * boost::math::tgamma_delta_ratio(0.5 * nu, 0.5));
}

// Xi_nu(y); f0 = f_nu(0) when the caller has it, else negative (computed only if needed).
double xi_with(double y, double nu, double f0) {
  if (std::isnan(y)) return y;
  if (gaussian(nu)) return 0.5 * std::erf(y / kSqrt2);
  const double a = std::fabs(y);
  double r;
  if (a < 1e-8 * std::sqrt(std::min(nu, 1.0))) {
    // Xi = f0 y (1 - (nu+1)/(6 nu) y^2 + ...): the correction is below 2^-53 here.
    r = (f0 < 0.0 ? density_at_zero(nu) : f0) * a;
  } else {
    const double y2 = a * a;  // may be +inf for |y| > 1e154: then nu/(nu+y2) = 0, Xi = 1/2
    // Both branches call ibeta at x <= 1/2: Boost's ibetac loses digits at tiny x (e.g. 2e-12
    // absolute at nu = 1, y = 1e8), its ibeta does not.
    r = y2 < nu ? 0.5 * boost::math::ibeta(0.5, 0.5 * nu, y2 / (nu + y2))
                : 0.5 - 0.5 * boost::math::ibeta(0.5 * nu, 0.5, nu / (nu + y2));
  }
  return y < 0 ? -r : r;
}

double density_with(double y, double nu, double f0) {
  if (std::isnan(y)) return y;
  if (gaussian(nu)) return kInvSqrt2Pi * std::exp(-0.5 * y * y);
  // (1 + y^2/nu)^(-(nu+1)/2) through log1p: accurate for small y^2/nu and large nu.
  return f0 * std::exp(-0.5 * (nu + 1.0) * std::log1p(y * y / nu));
}

}  // namespace

double xi_nu(double y, double nu) {
  check_nu(nu);
  // Closed forms (papers.md 4.2), exact and ~10x cheaper than the incomplete beta; the SDE of
  // DSignSGD under Cauchy noise evaluates Xi for every coordinate and agent at every step.
  if (nu == 1.0) return std::atan(y) / kPi;
  if (nu == 2.0) return y / (2.0 * std::sqrt(2.0 + y * y));
  return xi_with(y, nu, -1.0);
}

double xi_nu_derivative(double y, double nu) {
  check_nu(nu);
  if (nu == 1.0) return 1.0 / (kPi * (1.0 + y * y));
  return density_with(y, nu, density_at_zero(nu));
}

double ell_nu(double nu) {
  check_nu(nu);
  return gaussian(nu) ? kSqrt2OverPi : 2.0 * density_at_zero(nu);
}

double m_nu(double nu) { return 2.0 * xi_nu_derivative(1.0, nu); }

double student_t_variance(double nu) {
  check_nu(nu);
  if (std::isinf(nu)) return 1.0;
  return nu > 2.0 ? nu / (nu - 2.0) : std::numeric_limits<double>::infinity();
}

void xi_nu(const Eigen::Ref<const Eigen::ArrayXd>& y, double nu, Eigen::Ref<Eigen::ArrayXd> out) {
  check_nu(nu);
  DCSDE_ASSERT(out.size() == y.size(), "xi_nu: out must have the size of y");
  if (nu == 1.0 || nu == 2.0) {  // the closed forms of the scalar version, bit for bit
    for (Eigen::Index j = 0; j < y.size(); ++j) out(j) = xi_nu(y(j), nu);
    return;
  }
  const double f0 = density_at_zero(nu);
  for (Eigen::Index j = 0; j < y.size(); ++j) out(j) = xi_with(y(j), nu, f0);
}

void xi_nu_derivative(const Eigen::Ref<const Eigen::ArrayXd>& y, double nu,
                      Eigen::Ref<Eigen::ArrayXd> out) {
  check_nu(nu);
  DCSDE_ASSERT(out.size() == y.size(), "xi_nu_derivative: out must have the size of y");
  if (nu == 1.0) {
    for (Eigen::Index j = 0; j < y.size(); ++j) out(j) = xi_nu_derivative(y(j), nu);
    return;
  }
  const double f0 = density_at_zero(nu);
  for (Eigen::Index j = 0; j < y.size(); ++j) out(j) = density_with(y(j), nu, f0);
}

}  // namespace dcsde
