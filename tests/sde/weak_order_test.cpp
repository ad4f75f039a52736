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

// Least-squares slope of log(error) against log(eta).
double loglog_slope(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < x.size(); ++i) mx += x[i] / n, my += y[i] / n;
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  return sxy / sxx;
}

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
  const double slope = loglog_slope(log_eta, log_error);
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

// DSignSGD on f = x^2/2 (d = 1, N = 1, Gaussian noise s = 1): the SDE
//   dX = -erf(X / sqrt2) dt + sqrt(eta) sqrt(1 - erf(X / sqrt2)^2) dW      (papers.md 0, Thm 2)
// has no closed-form moments; its law is computed by a Fokker-Planck solver on a fine grid
// (central differences, explicit steps, an initial Gaussian of width w = 0.01 whose own
// contribution w^2/2 to E f is removed), an independent numerical solution of the SDE.
double fokker_planck_loss(double eta, double x0, double horizon) {
  const double dx = 0.004, lo = -3.0, hi = 4.0, w = 0.01, diffusion = eta / 2.0;
  const auto n = static_cast<std::size_t>((hi - lo) / dx);
  std::vector<double> x(n), p(n), drift(n), s2(n), next(n);
  double mass = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = lo + dx * static_cast<double>(i);
    p[i] = std::exp(-(x[i] - x0) * (x[i] - x0) / (2 * w * w));
    mass += p[i];
    drift[i] = std::erf(x[i] / std::sqrt(2.0));
    s2[i] = 1.0 - drift[i] * drift[i];
  }
  for (double& v : p) v /= mass;
  const double dt_max = std::min(0.2 * dx * dx / diffusion, 0.2 * dx);
  const auto steps = static_cast<long>(std::ceil(horizon / dt_max));
  const double dt = horizon / static_cast<double>(steps);
  for (long k = 0; k < steps; ++k) {
    next[0] = next[n - 1] = 0.0;
    for (std::size_t i = 1; i + 1 < n; ++i) {
      next[i] = p[i] +
                dt * ((drift[i + 1] * p[i + 1] - drift[i - 1] * p[i - 1]) / (2 * dx) +
                      diffusion * (s2[i + 1] * p[i + 1] - 2 * s2[i] * p[i] + s2[i - 1] * p[i - 1]) /
                          (dx * dx));
    }
    p.swap(next);
  }
  double f = 0.0;
  for (std::size_t i = 0; i < n; ++i) f += p[i] * 0.5 * x[i] * x[i];
  return f - 0.5 * w * w;
}

std::string sign_experiment(double eta, Index replicas, const std::string& sde = "") {
  const auto steps = static_cast<long long>(std::llround(1.0 / eta));
  return "[problem]\nobjective = \"quadratic\"\ndim = 1\neigenvalues = [1.0]\nx0 = 1.5\n"
         "[noise]\nkind = \"gaussian\"\nsigma = 1.0\n[method]\nkind = \"dsignsgd\"\nlr = " +
         std::to_string(eta) + "\nsteps = " + std::to_string(steps) +
         "\n[run]\nreplicas = " + std::to_string(replicas) +
         "\nseed = 5\nrecord_every = " + std::to_string(steps) + "\n" + sde;
}

TEST(WeakOrder, DsignsgdWeakErrorShrinksLikeEta) {
  std::vector<double> log_eta, log_error;
  for (double eta : {0.1, 0.05, 0.025, 0.0125}) {
    const Experiment e =
        parse_experiment(sign_experiment(eta, 400000), "weak.toml").points[0].experiment;
    const Assembled a = assemble(e);
    OptimizerProcess optimizer(*a.method);
    const ProcessSummary s = run_process(optimizer, e.initial_state(), e.run);
    const double error = std::abs(*s.final_loss_mean - fokker_planck_loss(eta, 1.5, 1.0));
    std::printf("  eta = %-7g weak error %.5f (MC sem %.5f)\n", eta, error, *s.final_loss_sem);
    EXPECT_LT(3.0 * *s.final_loss_sem, error) << "eta = " << eta;
    log_eta.push_back(std::log(eta));
    log_error.push_back(std::log(error));
  }
  const double slope = loglog_slope(log_eta, log_error);
  std::printf("  log-log slope %.3f\n", slope);
  EXPECT_GT(slope, 0.7);
  EXPECT_LT(slope, 1.3);
}

// dcsde's simulated DSignSGD SDE (closed-form law, 16 substeps) agrees with the Fokker-Planck law.
TEST(WeakOrder, SimulatedDsignsgdSdeMatchesFokkerPlanck) {
  const double eta = 0.1;
  const Experiment e =
      parse_experiment(sign_experiment(eta, 100000, "[sde]\nsubsteps = 16\n"), "weak.toml")
          .points[0]
          .experiment;
  const Assembled a = assemble(e);
  const ProcessSummary s = run_process(*a.sde, e.initial_state(), e.run);
  const double reference = fokker_planck_loss(eta, 1.5, 1.0);
  // 5 standard errors plus the Euler-Maruyama bias, O(dt) with dt = eta/16.
  EXPECT_NEAR(*s.final_loss_mean, reference,
              5.0 * *s.final_loss_sem + 0.02 * reference * 16.0 * eta / 16.0);
}

}  // namespace
}  // namespace dcsde
