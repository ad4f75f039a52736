// Step-size conditions of paper 2 (papers.md 8.4-8.6) and the parabola/quartic thresholds
// (8.2, 8.3, 9), the latter checked by running GD and integrating the ODEs.
#include "dcsde/theory/stability.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace dcsde {
namespace {

const double kInf = std::numeric_limits<double>::infinity();

DcsgdStepInputs dcsgd_inputs() {
  return {.L0 = 2.0,
          .L1 = 0.5,
          .grad_norm = 3.0,
          .averages = {.omega = 4.0,
                       .sigma0_sq = 0.3,
                       .sigma0_sq_omega = 1.1,
                       .sigma1_sq = 0.2,
                       .sigma1_sq_omega = 0.7},
          .d = 50,
          .N = 8.0,
          .eps = 0.4};
}

TEST(DcsgdStepLimit, Theorem42Formula) {
  const StepLimit s = dcsgd_step_limit(dcsgd_inputs());
  ASSERT_TRUE(s.valid) << s.reason;
  const double G = 2.0 + 0.5 * 3.0;
  const double P = 1.0 + (4.0 + 50.0 * (0.7 + 0.2)) / 8.0;
  const double Q = 0.5 * 50.0 * (0.3 + 1.1) / 8.0;
  EXPECT_DOUBLE_EQ(s.max_step, 2.0 * 0.4 / (G * P + Q));
  EXPECT_TRUE(s.allows(0.99 * s.max_step));
  EXPECT_FALSE(s.allows(s.max_step));
  const StepLimit c = dcsgd_step_limit_classic(dcsgd_inputs());
  EXPECT_DOUBLE_EQ(c.max_step, 2.0 * 0.4 / (G * (P - 1.0) + Q));
  EXPECT_GT(c.max_step, s.max_step);
}

TEST(DcsgdStepLimit, NoiseFreeUncompressedRecoversGdAndClassicImposesNothing) {
  DcsgdStepInputs in{.L0 = 4.0, .L1 = 0.0, .grad_norm = 10.0, .d = 5, .N = 3.0, .eps = 0.9};
  EXPECT_DOUBLE_EQ(dcsgd_step_limit(in).max_step, 2.0 * 0.9 / 4.0);  // eta < 2 eps/L0
  const StepLimit c = dcsgd_step_limit_classic(in);
  EXPECT_TRUE(c.valid);
  EXPECT_EQ(c.max_step, kInf);
  EXPECT_TRUE(c.allows(1e300));
}

// papers.md 8.7: the normalization (1/max_step) grows with omega, sigma1, L1, d and 1/N.
TEST(DcsgdStepLimit, ShrinksWithCompressionNoiseL1DimensionAndFewerAgents) {
  const double base = dcsgd_step_limit(dcsgd_inputs()).max_step;
  DcsgdStepInputs in = dcsgd_inputs();
  in.averages.omega *= 2.0;
  EXPECT_LT(dcsgd_step_limit(in).max_step, base);
  in = dcsgd_inputs();
  in.averages.sigma1_sq *= 2.0;
  EXPECT_LT(dcsgd_step_limit(in).max_step, base);
  in = dcsgd_inputs();
  in.L1 *= 2.0;
  EXPECT_LT(dcsgd_step_limit(in).max_step, base);
  in = dcsgd_inputs();
  in.d *= 2;
  EXPECT_LT(dcsgd_step_limit(in).max_step, base);
  in = dcsgd_inputs();
  in.N *= 2.0;
  EXPECT_GT(dcsgd_step_limit(in).max_step, base);
  in = dcsgd_inputs();
  in.grad_norm *= 2.0;
  EXPECT_LT(dcsgd_step_limit(in).max_step, base);
}

TEST(DcsgdStepLimit, InvalidInputs) {
  DcsgdStepInputs in = dcsgd_inputs();
  in.eps = 1.0;
  StepLimit s = dcsgd_step_limit(in);
  EXPECT_FALSE(s.valid);
  EXPECT_EQ(s.reason, "eps = 1. Violated constraint: 0 < eps < 1.");
  EXPECT_FALSE(s.allows(1e-9));
  in = dcsgd_inputs();
  in.averages.sigma1_sq = -0.1;
  EXPECT_EQ(dcsgd_step_limit_classic(in).reason,
            "sigma1_sq = -0.1. Violated constraint: sigma1_sq >= 0.");
  in = dcsgd_inputs();
  in.L1 = std::nan("");
  EXPECT_FALSE(dcsgd_step_limit(in).valid);
}

TEST(AgentAverages, MeansAndBroadcast) {
  const std::vector<double> omega = {1.0, 3.0}, sigma0 = {2.0}, sigma1 = {1.0, 0.5};
  const AgentAverages a = agent_averages(omega, sigma0, sigma1);
  EXPECT_DOUBLE_EQ(a.omega, 2.0);
  EXPECT_DOUBLE_EQ(a.sigma0_sq, 4.0);
  EXPECT_DOUBLE_EQ(a.sigma0_sq_omega, (4.0 + 12.0) / 2.0);
  EXPECT_DOUBLE_EQ(a.sigma1_sq, (1.0 + 0.25) / 2.0);
  EXPECT_DOUBLE_EQ(a.sigma1_sq_omega, (1.0 + 0.75) / 2.0);
  const std::vector<double> h = {1.0, 3.0};
  EXPECT_DOUBLE_EQ(harmonic_mean(h), 1.5);
  const std::vector<double> one = {7.0};
  EXPECT_DOUBLE_EQ(harmonic_mean(one), 7.0);
}

TEST(DsignsgdStepLimit, Theorem43FormulaAndClassicColumn) {
  const DsignsgdStepInputs in{.nu = 1.0, .L0 = 1.0, .L1 = 2.0, .sigma_h1 = 0.5, .d = 16, .N = 4};
  const StepLimit s = dsignsgd_step_limit(in);
  ASSERT_TRUE(s.valid) << s.reason;
  const double classic_k = 2.0 * 16.0 * 0.5 / (2.0 * 4.0);
  const double k = classic_k + 4.0 * 3.0 * m_nu(1.0);
  EXPECT_DOUBLE_EQ(s.max_step, ell_nu(1.0) / k);
  EXPECT_NEAR(s.max_step, (2.0 / 3.141592653589793) / (2.0 + 12.0 / 3.141592653589793), 1e-15);
  EXPECT_DOUBLE_EQ(dsignsgd_step_limit_classic(in).max_step, ell_nu(1.0) / classic_k);
}

TEST(DsignsgdStepLimit, NoiseFreeLimitOnlyConstrainsTheNewSde) {
  const DsignsgdStepInputs in{
      .nu = kGaussianNu, .L0 = 3.0, .L1 = 0.0, .sigma_h1 = 0.0, .d = 9, .N = 2};
  EXPECT_EQ(dsignsgd_step_limit_classic(in).max_step, kInf);
  EXPECT_DOUBLE_EQ(dsignsgd_step_limit(in).max_step,
                   ell_nu(kGaussianNu) / (3.0 * 3.0 * m_nu(kGaussianNu)));
  DsignsgdStepInputs bad = in;
  bad.N = 0.0;
  EXPECT_EQ(dsignsgd_step_limit(bad).reason, "N = 0. Violated constraint: 0 < N < inf.");
}

// GD on lambda x^2/2: converges iff eta < 2/lambda.
TEST(Thresholds, GdParabola) {
  const double lambda = 3.0, limit = gd_parabola_max_step(lambda);
  EXPECT_DOUBLE_EQ(limit, 2.0 / 3.0);
  for (double factor : {0.99, 1.01}) {
    double x = 1.0;
    for (int k = 0; k < 5000; ++k) x -= factor * limit * lambda * x;
    if (factor < 1.0) {
      EXPECT_LT(std::fabs(x), 1e-10);
    } else {
      EXPECT_GT(std::fabs(x), 1e10);
    }
  }
}

// GD on x^4/4: x_{k+1} = x_k (1 - eta x_k^2) converges iff eta x0^2 < 2, diverges iff > 2.
TEST(Thresholds, GdQuartic) {
  const double eta = 0.1, r2 = gd_quartic_escape_radius_sq(eta);
  EXPECT_DOUBLE_EQ(r2, 20.0);
  for (double factor : {0.999, 1.001}) {
    double x = std::sqrt(factor * r2);
    for (int k = 0; k < 20000 && std::isfinite(x) && std::fabs(x) < 1e100; ++k) {
      x *= 1.0 - eta * x * x;
    }
    if (factor < 1.0) {
      EXPECT_LT(std::fabs(x), 0.1);
    } else {
      EXPECT_FALSE(std::isfinite(x) && std::fabs(x) < 1e100);
    }
  }
}

// The flavours' ODEs on lambda x^2/2, integrated with RK4: f(X_t) = f(X_0) e^{-rate t}.
TEST(Thresholds, OdeParabolaRates) {
  const double lambda = 2.0, eta = 0.3;
  for (OdeFlavour flavour : {OdeFlavour::kFirstOrder, OdeFlavour::kModified, OdeFlavour::kStable}) {
    const double sign = flavour == OdeFlavour::kModified ? -1.0
                        : flavour == OdeFlavour::kStable ? 1.0
                                                         : 0.0;
    // dx/dt = -grad f + sign (eta/2) Hess f grad f = -lambda x + sign (eta/2) lambda^2 x
    const auto drift = [&](double x) {
      return -lambda * x + sign * 0.5 * eta * lambda * lambda * x;
    };
    double x = 1.0;
    const double dt = 1e-3, T = 2.0;
    for (int k = 0; k < static_cast<int>(T / dt); ++k) {
      const double k1 = drift(x), k2 = drift(x + 0.5 * dt * k1), k3 = drift(x + 0.5 * dt * k2),
                   k4 = drift(x + dt * k3);
      x += dt * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0;
    }
    EXPECT_NEAR(x * x, std::exp(-ode_parabola_rate(flavour, lambda, eta) * T), 1e-10);
  }
  EXPECT_DOUBLE_EQ(ode_parabola_rate(OdeFlavour::kFirstOrder, lambda, eta), 4.0);
  EXPECT_GT(ode_parabola_rate(OdeFlavour::kModified, lambda, 2.0), 0.0);  // past GD's threshold
  EXPECT_EQ(ode_parabola_max_step(OdeFlavour::kFirstOrder, lambda), kInf);
  EXPECT_EQ(ode_parabola_max_step(OdeFlavour::kModified, lambda), kInf);
  EXPECT_DOUBLE_EQ(ode_parabola_max_step(OdeFlavour::kStable, lambda),
                   gd_parabola_max_step(lambda));
  EXPECT_GT(ode_parabola_rate(OdeFlavour::kStable, lambda, 0.99), 0.0);
  EXPECT_LT(ode_parabola_rate(OdeFlavour::kStable, lambda, 1.01), 0.0);
}

// One GD step on the parabola: (f_{k+1} - f_k)/eta = -rate_stable f_k exactly, the matching
// that defines the stable flavour (papers.md 8.2: the curvature term has a plus sign).
TEST(Thresholds, StableRateIsGdsOneStepLossDecrease) {
  for (double eta : {0.01, 0.2, 0.6}) {
    const double lambda = 1.5, x = 0.8, f = 0.5 * lambda * x * x;
    const double x1 = x - eta * lambda * x, f1 = 0.5 * lambda * x1 * x1;
    EXPECT_NEAR((f1 - f) / eta, -ode_parabola_rate(OdeFlavour::kStable, lambda, eta) * f, 1e-14);
  }
}

TEST(Thresholds, OdeQuartic) {
  const double eta = 0.05;
  EXPECT_EQ(ode_quartic_escape_radius_sq(OdeFlavour::kFirstOrder, eta), kInf);
  EXPECT_EQ(ode_quartic_escape_radius_sq(OdeFlavour::kModified, eta), kInf);
  const double r2 = ode_quartic_escape_radius_sq(OdeFlavour::kStable, eta);
  EXPECT_DOUBLE_EQ(r2, 2.0 / (3.0 * eta));
  EXPECT_LT(r2, gd_quartic_escape_radius_sq(eta));  // the SDE's threshold is conservative
  EXPECT_NEAR(ode_quartic_drift(OdeFlavour::kStable, eta, std::sqrt(r2)), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(ode_quartic_drift(OdeFlavour::kModified, eta, 2.0), -8.0 - 1.5 * eta * 32.0);
  // Explicit Euler with a small step: below the radius the stable ODE decays, above it escapes;
  // the other flavours decay from anywhere.
  const auto run = [eta](OdeFlavour flavour, double x0) {
    double x = x0;
    for (int k = 0; k < 20000 && std::fabs(x) < 1e3; ++k) {
      x += 1e-4 * ode_quartic_drift(flavour, eta, x);
    }
    return x;
  };
  EXPECT_LT(std::fabs(run(OdeFlavour::kStable, std::sqrt(0.95 * r2))), std::sqrt(0.95 * r2));
  EXPECT_GT(std::fabs(run(OdeFlavour::kStable, std::sqrt(1.05 * r2))), std::sqrt(1.05 * r2));
  EXPECT_LT(std::fabs(run(OdeFlavour::kFirstOrder, 10.0)), 10.0);
  EXPECT_LT(std::fabs(run(OdeFlavour::kModified, 10.0)), 10.0);
}

}  // namespace
}  // namespace dcsde
