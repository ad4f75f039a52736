// Closed-form laws of the normalized methods (sde/law.hpp) against the methods' own samples.
//
// The update is U = h D, D = (1/N) sum_i C(g + Z_i), E D = g, Cov D = Sigma_D. The closed forms:
//   norm_of = "gradient" (normalized_dcsgd):  h = h(||g||) is fixed given x, so mean h g and
//     covariance h^2 Sigma_D are exact: only the Monte Carlo error of the samples remains.
//   nsgd, normalized_dcsgd on ||D||: the delta method, mean h(r) g and covariance J Sigma_D J^T,
//     J = h(r) I + h'(r) g g^T / r, r = ||g||. Its error is second order in the noise: for
//     F(D) = h(||D||) D, the neglected term of the mean is [DERIVED]
//       b2 = h'(r) Sigma_D n + (n/2) (r h''(r) n^T Sigma_D n + h'(r) tr(P Sigma_D)),
//     n = g/r, P = I - n n^T, so ||b2|| <= B = (1.5 |h'| + 0.5 r |h''|) tr Sigma_D; the
//     covariance's next terms are O(h^2 r^2 eps2^2) with eps2 = tr Sigma_D / r^2.
// Tolerances: z = 5 standard errors of each sample moment, measured from the samples themselves
// (heavy tails included), plus B for the delta-method means and 10 h^2 r^2 eps2^2 for its
// covariances; eps2 <= 2e-3 here, so the Monte Carlo part dominates.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "dcsde/config/experiment.hpp"

