// SDE models: linear-SDE oracles, the stability thresholds of papers.md 8.2-8.3, refusals.
#include <gtest/gtest.h>

#include <cmath>

#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

struct Both {
  ProcessSummary optimizer, sde;
};

Both run_both(const std::string& toml, const std::vector<std::string>& sets = {}) {
  const Experiment e = parse_experiment(toml, "sde.toml", sets).points[0].experiment;
  const Assembled a = assemble(e);
  OptimizerProcess optimizer(*a.method);
  return {run_process(optimizer, e.initial_state(), e.run),
          run_process(*a.sde, e.initial_state(), e.run)};
}

// dX = -lambda o X dt + sigma_eff dW for DSGD on f = 1/2 sum lambda_j x_j^2 with Gaussian noise:
// sigma_eff^2 = eta sigma^2 / N per coordinate (papers.md 5.2). Resolved finely (substeps), the
// SDE's mean follows exp(-lambda t) x0 and its variance the Lyapunov solution
// var_j(t) = (eta sigma^2 / N) (1 - exp(-2 lambda_j t)) / (2 lambda_j).
TEST(LinearSde, MeanAndCovarianceMatchTheExactSolution) {
  const std::string toml = R"(
[problem]
objective = "quadratic"
dim = 3
eigenvalues = [0.5, 1.0, 2.0]
x0 = 2.0
[noise]
kind = "gaussian"
sigma = 1.5
[agents]
count = 3
[method]
kind = "dsgd"
lr = 0.05
steps = 60
[run]
replicas = 20000
record_every = 20
seed = 4
[sde]
substeps = 20
)";
  const Both r = run_both(toml);
  const double eta = 0.05, var_rate = eta * 1.5 * 1.5 / 3.0;
  const double lambda[3] = {0.5, 1.0, 2.0};
  for (std::size_t rec = 1; rec < r.sde.curves.step.size(); ++rec) {
    const double t = eta * static_cast<double>(r.sde.curves.step[rec]);
    // E f = 1/2 sum lambda (m^2 + var), E||x||^2 = sum (m^2 + var).
    double f = 0.0, sq = 0.0;
    for (double l : lambda) {
      const double m = 2.0 * std::exp(-l * t);
      const double var = var_rate * (1.0 - std::exp(-2.0 * l * t)) / (2.0 * l);
      f += 0.5 * l * (m * m + var);
      sq += m * m + var;
    }
    const auto n = static_cast<double>(r.sde.curves.alive[rec]);
    // Tolerance: 5 Monte Carlo standard errors plus the O(dt) bias of Euler-Maruyama, bounded
    // by lambda_max dt = 2 * 0.0025 relative.
    EXPECT_NEAR(r.sde.curves.loss_mean[rec], f,
                5.0 * r.sde.curves.loss_std[rec] / std::sqrt(n) + 0.005 * f);
    EXPECT_NEAR(r.sde.curves.sq_norm_mean[rec], sq,
                5.0 * r.sde.curves.sq_norm_std[rec] / std::sqrt(n) + 0.005 * sq);
  }
}

// With dt = eta and Gaussian noise, the Euler-Maruyama chain of DSGD's linear SDE has exactly
// the optimizer's law (the welcome sanity check; it says nothing about weak order).
TEST(LinearSde, EulerMaruyamaWithDtEtaHasTheOptimizersLaw) {
  const std::string toml = R"(
[problem]
objective = "quadratic"
dim = 4
eigenvalues = [0.5, 1.0, 2.0, 4.0]
[noise]
kind = "gaussian"
sigma = 1.0
[agents]
count = 2
[method]
kind = "dsgd"
lr = 0.1
steps = 200
[run]
replicas = 4000
record_every = 10
[sde]
)";
  const Both r = run_both(toml);
  const double se = std::hypot(*r.optimizer.asymptotic_loss_sem, *r.sde.asymptotic_loss_sem);
  EXPECT_NEAR(*r.optimizer.asymptotic_loss_mean, *r.sde.asymptotic_loss_mean, 5.0 * se);
  // Both equal the exact stationary value sum_j eta s^2 / (2 N (2 - eta h_j)) (papers.md 9).
  double exact = 0.0;
  for (double h : {0.5, 1.0, 2.0, 4.0}) exact += 0.1 / (2.0 * 2.0 * (2.0 - 0.1 * h));
  EXPECT_NEAR(*r.sde.asymptotic_loss_mean, exact, 5.0 * *r.sde.asymptotic_loss_sem);
}

