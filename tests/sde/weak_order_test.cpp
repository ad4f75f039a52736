// Weak order 1 of the DCSGD SDE (papers.md 5.1): the weak error at a fixed horizon T shrinks
// at least like eta^0.7 as eta is halved three times.
//
// DCSGD with Bernoulli(p) compression on f = lambda x^2/2 (d = 1), Gaussian noise s: the SDE
//   dX = -lambda X dt + sqrt(eta/N) sqrt((1 + omega) s^2 + omega lambda^2 X^2) dW
// has an exact second moment, m' = -a m + b with a = 2 lambda - eta omega lambda^2 / N and
// b = eta (1 + omega) s^2 / N, so E f(X_T) is known in closed form: the reference is the SDE's
// exact solution, and only the optimizer is simulated. Its replicas make the Monte Carlo error
// several times smaller than the weak error at the smallest eta. A second check simulates the
// SDE itself, finely resolved, against the same closed form.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "dcsde/config/experiment.hpp"

namespace dcsde {
namespace {

constexpr double kLambda = 1.0, kSigma = 0.5, kX0 = 2.0, kHorizon = 1.0, kOmega = 1.0;
constexpr int kAgents = 2;

double sde_loss(double eta, double t) {
  const double a = 2.0 * kLambda - eta * kOmega * kLambda * kLambda / kAgents;
  const double b = eta * (1.0 + kOmega) * kSigma * kSigma / kAgents;
  const double m = b / a + (kX0 * kX0 - b / a) * std::exp(-a * t);
  return 0.5 * kLambda * m;
}

std::string experiment(double eta, Index replicas, const std::string& sde = "") {
  const auto steps = static_cast<long long>(std::llround(kHorizon / eta));
  return "[problem]\nobjective = \"quadratic\"\ndim = 1\neigenvalues = [1.0]\nx0 = 2.0\n"
         "[noise]\nkind = \"gaussian\"\nsigma = 0.5\n[agents]\ncount = 2\n"
         "[compressor]\nkind = \"bernoulli\"\np = 0.5\n[method]\nkind = \"dcsgd\"\nlr = " +
         std::to_string(eta) + "\nsteps = " + std::to_string(steps) +
         "\n[run]\nreplicas = " + std::to_string(replicas) +
         "\nseed = 21\nrecord_every = " + std::to_string(steps) + "\n" + sde;
}

TEST(WeakOrder, DcsgdWeakErrorShrinksLikeEta) {
  std::vector<double> log_eta, log_error;
  for (double eta : {0.1, 0.05, 0.025, 0.0125}) {
    const Experiment e =
        parse_experiment(experiment(eta, 100000), "weak.toml").points[0].experiment;
    const Assembled a = assemble(e);
    OptimizerProcess optimizer(*a.method);
    const ProcessSummary s = run_process(optimizer, e.initial_state(), e.run);
    const double error = std::abs(*s.final_loss_mean - sde_loss(eta, kHorizon));
    // The Monte Carlo error must be well below the weak error for the slope to mean anything.
    EXPECT_LT(3.0 * *s.final_loss_sem, error) << "eta = " << eta;
    std::printf("  eta = %-7g weak error %.5f (MC sem %.5f)\n", eta, error, *s.final_loss_sem);
    log_eta.push_back(std::log(eta));
    log_error.push_back(std::log(error));
  }
  // Least-squares slope of log error against log eta.
  const double n = static_cast<double>(log_eta.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < log_eta.size(); ++i) mx += log_eta[i] / n, my += log_error[i] / n;
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < log_eta.size(); ++i) {
    sxy += (log_eta[i] - mx) * (log_error[i] - my);
    sxx += (log_eta[i] - mx) * (log_eta[i] - mx);
  }
  const double slope = sxy / sxx;
  std::printf("  log-log slope %.3f\n", slope);
  EXPECT_GT(slope, 0.7);
  EXPECT_LT(slope, 1.3);  // order 1, not better: the model is first order
}

// The simulated SDE (closed-form law, Euler-Maruyama, 16 substeps) matches its exact E f(X_T).
TEST(WeakOrder, FinelyResolvedSdeMatchesItsExactSecondMoment) {
  const double eta = 0.05;
  const Experiment e =
      parse_experiment(experiment(eta, 50000, "[sde]\nsubsteps = 16\n"), "weak.toml")
          .points[0]
          .experiment;
  const Assembled a = assemble(e);
  const ProcessSummary s = run_process(*a.sde, e.initial_state(), e.run);
  const double exact = sde_loss(eta, kHorizon);
  // 5 standard errors plus the O(dt) bias of Euler-Maruyama: |1 - 2 lambda dt| per substep
  // against exp(-2 lambda dt) gives a relative bias of about 2 lambda^2 T dt.
  const double dt = eta / 16.0;
  EXPECT_NEAR(*s.final_loss_mean, exact, 5.0 * *s.final_loss_sem + 2.0 * kHorizon * dt * exact);
}

}  // namespace
}  // namespace dcsde