namespace dcsde {
namespace {

constexpr double kZ = 5.0;
constexpr std::uint64_t kSeed = 17;

struct Moments {
  Vector mean, mean_se;
  Batch cov, cov_se;
};

// Sample moments of U = x - x_next over n independent steps of the method at x, step k, with
// the standard error of each entry estimated from the same samples.
Moments sample_update(const Method& method, const Vector& x, std::int64_t k, Index n) {
  const Index d = x.size();
  Batch X = x.replicate(1, n);
  MethodWorkspace ws;
  ws.resize(d, n);
  RowVector h(n);
  method.step(X, k, kSeed, 0, ws, h);
  const Batch U = x.replicate(1, n) - X;
  const double inv_n = 1.0 / static_cast<double>(n);
  Moments m;
  m.mean = U.rowwise().mean();
  const Batch centered = U.colwise() - m.mean;
  m.mean_se = (centered.cwiseAbs2().rowwise().sum() * inv_n).cwiseSqrt() * std::sqrt(inv_n);
  m.cov.resize(d, d);
  m.cov_se.resize(d, d);
  for (Index a = 0; a < d; ++a) {
    for (Index b = 0; b < d; ++b) {
      const RowVector p = centered.row(a).cwiseProduct(centered.row(b));
      const double mp = p.mean();
      m.cov(a, b) = mp;
      m.cov_se(a, b) = std::sqrt((p.array() - mp).square().mean() * inv_n);
    }
  }
  return m;
}

struct Law {
  Vector mean;
  Batch cov;
  double step;
  std::string name;
};

// mu(x) and R R^T from the law, with xi = the identity (one column per noise dimension).
Law closed_law(const UpdateLaw& law, const Vector& x, std::int64_t k) {
  const Index m = law.noise_dim(), d = x.size();
  const Batch X = x.replicate(1, m);
  const Batch xi = Batch::Identity(m, m);
  Batch mean(d, m), noise(d, m);
  RowVector h(m);
  auto ws = law.make_workspace(m);
  law.evaluate(X, k, kSeed, 0, xi, mean, noise, h, *ws);
  return {mean.col(0), noise * noise.transpose(), h(0), law.name()};
}

// max over entries of |sample - law| / (z se + slack): at most 1 when they agree.
double worst(const Vector& sample, const Vector& se, const Vector& law, double slack) {
  return ((sample - law).cwiseAbs().array() / (kZ * se.array() + slack)).maxCoeff();
}
double worst(const Batch& sample, const Batch& se, const Batch& law, double slack) {
  return ((sample - law).cwiseAbs().array() / (kZ * se.array() + slack)).maxCoeff();
}

const char* kBase = R"(
[problem]
objective = "quadratic"
dim = 4
eigenvalues = [0.5, 1.0, 2.0, 3.0]
x0 = [1.0, -0.8, 0.6, 0.9]
[noise]
kind = "gaussian"
sigma = 0.02
[agents]
count = 4
[method]
kind = "normalized_dcsgd"
schedule = "inv_sqrt"
steps = 10
L0 = 1.0
L1 = 2.0
eps = 0.5
[sde]
)";

constexpr const char* kNsgd = "method.kind=\"nsgd\"";
constexpr const char* kLr = "method.lr=0.1";

struct Case {
  std::vector<std::string> sets;
  Index samples;
};

struct Built {
  Experiment e;
  Assembled a;
};
Built build(const std::vector<std::string>& sets) {
  Built b{parse_experiment(kBase, "law.toml", sets).points[0].experiment, {}};
  b.a = assemble(b.e);
  return b;
}

// Var Z_ij, omega and tr Sigma_D from the experiment's parameters (independently of law.cpp).
double trace_sigma_d(const Built& b, const Vector& g) {
  const double s = b.e.noise.sigma[0] / std::sqrt(static_cast<double>(b.e.noise.batch));
  double var = s * s;
  if (b.e.noise.kind == NoiseKind::kStudentT) var *= b.e.noise.nu / (b.e.noise.nu - 2.0);
  const double d = static_cast<double>(g.size()), n = static_cast<double>(b.e.agents);
  const double omega = b.a.compressor->omega(g.size()).value_or(0.0);
  return ((1.0 + omega) * d * var + omega * g.squaredNorm()) / n;
}

std::string e_kind(const char* method) {
  const std::string m = method;
  return m.substr(0, m.find('\n'));
}

// (a) Delta method, small noise: closed form vs the samples, and the tolerance has power: the
// naive covariance h(r)^2 Sigma_D (J without its g g^T term) is rejected by the same test.
TEST(NormalizedLaw, DeltaMethodMatchesSamplesInTheSmallNoiseRegime) {
  const std::int64_t k = 3;  // eta_k = 1/2
  const std::vector<Case> cases = {
      {{kNsgd, kLr}, 200000},
      {{kNsgd, kLr, "noise.kind=\"student_t\"", "noise.nu=5.0"}, 200000},
      {{kNsgd, kLr, "compressor.kind=\"bernoulli\"", "compressor.p=0.98", "agents.count=16"},
       100000},
      {{}, 200000},
      {{"compressor.kind=\"rand_k\"", "compressor.k=3", "agents.count=128"}, 50000},
  };
  for (const Case& c : cases) {
    const Built b = build(c.sets);
    const Method& method = *b.a.method;
    const Vector x = b.a.x0;
    Vector g(x.size());
    b.a.objective->gradient(x, g);
    const double r = g.norm(), eta_k = 1.0 / std::sqrt(static_cast<double>(k) + 1.0);
    // h(r), h'(r), h''(r) of the step rule.
    double h, dh, ddh;
    if (b.e.method.kind == MethodKind::kNsgd) {
      h = b.e.method.lr * eta_k / r;
      dh = -h / r;
      ddh = 2.0 * h / (r * r);
    } else {
      const double p = method.normalization_p(), l1 = *b.e.method.L1;
      const double den = (*b.e.method.L0 + l1 * r) * p + method.normalization_q();
      h = 2.0 * b.e.method.eps * eta_k / den;
      dh = -h * l1 * p / den;
      ddh = 2.0 * h * (l1 * p / den) * (l1 * p / den);
    }
    const double trace = trace_sigma_d(b, g), eps2 = trace / (r * r);
    const double bias_bound = (1.5 * std::abs(dh) + 0.5 * r * std::abs(ddh)) * trace;
    const double cov_slack = 10.0 * h * h * r * r * eps2 * eps2;

    const Law law = closed_law(*make_update_law(method, {.kind = LawKind::kAuto}), x, k);
    const Moments mc = sample_update(method, x, k, c.samples);
    const std::string label = ::testing::PrintToString(c.sets);
    EXPECT_EQ(law.name, "closed_form(delta)") << label;
    EXPECT_NEAR(law.step, h, 1e-14 * h) << label;
    const double mean_ratio = worst(mc.mean, mc.mean_se, law.mean, bias_bound);
    const double cov_ratio = worst(mc.cov, mc.cov_se, law.cov, cov_slack);
    // The power check: Sigma_D is DCSGD's law with h = 1 (eta = 1, constant schedule).
    std::vector<std::string> dcsgd = c.sets;
    for (const char* set :
         {"method.kind=\"dcsgd\"", "method.lr=1.0", "method.schedule=\"constant\""})
      dcsgd.push_back(set);
    const Built plain = build(dcsgd);
    const Batch naive = h * h * closed_law(*make_update_law(*plain.a.method, {}), x, k).cov;
    const double naive_ratio = worst(mc.cov, mc.cov_se, naive, cov_slack);
    std::printf("  %-70s eps2 %.1e  mean %.2f  cov %.2f  naive cov %.1f (of tolerance)\n",
                label.c_str(), eps2, mean_ratio, cov_ratio, naive_ratio);
    EXPECT_LE(mean_ratio, 1.0) << label << " seed " << kSeed;
    EXPECT_LE(cov_ratio, 1.0) << label << " seed " << kSeed;
    EXPECT_GT(naive_ratio, 3.0) << label << ": the test cannot tell J from h I";
  }
}

// (b) norm_of = "gradient": h is fixed given x and the law is exact, so the samples agree within
// 5 standard errors at any noise level; a 10% error in the covariance would be detected.
// An exact law: mean and covariance within kZ standard errors of the samples, and the test able
// to reject a covariance 10% off.
void expect_exact_law(const Law& law, const Moments& mc, const std::string& label) {
  const double mean_ratio = worst(mc.mean, mc.mean_se, law.mean, 0.0);
  const double cov_ratio = worst(mc.cov, mc.cov_se, law.cov, 0.0);
  const double power = worst(mc.cov, mc.cov_se, 0.9 * law.cov, 0.0);
  std::printf("  %-70s mean %.2f  cov %.2f  cov x 0.9: %.1f (of tolerance)\n", label.c_str(),
              mean_ratio, cov_ratio, power);
  EXPECT_LE(mean_ratio, 1.0) << label << " seed " << kSeed;
  EXPECT_LE(cov_ratio, 1.0) << label << " seed " << kSeed;
  EXPECT_GT(power, 1.0) << label;
}

TEST(NormalizedLaw, GradientNormLawIsExact) {
  const std::int64_t k = 3;
  const std::vector<std::vector<std::string>> cases = {
      {"noise.sigma=0.5", "agents.count=3"},
      {"noise.kind=\"student_t\"", "noise.nu=5.0", "noise.sigma=0.5", "agents.count=3",
       "compressor.kind=\"bernoulli\"", "compressor.p=0.5"},
      {"noise.kind=\"affine_gaussian\"", "noise.sigma0=0.3", "noise.sigma1=0.2", "agents.count=3",
       "compressor.kind=\"rand_k\"", "compressor.k=2"},
  };
  for (std::vector<std::string> sets : cases) {
    sets.push_back("method.norm_of=\"gradient\"");
    const Built b = build(sets);
    const Vector x = b.a.x0;
    Vector g(x.size());
    b.a.objective->gradient(x, g);
    const double eta_k = 1.0 / std::sqrt(static_cast<double>(k) + 1.0);
    const double h = 2.0 * b.e.method.eps * eta_k /
                     ((*b.e.method.L0 + *b.e.method.L1 * g.norm()) * b.a.method->normalization_p() +
                      b.a.method->normalization_q());
    const Law law = closed_law(*make_update_law(*b.a.method, {.kind = LawKind::kAuto}), x, k);
    const Moments mc = sample_update(*b.a.method, x, k, 100000);
    const std::string label = ::testing::PrintToString(sets);
    EXPECT_EQ(law.name, "closed_form") << label;
    EXPECT_NEAR(law.step, h, 1e-14 * h) << label;
    EXPECT_LT((law.mean - h * g).norm(), 1e-14 * h * g.norm()) << label;
    expect_exact_law(law, mc, label);
  }
}

// Per-agent compressors (Thm 1 with omega_i, papers.md 5.1): with agent i's own omega_i and
// noise scale sigma_i, Cov D = (1/N) mean_i((1 + omega_i) Var Z_i) + (omega_bar / N) M(g). The
// closed form against the method's samples, with per-agent p (Bernoulli) and k (rand-k), per-agent
// sigma, and a mixed list (identity counts as any law); the test has the power to reject a
// covariance 10% off.
TEST(NormalizedLaw, PerAgentCompressorsLawIsExact) {
  const std::int64_t k = 3;
  const std::vector<std::vector<std::string>> cases = {
      {"compressor.kind=\"bernoulli\"", "compressor.p=[0.25, 0.5, 1.0, 0.2]",
       "noise.sigma=[0.2, 0.5, 0.8, 1.1]"},
      {"compressor.kind=\"rand_k\"", "compressor.k=[1, 2, 4, 3]",
       "noise.sigma=[1.1, 0.2, 0.5, 0.8]"},
      {"compressor.kind=[\"rand_k\", \"identity\", \"rand_k\", \"identity\"]", "compressor.k=1",
       "noise.sigma=[0.2, 1.0, 0.4, 0.7]"},
  };
  for (std::vector<std::string> sets : cases) {
    sets.push_back("method.norm_of=\"gradient\"");
    const Built b = build(sets);
    ASSERT_FALSE(b.a.method->uniform_compressors());
    const Vector x = b.a.x0;
    const Law law = closed_law(*make_update_law(*b.a.method, {.kind = LawKind::kAuto}), x, k);
    const Moments mc = sample_update(*b.a.method, x, k, 100000);
    const std::string label = ::testing::PrintToString(sets);
    EXPECT_EQ(law.name, "closed_form") << label;
    expect_exact_law(law, mc, label);
  }
}

// (c) The SDE of nsgd (closed-form delta law, Euler-Maruyama with 8 substeps) tracks the
// optimizer on f = 1/2 x^T H x, H = diag(1, 1.5, 2), step length c = eta = 0.05, Gaussian noise
// sigma = 0.2, from ||grad f|| = 6.6 down to about 1.9 (eps2 = tr Sigma_D / r^2 <= 0.03).
// The weak error in E f has two parts:
//   det_k: the deterministic one (the noiseless optimizer against the noiseless SDE, run here),
//     O(eta): the step moves along the chord, the flow along the curved path;
//   bias_k: the neglected second-order mean b2 (header comment). Its effect on f is g . b2 =
//     -c tr(P Sigma_D) / (2 r): each step falls short by that much loss, a lag along the path
//     that shrinks afterwards because r decreases along it, so bias_k <= sum_{j<k} c tr(P
//     Sigma_D) / (2 r_j) along the noiseless path (tr(P Sigma_D) = (d-1) sigma^2 / N here).
// So |E f(x_k) - E f(X_k)| <= det_k + 1.2 bias_k + 5 SE (1.2 covers the O(eps2) higher
// orders). The spread is checked the same way: the delta law has no noise along g, and the
// optimizer's extra loss variance is the sum of Var(g . b2-term) = c^2 tr((P Sigma_D)^2) /
// (2 r_j^2); a law without the projection (J = h I) would give the SDE a loss std about
// sqrt(k) c sigma (0.08 at the end, against 0.006), and fails.
TEST(NormalizedLaw, NsgdSdeTracksTheOptimizer) {
  const char* toml = R"(
[problem]
objective = "quadratic"
dim = 3
eigenvalues = [1.0, 1.5, 2.0]
x0 = [3.0, -2.0, 2.5]
[noise]
kind = "gaussian"
sigma = 0.2
[method]
kind = "nsgd"
lr = 0.05
steps = 60
[run]
replicas = 20000
seed = 9
record_every = 10
[sde]
substeps = 8
)";
  const double c = 0.05, sigma = 0.2, d = 3.0;
  // The noiseless pair, recorded at every step: det_k and the path's gradient norms r_j.
  const Experiment quiet =
      parse_experiment(toml, "nsgd.toml",
                       {"noise.kind=\"none\"", "run.replicas=1", "run.record_every=1"})
          .points[0]
          .experiment;
  const Assembled qa = assemble(quiet);
  OptimizerProcess quiet_optimizer(*qa.method);
  const ProcessSummary qo = run_process(quiet_optimizer, qa.x0, quiet.run);
  const ProcessSummary qs = run_process(*qa.sde, qa.x0, quiet.run);