std::string parabola(double lambda_eta, const std::string& model,
                     const std::string& objective = "quadratic", double x0 = 1.0) {
  return "[problem]\nobjective = \"" + objective +
         "\"\ndim = 1\neigenvalues = [1.0]\nx0 = " + std::to_string(x0) +
         "\n[method]\nkind = \"dsgd\"\nlr = " + std::to_string(lambda_eta) +
         "\nsteps = 400\n[run]\nreplicas = 1\nrecord_every = 400\n[sde]\nmodel = \"" + model +
         "\"\nsubsteps = 50\n";
}

// Parabola f = x^2/2 (lambda = 1), no noise (papers.md 8.2-8.3): GD converges iff eta < 2; the
// stable flavour's ODE x' = -(1 - eta/2) x converges iff eta < 2 as well; the first-order one
// converges for every eta (the papers' counterexample), and so does the classic modified one.
TEST(StabilityFlavours, ParabolaThresholdIsTwoOverLambdaOnlyForTheStableSde) {
  for (double eta : {1.9, 2.1}) {
    for (const char* model : {"first_order", "modified", "stable"}) {
      const Both r = run_both(parabola(eta, model));
      const bool optimizer_converged =
          r.optimizer.diverged == 0 && *r.optimizer.final_loss_mean < 0.5;
      const bool sde_converged = r.sde.diverged == 0 && *r.sde.final_loss_mean < 0.5;
      EXPECT_EQ(optimizer_converged, eta < 2.0) << eta;
      if (std::string(model) == "stable") {
        EXPECT_EQ(sde_converged, eta < 2.0) << model << " eta = " << eta;
      } else {
        EXPECT_TRUE(sde_converged) << model << " eta = " << eta;
      }
    }
  }
}

// Quartic f = x^4/4: GD x <- x (1 - eta x^2) blows up from eta x0^2 > 2 (|1 - eta x^2| > 1 and
// growing); the stable ODE x' = -x^3 + (3 eta/2) x^5 is repulsive beyond x^2 = 2/(3 eta); the
// first-order ODE converges from everywhere.
TEST(StabilityFlavours, QuarticStableSdeIsRepulsiveBeyondItsThreshold) {
  const double eta = 0.1;
  const double stable_edge = std::sqrt(2.0 / (3.0 * eta));  // 2.582
  const double gd_edge = std::sqrt(2.0 / eta);              // 4.472
  auto outcome = [&](const std::string& model, double x0) {
    const Both r = run_both(parabola(eta, model, "quartic", x0));
    return std::make_pair(r.optimizer.diverged == 0 && *r.optimizer.final_loss_mean < 1.0,
                          r.sde.diverged == 0 && *r.sde.final_loss_mean < 1.0);
  };
  EXPECT_TRUE(outcome("stable", 0.98 * stable_edge).second);
  EXPECT_FALSE(outcome("stable", 1.02 * stable_edge).second);
  EXPECT_TRUE(outcome("first_order", 1.5 * gd_edge).second);
  EXPECT_TRUE(outcome("stable", 0.98 * stable_edge).first);
  EXPECT_TRUE(outcome("stable", 0.98 * gd_edge).first);
  EXPECT_FALSE(outcome("stable", 1.02 * gd_edge).first);
}

TEST(SdeRefusals, DcsgdUnderInfiniteVarianceHasNoSde) {
  const std::string toml = R"(
[problem]
objective = "quadratic"
dim = 5
[noise]
kind = "student_t"
nu = 2.0
[compressor]
kind = "rand_k"
k = 2
[method]
kind = "dcsgd"
lr = 0.01
steps = 10
[sde]
)";
  try {
    parse_experiment(toml, "sde.toml");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("sde.toml:7:6: noise.nu = 2: the SDE of dcsgd does not exist"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("infinite"), std::string::npos);
  }
  // DSignSGD's SDE exists for every nu > 0, Cauchy included.
  EXPECT_NO_THROW(parse_experiment(toml, "sde.toml",
                                   {"noise.nu=1", "method.kind=dsignsgd", "compressor.kind=sign"}));
}

}  // namespace
}  // namespace dcsde
