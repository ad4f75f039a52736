// Convergence bounds (papers.md 0 Thm 3 and Thm 4 [READ: poster], 7.4 and 7.5 [DERIVED]):
// the formulas, their limits in t, the refusals, and two checks against the optimizers on an
// isotropic quadratic (where L = mu and the bounds are tight): DCSGD's exact second-moment
// recursion and a Monte Carlo run of DSignSGD under Student-t noise.
#include "dcsde/theory/bounds.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "dcsde/core/rng.hpp"

namespace dcsde {
namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;

DcsgdBoundInputs thm3_inputs() {
  return {.eta = 0.001,
          .L = 10.0,
          .mu = 0.1,
          .d = 100,
          .N = 8,
          .B = 2,
          .sigma2 = 1.5,
          .omega = 9.0,
          .initial_gap = 50.0};
}

DsignsgdBoundInputs thm4_inputs() {
  return {.eta = 0.01,
          .L = 10.0,
          .mu = 0.1,
          .d = 100,
          .N = 8,
          .B = 4,
          .sigma = 2.0,
          .nu = 1.5,
          .initial_gap = 50.0};
}

void expect_shape(const ConvergenceBound& b) {
  ASSERT_TRUE(b.holds) << b.reason;
  EXPECT_TRUE(b.reason.empty());
  EXPECT_DOUBLE_EQ(b.at(0.0), b.initial_gap);
  EXPECT_NEAR(b.at(1e3 / b.rate), b.asymptote, 1e-12 * b.asymptote);
  EXPECT_DOUBLE_EQ(b.at(std::numeric_limits<double>::infinity()), b.asymptote);
  // Between the two, e^{-rate t} interpolates.
  const double t = 0.7 / b.rate, e = std::exp(-0.7);
  EXPECT_NEAR(b.at(t), b.initial_gap * e + (1.0 - e) * b.asymptote, 1e-12 * b.initial_gap);
}

TEST(DcsgdBound, PosterFormula) {
  const DcsgdBoundInputs in = thm3_inputs();
  const ConvergenceBound b = dcsgd_bound(in);
  expect_shape(b);
  const double delta = 1.0 - 0.001 * 100.0 * 9.0 / (2.0 * 0.1 * 8.0);  // 1 - eta L^2 omega/(2 mu N)
  EXPECT_DOUBLE_EQ(b.delta, delta);
  EXPECT_DOUBLE_EQ(b.rate, 2.0 * 0.1 * delta);
  EXPECT_DOUBLE_EQ(b.asymptote, (0.001 * 10.0 * 100.0 / (4.0 * 0.1 * 8.0)) * (1.5 / 2.0) * 10.0 /
                                    (1.0 - 0.001 * 100.0 * 9.0 / (2.0 * 0.1 * 8.0)));
}

TEST(DcsgdBound, NoCompressionIsDsgdWithLinearSpeedup) {
  DcsgdBoundInputs in = thm3_inputs();
  in.omega = 0.0;
  const ConvergenceBound b = dcsgd_bound(in);
  expect_shape(b);
  EXPECT_EQ(b.delta, 1.0);
  EXPECT_DOUBLE_EQ(b.rate, 2.0 * 0.1);
  // eta L d sigma^2 / (4 mu N B)
  EXPECT_DOUBLE_EQ(b.asymptote, 0.001 * 10.0 * 100.0 * 1.5 / (4.0 * 0.1 * 8.0 * 2.0));
  in.N = 16;
  EXPECT_DOUBLE_EQ(dcsgd_bound(in).asymptote, b.asymptote / 2.0);
}

TEST(DcsgdBound, RefusesWhenTheRateIsNotPositive) {
  DcsgdBoundInputs in = thm3_inputs();
  in.eta = 2.0 * 0.1 * 8.0 / (100.0 * 9.0) * 1.01;  // just above 2 mu N/(L^2 omega)
  ConvergenceBound b = dcsgd_bound(in);
  EXPECT_FALSE(b.holds);
  EXPECT_NE(b.reason.find("eta >= 2 mu N/(L^2 omega): the bound's rate is not positive"),
            std::string::npos)
      << b.reason;
  EXPECT_LT(b.delta, 0.0);
  EXPECT_EQ(b.at(1.0), std::numeric_limits<double>::infinity());
  in.eta *= 0.98;  // just below
  EXPECT_TRUE(dcsgd_bound(in).holds);
}

TEST(DcsgdBound, RefusesWithoutSmoothnessPlOrFiniteVariance) {
  DcsgdBoundInputs in = thm3_inputs();
  in.L.reset();
  EXPECT_NE(dcsgd_bound(in).reason.find("not L-smooth"), std::string::npos);
  in = thm3_inputs();
  in.L = 0.0;
  EXPECT_NE(dcsgd_bound(in).reason.find("not L-smooth"), std::string::npos);
  in = thm3_inputs();
  in.mu.reset();
  EXPECT_NE(dcsgd_bound(in).reason.find("not PL"), std::string::npos);
  in.mu = -1.0;
  const ConvergenceBound b = dcsgd_bound(in);
  EXPECT_FALSE(b.holds);
  EXPECT_NE(b.reason.find("not PL: mu = -1. Violated constraint: 0 < mu < inf."), std::string::npos)
      << b.reason;
  in = thm3_inputs();
  in.finite_variance = false;
  const std::string reason = dcsgd_bound(in).reason;
  EXPECT_NE(reason.find("Student-t"), std::string::npos) << reason;
  EXPECT_NE(reason.find("nu <= 2"), std::string::npos) << reason;
  in = thm3_inputs();
  in.eta = -1.0;
  EXPECT_EQ(dcsgd_bound(in).reason, "eta = -1. Violated constraint: 0 < eta < inf.");
  in = thm3_inputs();
  in.B = 0.0;
  EXPECT_EQ(dcsgd_bound(in).reason, "B = 0. Violated constraint: 0 < B < inf.");
}

// f = (lambda/2)||x||^2 (L = mu = lambda), agent noise N(0, s I) with s = sigma^2/B, compressor
// with K(v) = omega diag(v^2) (Bernoulli). Per coordinate m = E x_j^2 obeys exactly
//   m' = A m + c,  A = (1 - eta lambda)^2 + eta^2 omega lambda^2/N,  c = eta^2 (1 + omega) s/N,
// so E f(x_k) = (lambda d/2) m_k. Stationary: E f = asymptote Delta/(Delta - eta lambda/2): the
// poster's Delta (= 1 - eta lambda omega/(2N) here) is exact, the first-order SDE misses only
// GD's own O(eta) term. The decay matches the rate to O(eta).
TEST(DcsgdBound, MatchesTheExactRecursionOfDcsgdOnAnIsotropicQuadratic) {
  const double lambda = 2.0, sigma2 = 3.0, B = 2.0, N = 4.0, omega = 3.0, d = 10.0;
  for (double eta : {0.02, 0.005, 0.001}) {
    const double s = sigma2 / B;
    const double A = std::pow(1.0 - eta * lambda, 2) + eta * eta * omega * lambda * lambda / N;
    const double c = eta * eta * (1.0 + omega) * s / N;
    double m = 0.0;
    for (int k = 0; k < 200000 && std::fabs(A * m + c - m) > 1e-18; ++k) m = A * m + c;
    const double stationary = 0.5 * lambda * d * m;
    const ConvergenceBound b = dcsgd_bound({.eta = eta,
                                            .L = lambda,
                                            .mu = lambda,
                                            .d = static_cast<Index>(d),
                                            .N = N,
                                            .B = B,
                                            .sigma2 = sigma2,
                                            .omega = omega,
                                            .initial_gap = 1.0});
    ASSERT_TRUE(b.holds) << b.reason;
    EXPECT_NEAR(stationary, b.asymptote * b.delta / (b.delta - 0.5 * eta * lambda),
                1e-9 * stationary)
        << "eta = " << eta;
    EXPECT_NEAR(stationary / b.asymptote - 1.0, 0.0, eta * lambda) << "eta = " << eta;
    EXPECT_NEAR(-std::log(A) / eta, b.rate, 2.0 * eta * lambda * lambda) << "eta = " << eta;
  }
}

TEST(DcsgdBoundDerived, PerAgentFormulaAndRelationToThePoster) {
  DcsgdDerivedBoundInputs in{.eta = 0.002,
                             .L = 10.0,
                             .mu = 0.1,
                             .d = 100,
                             .B = 2.0,
                             .sigma2 = {1.0, 2.0, 0.5, 4.5},
                             .omega = {1.0, 3.0, 0.0, 8.0},
                             .initial_gap = 20.0};
  ConvergenceBound b = dcsgd_bound_derived(in);
  expect_shape(b);
  const double omega_bar = 3.0, s2 = 2.0, s2_omega = (1.0 + 6.0 + 0.0 + 36.0) / 4.0;
  const double a = 1.0 - 0.002 * 10.0 * omega_bar / (2.0 * 4.0);
  EXPECT_DOUBLE_EQ(b.delta, a);
  EXPECT_DOUBLE_EQ(b.rate, 2.0 * 0.1 * a);
  EXPECT_DOUBLE_EQ(b.asymptote,
                   0.002 * 10.0 * 100.0 * (s2 + s2_omega) / (4.0 * 0.1 * 4.0 * 2.0 * a));
  // Equal agents: the poster's Thm 3 with its Delta replaced by a.
  in.sigma2 = {1.5, 1.5, 1.5, 1.5};
  in.omega = {3.0};
  b = dcsgd_bound_derived(in);
  const ConvergenceBound p = dcsgd_bound({.eta = 0.002,
                                          .L = 10.0,
                                          .mu = 0.1,
                                          .d = 100,
                                          .N = 4,
                                          .B = 2.0,
                                          .sigma2 = 1.5,
                                          .omega = 3.0,
                                          .initial_gap = 20.0});
  ASSERT_TRUE(p.holds) << p.reason;
  EXPECT_DOUBLE_EQ(b.asymptote * b.delta, p.asymptote * p.delta);
  EXPECT_GT(b.delta, p.delta);  // L <= L^2/mu
  // Refusal at a <= 0: eta >= 2N/(L omega_bar).
  in.eta = 2.0 * 4.0 / (10.0 * 3.0);
  b = dcsgd_bound_derived(in);
  EXPECT_FALSE(b.holds);
  EXPECT_NE(b.reason.find("eta >= 2 N/(L omega_bar)"), std::string::npos) << b.reason;
  in.omega = {1.0, 2.0};
  EXPECT_NE(dcsgd_bound_derived(in).reason.find("omega has 2 values for 4 agents"),
            std::string::npos);
}

TEST(DsignsgdBound, PosterFormula) {
  const ConvergenceBound b = dsignsgd_bound(thm4_inputs());
  expect_shape(b);
  const double ell = ell_nu(1.5);
  EXPECT_DOUBLE_EQ(b.delta, ell * 2.0 / 2.0);  // ell sqrt(B)/sigma
  EXPECT_DOUBLE_EQ(b.rate, 2.0 * 0.1 * ell);
  EXPECT_DOUBLE_EQ(b.asymptote, (0.01 * 10.0 * 100.0 / (4.0 * 0.1 * 8.0)) * (2.0 / 2.0) / ell);
}

TEST(DsignsgdBound, HoldsForEveryNuAndScalesLinearlyInSigma) {
  DsignsgdBoundInputs in = thm4_inputs();
  for (double nu : {0.5, 1.0, 2.0, kGaussianNu}) {
    in.nu = nu;
    expect_shape(dsignsgd_bound(in));
  }
  in.nu = kGaussianNu;
  EXPECT_DOUBLE_EQ(dsignsgd_bound(in).delta, std::sqrt(2.0 / kPi) * 2.0 / 2.0);
  const ConvergenceBound one = dsignsgd_bound(in);
  in.sigma *= 3.0;
  const ConvergenceBound three = dsignsgd_bound(in);
  EXPECT_DOUBLE_EQ(three.asymptote, 3.0 * one.asymptote);
  EXPECT_DOUBLE_EQ(three.rate, one.rate / 3.0);
}

TEST(DsignsgdBound, Refusals) {
  DsignsgdBoundInputs in = thm4_inputs();
  in.sigma = 0.0;
  EXPECT_EQ(dsignsgd_bound(in).reason, "sigma = 0. Violated constraint: 0 < sigma < inf.");
  in = thm4_inputs();
  in.mu.reset();
  EXPECT_NE(dsignsgd_bound(in).reason.find("not PL"), std::string::npos);
  in = thm4_inputs();
  in.L.reset();
  EXPECT_NE(dsignsgd_bound(in).reason.find("not L-smooth"), std::string::npos);
  in = thm4_inputs();
  in.nu = 0.0;
  EXPECT_EQ(dsignsgd_bound(in).reason, "nu = 0. Violated constraint: nu > 0.");
}

TEST(DsignsgdBoundDerived, HarmonicMeanAndEqualAgentsGiveThePoster) {
  DsignsgdBoundInputs p = thm4_inputs();
  DsignsgdDerivedBoundInputs in{.eta = p.eta,
                                .L_tau = 10.0 * 100.0,
                                .mu = p.mu,
                                .B = p.B,
                                .sigma = std::vector<double>(8, p.sigma),
                                .nu = p.nu,
                                .initial_gap = p.initial_gap};
  ConvergenceBound b = dsignsgd_bound_derived(in), q = dsignsgd_bound(p);
  expect_shape(b);
  EXPECT_DOUBLE_EQ(b.delta, q.delta);
  EXPECT_DOUBLE_EQ(b.rate, q.rate);
  EXPECT_DOUBLE_EQ(b.asymptote, q.asymptote);
  // Two agents with scales 1 and 3: sigma_H = 1.5.
  in.sigma = {1.0, 3.0};
  b = dsignsgd_bound_derived(in);
  const double s_h = 1.5 / std::sqrt(p.B), ell = ell_nu(p.nu);
  EXPECT_DOUBLE_EQ(b.delta, ell / s_h);
  EXPECT_DOUBLE_EQ(b.asymptote, p.eta * 1000.0 * s_h / (4.0 * 0.1 * 2.0 * ell));
  in.L_tau.reset();
  EXPECT_NE(dsignsgd_bound_derived(in).reason.find("not L-smooth"), std::string::npos);
  in.L_tau = 1.0;
  in.sigma = {1.0, -1.0};
  EXPECT_EQ(dsignsgd_bound_derived(in).reason,
            "sigma[1] = -1. Violated constraint: 0 < sigma < inf.");
}

// DSignSGD on f = (lambda/2) x^2 (d = 1, L = mu = lambda), N agents, Student-t noise of scale
// sigma/sqrt(B): in the small-SNR phase the stationary mean loss is Thm 4's asymptote, up to the
// optimizer's own O(eta) factor 1/(1 - a/2), a = eta ell lambda sqrt(B)/sigma (the linearized
// recursion m' = (1 - a)^2 m + eta^2/N). R independent chains; the tolerance is 4 standard errors
// of their means plus 1% for the neglected O(SNR^2) terms.
TEST(DsignsgdBound, MatchesMonteCarloOfDsignsgdUnderStudentTNoise) {
  const double lambda = 1.0, sigma = 20.0, B = 4.0, eta = 0.2, nu = 1.5;
  const int N = 4, chains = 16, burn_in = 2000, steps = 40000;
  const std::uint64_t seed = 20250917;
  const ConvergenceBound b = dsignsgd_bound({.eta = eta,
                                             .L = lambda,
                                             .mu = lambda,
                                             .d = 1,
                                             .N = N,
                                             .B = B,
                                             .sigma = sigma,
                                             .nu = nu,
                                             .initial_gap = 0.0});
  ASSERT_TRUE(b.holds) << b.reason;
  const double s = sigma / std::sqrt(B);
  const double a = eta * ell_nu(nu) * lambda / s;
  const double predicted = b.asymptote / (1.0 - 0.5 * a);
  std::vector<double> means;
  for (int r = 0; r < chains; ++r) {
    double x = 0.0, sum = 0.0;
    for (int k = 0; k < burn_in + steps; ++k) {
      Philox stream(seed, static_cast<std::uint64_t>(r), 0, Purpose::kTest,
                    static_cast<std::uint64_t>(k));
      double direction = 0.0;
      for (int i = 0; i < N; ++i) {
        const double g = lambda * x + s * stream.student_t(nu);
        direction += (g > 0.0) - (g < 0.0);
      }
      x -= eta * direction / N;
      if (k >= burn_in) sum += 0.5 * lambda * x * x;
    }
    means.push_back(sum / steps);
  }
  double mean = 0.0, var = 0.0;
  for (double m : means) mean += m / chains;
  for (double m : means) var += (m - mean) * (m - mean) / (chains - 1);
  const double se = std::sqrt(var / chains);
  EXPECT_NEAR(mean, predicted, 4.0 * se + 0.01 * predicted)
      << "seed " << seed << ", standard error " << se << ", bound asymptote " << b.asymptote;
  // The Gaussian ell (17% larger) is excluded: the test can see nu.
  EXPECT_GT(std::fabs(mean - predicted * ell_nu(nu) / ell_nu(kGaussianNu)), 4.0 * se);
}

// docs/theory.md, "Worked example": d = 100, L = 10, mu = 0.1, N = 8, B = 1, sigma = 1, omega = 9.
TEST(WorkedExample, NumbersOfTheDocs) {
  DcsgdBoundInputs c{.eta = 0.01,
                     .L = 10.0,
                     .mu = 0.1,
                     .d = 100,
                     .N = 8,
                     .B = 1,
                     .sigma2 = 1.0,
                     .omega = 9.0,
                     .initial_gap = 100.0};
  ConvergenceBound b = dcsgd_bound(c);
  EXPECT_FALSE(b.holds);
  EXPECT_DOUBLE_EQ(b.delta, -4.625);
  c.eta = 0.001;
  b = dcsgd_bound(c);
  EXPECT_DOUBLE_EQ(b.delta, 0.4375);
  EXPECT_NEAR(b.asymptote, 7.14286, 1e-5);
  const ConvergenceBound derived = dcsgd_bound_derived({.eta = 0.01,
                                                        .L = 10.0,
                                                        .mu = 0.1,
                                                        .d = 100,
                                                        .B = 1,
                                                        .sigma2 = std::vector<double>(8, 1.0),
                                                        .omega = {9.0},
                                                        .initial_gap = 100.0});
  EXPECT_DOUBLE_EQ(derived.delta, 0.94375);
  EXPECT_NEAR(derived.asymptote, 33.1126, 1e-4);
  DsignsgdBoundInputs s{.eta = 0.01,
                        .L = 10.0,
                        .mu = 0.1,
                        .d = 100,
                        .N = 8,
                        .B = 1,
                        .sigma = 1.0,
                        .nu = 1.5,
                        .initial_gap = 100.0};
  b = dsignsgd_bound(s);
  EXPECT_NEAR(b.delta, 0.68147, 1e-5);
  EXPECT_NEAR(b.asymptote, 4.58568, 1e-5);
  s.nu = kGaussianNu;
  b = dsignsgd_bound(s);
  EXPECT_NEAR(b.delta, 0.797885, 1e-6);
  EXPECT_NEAR(b.asymptote, 3.91661, 1e-5);
}

}  // namespace
}  // namespace dcsde