  const Experiment e = parse_experiment(toml, "nsgd.toml").points[0].experiment;
  const Assembled a = assemble(e);
  ASSERT_EQ(a.sde->law().name(), "closed_form(delta)");
  OptimizerProcess optimizer(*a.method);
  const ProcessSummary o = run_process(optimizer, a.x0, e.run);
  const ProcessSummary s = run_process(*a.sde, a.x0, e.run);
  ASSERT_EQ(o.diverged + s.diverged, 0);

  const double trace_perp = (d - 1.0) * sigma * sigma;  // tr(P Sigma_D), N = 1
  double bias = 0.0, extra_var = 0.0;
  std::int64_t j = 0;
  for (std::size_t r = 0; r < o.curves.step.size(); ++r) {
    const std::int64_t k = o.curves.step[r];
    for (; j < k; ++j) {
      const double rj = qo.curves.grad_norm_mean[static_cast<std::size_t>(j)];
      bias += c * trace_perp / (2.0 * rj);
      extra_var += c * c * (d - 1.0) * std::pow(sigma, 4) / (2.0 * rj * rj);
    }
    const std::size_t q = static_cast<std::size_t>(k);
    const double det = std::abs(qo.curves.loss_mean[q] - qs.curves.loss_mean[q]);
    const double n = static_cast<double>(o.curves.alive[r]);
    const double se = std::hypot(o.curves.loss_std[r], s.curves.loss_std[r]) / std::sqrt(n);
    const double error = std::abs(o.curves.loss_mean[r] - s.curves.loss_mean[r]);
    const double bound = det + 1.2 * bias + 5.0 * se;
    const double std_gap = std::abs(o.curves.loss_std[r] - s.curves.loss_std[r]);
    const double std_bound =
        std::sqrt(1.2 * extra_var) +
        5.0 * (o.curves.loss_std[r] + s.curves.loss_std[r]) / std::sqrt(2.0 * n);
    std::printf(
        "  step %2lld  E f: optimizer %.4f sde %.4f  weak error %.2e <= %.2e (det %.1e, bias "
        "%.1e)  std %.4f / %.4f gap %.1e <= %.1e\n",
        static_cast<long long>(k), o.curves.loss_mean[r], s.curves.loss_mean[r], error, bound, det,
        bias, o.curves.loss_std[r], s.curves.loss_std[r], std_gap, std_bound);
    EXPECT_LE(error, bound) << "step " << k << " seed " << e.run.seed;
    EXPECT_LE(std_gap, std_bound) << "step " << k << " seed " << e.run.seed;
    // The bound itself is small: the SDE tracks the optimizer within 5% of the loss.
    EXPECT_LE(bound, 0.05 * o.curves.loss_mean[r]) << "step " << k;
  }
}

// Where the delta method does not apply (documented in sde/law.hpp). At g = 0, nsgd's U =
// c D/||D|| is uniform on the sphere of radius c for isotropic Gaussian D: mean 0, covariance
// c^2 I/d exactly, which the fallback c^2 Sigma_D / tr Sigma_D reproduces. Near g = 0 the delta
// covariance (c/r)^2 P Sigma_D would exceed the exact bound tr Cov U <= E||U||^2 = c^2; the
// safeguard caps it there.
TEST(NormalizedLaw, NsgdFallbacksAtAndNearTheOptimum) {
  const Built b = build({kNsgd, kLr, "noise.sigma=0.3"});
  const auto law = make_update_law(*b.a.method, {});
  const double c = 0.1 * 0.5;  // eta eta_k at k = 3
  const Vector zero = Vector::Zero(4);
  const Law at = closed_law(*law, zero, 3);
  const Moments mc = sample_update(*b.a.method, zero, 3, 100000);
  EXPECT_EQ(at.mean.norm(), 0.0);
  EXPECT_LT((at.cov - c * c / 4.0 * Batch::Identity(4, 4)).norm(), 1e-15);
  EXPECT_LE(worst(mc.mean, mc.mean_se, at.mean, 0.0), 1.0);
  EXPECT_LE(worst(mc.cov, mc.cov_se, at.cov, 0.0), 1.0);
  const Vector near = Vector::Constant(4, 1e-3);  // r = 3.6e-3 against sigma = 0.3
  const Law capped = closed_law(*law, near, 3);
  EXPECT_NEAR(capped.mean.norm(), c, 1e-15);
  EXPECT_LE(capped.cov.trace(), c * c * (1.0 + 1e-12));
}

// The flavours' Jacobian for the normalized laws: J v = (1/h) d/de mu(x + e v), mu = h(||g||) g,
// against central differences of the law's own mean (relative error O(e^2) ~ 1e-8).
TEST(NormalizedLaw, MeanDirectionJacobianMatchesFiniteDifferences) {
  for (const std::vector<std::string>& sets :
       std::vector<std::vector<std::string>>{{kNsgd, kLr}, {}, {"method.norm_of=\"gradient\""}}) {
    const Built b = build(sets);
    const auto law = make_update_law(*b.a.method, {});
    ASSERT_TRUE(law->has_jacobian());
    const Vector x = b.a.x0;
    Vector v(4);
    v << 0.3, 0.7, -0.4, 0.5;
    const double e = 1e-5;
    const Law at = closed_law(*law, x, 3);
    const Vector fd = (closed_law(*law, x + e * v, 3).mean - closed_law(*law, x - e * v, 3).mean) /
                      (2.0 * e * at.step);
    auto ws = law->make_workspace(1);
    Batch jv(4, 1);
    law->mean_direction_jacobian(x, v, jv, *ws);
    EXPECT_LT((jv.col(0) - fd).norm(), 1e-7 * fd.norm()) << ::testing::PrintToString(sets);
  }
}

// The `modified` flavour with this Jacobian is the second-order modified equation of the
// normalized step x' = x - h(||g||) g (papers.md 5.2): without noise, on the quadratic of (c),
// its error against the optimizer after 60 steps is O(h^2) where first_order's is O(h), so at
// most a tenth of it (h lambda_max <= 0.4 here; measured: 1/66 for nsgd, 1/40 for Eq. 15).
// Heun with 32 substeps makes the integration error negligible.
TEST(NormalizedLaw, ModifiedFlavourIsSecondOrderWithoutNoise) {
  for (const char* method : {"kind = \"nsgd\"\nlr = 0.05",
                             "kind = \"normalized_dcsgd\"\nL0 = 1.0\nL1 = 2.0\neps = 0.1"}) {
    double error[2];
    for (int modified = 0; modified < 2; ++modified) {
      const std::string toml =
          std::string(
              "[problem]\nobjective = \"quadratic\"\ndim = 3\neigenvalues = [1.0, 1.5, 2.0]\n"
              "x0 = [3.0, -2.0, 2.5]\n[method]\n") +
          method + "\nsteps = 60\n[run]\nreplicas = 1\nrecord_every = 60\n[sde]\nmodel = \"" +
          (modified ? "modified" : "first_order") + "\"\nintegrator = \"heun\"\nsubsteps = 32\n";
      const Experiment e = parse_experiment(toml, "flavour.toml").points[0].experiment;
      const Assembled a = assemble(e);
      OptimizerProcess optimizer(*a.method);
      const ProcessSummary o = run_process(optimizer, a.x0, e.run);
      const ProcessSummary s = run_process(*a.sde, a.x0, e.run);
      error[modified] = std::abs(*o.final_loss_mean - *s.final_loss_mean);
    }
    std::printf("  %s: |E f| error first_order %.2e, modified %.2e\n", e_kind(method).c_str(),
                error[0], error[1]);
    EXPECT_GT(error[0], 1e-4) << method;  // the first-order error is there to be reduced
    EXPECT_LT(error[1], 0.1 * error[0]) << method;
  }
}

}  // namespace
}  // namespace dcsde
