// Exact discrete-time oracles for DSGD and DCSGD on a diagonal quadratic (papers.md 9).
//
// f = 1/2 sum_j h_j x_j^2, agent i sees g_i = h o x + s z_i (s = sigma/sqrt(B), z ~ N(0, I)), and
// sends C(g_i) with an unbiased compressor whose covariance diagonal is K_jj(v) = omega v_j^2
// (identity: omega = 0; Bernoulli(p): 1/p - 1; rand-k: d/k - 1). Since D = (1/N) sum_i C(g_i)
// is conditionally unbiased and Var(D_j | x) = (omega h_j^2 x_j^2 + (1 + omega) s^2) / N, the
// second moment m_j(k) = E x_j(k)^2 obeys the closed linear recursion
//   m_j(k+1) = A_j m_j(k) + c,   A_j = (1 - eta h_j)^2 + eta^2 omega h_j^2 / N,
//   c = eta^2 (1 + omega) s^2 / N,
// so m_j(k) = A_j^k x0_j^2 + c (1 - A_j^k) / (1 - A_j), and E f(x_k) = 1/2 sum_j h_j m_j(k).
// The second moment is stable iff A_j < 1 for all j, i.e. eta < 2 N / (h_max (N + omega)).
#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <functional>
#include <vector>

#include "dcsde/config/experiment.hpp"

namespace dcsde {
namespace {

struct Case {
  std::string compressor;  // TOML of [compressor]
  double omega;
};

double exact_loss(const Vector& h, double x0, double eta, double s, double omega, Index n,
                  std::int64_t k) {
  double f = 0.0;
  for (Index j = 0; j < h.size(); ++j) {
    const double a = std::pow(1.0 - eta * h[j], 2) + eta * eta * omega * h[j] * h[j] / n;
    const double c = eta * eta * (1.0 + omega) * s * s / n;
    const double ak = std::pow(a, static_cast<double>(k));
    f += 0.5 * h[j] * (ak * x0 * x0 + c * (1.0 - ak) / (1.0 - a));
  }
  return f;
}

ProcessSummary simulate(const std::string& toml, Experiment* out = nullptr) {
  const ExperimentPlan plan = parse_experiment(toml, "oracle.toml");
  const Experiment& e = plan.points.front().experiment;
  if (out) *out = e;
  const Assembled a = assemble(e);
  OptimizerProcess process(*a.method);
  return run_process(process, e.initial_state(), e.run);
}

std::string experiment(const std::string& method, const std::string& compressor, double lr,
                       std::int64_t steps, Index replicas) {
  return "[problem]\nobjective = \"quadratic\"\ndim = 8\neigenvalues = [0.5, 0.7, 1.0, 1.3, 1.6, "
         "2.0, 2.5, 3.0]\nx0 = 1.0\n"
         "[noise]\nkind = \"gaussian\"\nsigma = 0.8\nbatch = 4\n"
         "[agents]\ncount = 4\n" +
         compressor + "\n[method]\nkind = \"" + method + "\"\nlr = " + std::to_string(lr) +
         "\nsteps = " + std::to_string(steps) + "\n[run]\nreplicas = " + std::to_string(replicas) +
         "\nseed = 7\nrecord_every = 5\n";
}

class StationaryTest : public ::testing::TestWithParam<Case> {};

TEST_P(StationaryTest, TransientAndStationaryMeanLossMatchTheExactRecursion) {
  const Case& c = GetParam();
  const std::string method = c.omega == 0.0 ? "dsgd" : "dcsgd";
  const double eta = 0.1;
  const std::int64_t steps = 400;
  Experiment e;
  const ProcessSummary s = simulate(experiment(method, c.compressor, eta, steps, 4000), &e);
  ASSERT_EQ(s.diverged, 0);
  const Vector h = Eigen::Map<const Vector>(e.objective.eigenvalues.data(), 8);
  const double sd = 0.8 / std::sqrt(4.0);

  // Every recorded step of the transient, each within 5 standard errors of the exact value.
  for (std::size_t r = 0; r < s.curves.step.size(); r += 8) {
    const double exact = exact_loss(h, 1.0, eta, sd, c.omega, 4, s.curves.step[r]);
    const double sem = s.curves.loss_std[r] / std::sqrt(static_cast<double>(s.curves.alive[r]));
    if (r == 0) {
      EXPECT_DOUBLE_EQ(s.curves.loss_mean[r], exact);
      continue;
    }
    EXPECT_NEAR(s.curves.loss_mean[r], exact, 5.0 * sem) << "step " << s.curves.step[r];
  }
  // The asymptotic loss (tail average per replica) against the stationary value.
  const double stationary = exact_loss(h, 1.0, eta, sd, c.omega, 4, 1'000'000);
  EXPECT_NEAR(*s.asymptotic_loss_mean, stationary, 5.0 * *s.asymptotic_loss_sem);
  // The oracle really distinguishes the compressors: omega changes the level by more than 5 SE.
  if (c.omega > 0.0) {
    const double uncompressed = exact_loss(h, 1.0, eta, sd, 0.0, 4, 1'000'000);
    EXPECT_GT(stationary - uncompressed, 10.0 * *s.asymptotic_loss_sem);
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  constexpr const char* kNames[] = {
      "dsgd", "bernoulli", "rand_k", "bernoulli_per_agent", "rand_k_per_agent", "mixed_kinds"};
  return kNames[info.index];
}

INSTANTIATE_TEST_SUITE_P(
    Compressors, StationaryTest,
    ::testing::Values(
        Case{"[compressor]\nkind = \"identity\"", 0.0},
        Case{"[compressor]\nkind = \"bernoulli\"\np = 0.25", 3.0},
        Case{"[compressor]\nkind = \"rand_k\"\nk = 2", 3.0},
        // Per-agent compressors (the poster's omega_i): Var(D_j | x) = (1/N^2) sum_i (omega_i
        // h_j^2 x_j^2 + (1 + omega_i) s^2), the recursion above with omega = omega_bar.
        Case{"[compressor]\nkind = \"bernoulli\"\np = [0.25, 0.5, 1.0, 0.2]",
             (3 + 1 + 0 + 4) / 4.0},
        Case{"[compressor]\nkind = \"rand_k\"\nk = [2, 4, 8, 1]", (3 + 1 + 0 + 7) / 4.0},
        Case{"[compressor]\nkind = [\"rand_k\", \"bernoulli\", \"identity\", \"rand_k\"]\n"
             "k = 2\np = 0.5",
             (3 + 1 + 0 + 3) / 4.0}),
    case_name);

// eta* = 2N / (h_max (N + omega)). Without batch noise (s = 0) the recursion is m_j(k) = A_j^k x0^2
// exactly, with A_max < 1 iff eta < eta*. Just below eta* the simulated mean loss follows the
// exact decay, just above it the exact growth, record by record, while uncompressed DSGD at the
// same eta still converges (its threshold is 2/h_max): the threshold is compression's.
//
// The tolerance needs care: x_k is a product of k random multipliers, whose law grows heavy tails
// with k. The sample standard deviation then underestimates the true one in most samples (the
// events that carry the variance are rarer than 1/R), so "5 sample SEMs" fails far more often
// than its nominal rate (at 8 steps, 3% of seeds, checked with NumPy's generator). So the test
// computes the standard error exactly: without batch noise x_j(k) = x0 prod_{s<k} f_j(s) with
// f_j = 1 - eta h_j (scale / N) M_j, M_j the number of agents that keep coordinate j, i.i.d. over
// steps, so E[L_k^p] = sum over (j_1..j_p) of prod c_j (E prod f_j^2)^k (c_j = h_j x0^2 / 2) is a
// finite sum over the exact law of (M_1..M_d). The moments of order 2 give the exact SEM; those
// of order 3 and 4 the excess kurtosis of L_k, and the horizon is kept where the sample mean of R
// replicas is close to normal (excess kurtosis / R <= 1: 4 steps; at 8 it is 1e4), so that
// 5 exact SEMs is a 1e-6-level test.
struct MultiplierLaw {
  std::vector<double> probability;  // atoms of (f_1^2, ..., f_d^2) over one step
  std::vector<Vector> f2;
};

// kept(S) = P(an agent keeps exactly the coordinates of bit set S).
MultiplierLaw multiplier_law(const Vector& h, double eta, double scale, int agents,
                             const std::function<double(unsigned)>& kept) {
  const auto d = static_cast<int>(h.size());
  const int base = agents + 1;
  int states = 1;
  for (int j = 0; j < d; ++j) states *= base;
  std::vector<double> p(static_cast<std::size_t>(states), 0.0), next(p.size());
  p[0] = 1.0;  // M = 0 before any agent
  for (int a = 0; a < agents; ++a) {
    std::fill(next.begin(), next.end(), 0.0);
    for (int m = 0; m < states; ++m) {
      if (p[static_cast<std::size_t>(m)] == 0.0) continue;
      for (unsigned set = 0; set < (1u << d); ++set) {
        int shifted = m, place = 1;
        for (int j = 0; j < d; ++j, place *= base) shifted += ((set >> j) & 1u) ? place : 0;
        next[static_cast<std::size_t>(shifted)] += p[static_cast<std::size_t>(m)] * kept(set);
      }
    }
    std::swap(p, next);
  }
  MultiplierLaw law;
  for (int m = 0; m < states; ++m) {
    if (p[static_cast<std::size_t>(m)] == 0.0) continue;
    Vector f2(d);
    for (int j = 0, rest = m; j < d; ++j, rest /= base) {
      f2[j] = std::pow(1.0 - eta * h[j] * scale * (rest % base) / agents, 2);
    }
    law.probability.push_back(p[static_cast<std::size_t>(m)]);
    law.f2.push_back(f2);
  }
  return law;
}

// E[L_k^p], p = 1..4, for x0 = 1.
std::array<double, 4> loss_moments(const MultiplierLaw& law, const Vector& h, std::int64_t k) {
  const auto d = static_cast<int>(h.size());
  std::array<double, 4> m{};
  for (int p = 1; p <= 4; ++p) {
    int tuples = 1;
    for (int i = 0; i < p; ++i) tuples *= d;
    for (int t = 0; t < tuples; ++t) {
      double c = 1.0, e = 0.0;
      std::vector<int> idx;
      for (int i = 0, rest = t; i < p; ++i, rest /= d) idx.push_back(rest % d);
      for (int j : idx) c *= 0.5 * h[j];
      for (std::size_t a = 0; a < law.probability.size(); ++a) {
        double prod = law.probability[a];
        for (int j : idx) prod *= law.f2[a][j];
        e += prod;
      }
      m[static_cast<std::size_t>(p - 1)] += c * std::pow(e, static_cast<double>(k));
    }
  }
  return m;
}

TEST(StabilityThreshold, SecondMomentGrowsExactlyBeyondTheThreshold) {
  const double omega = 3.0;
  const int n = 8;
  const Index replicas = 100000;
  const Vector h = (Vector(4) << 0.5, 1.0, 1.5, 2.0).finished();
  const double threshold = 2.0 * n / (h.maxCoeff() * (n + omega));
  auto toml = [&](const std::string& method, const std::string& compressor, double eta) {
    return "[problem]\nobjective = \"quadratic\"\ndim = 4\neigenvalues = [0.5, 1.0, 1.5, 2.0]\n"
           "[agents]\ncount = 8\n" +
           compressor + "\n[method]\nkind = \"" + method + "\"\nlr = " + std::to_string(eta) +
           "\nsteps = 4\n[run]\nreplicas = " + std::to_string(replicas) +
           "\nseed = 3\nrecord_every = 1\n";
  };
  struct Kind {
    std::string toml;
    double scale;  // d/k or 1/p
    std::function<double(unsigned)> kept;
  };
  const Kind kinds[] = {{"[compressor]\nkind = \"bernoulli\"\np = 0.25", 4.0,
                         [](unsigned s) {
                           return std::pow(0.25, std::popcount(s)) *
                                  std::pow(0.75, 4 - std::popcount(s));
                         }},
                        {"[compressor]\nkind = \"rand_k\"\nk = 1", 4.0,
                         [](unsigned s) { return std::popcount(s) == 1 ? 0.25 : 0.0; }}};
  for (const Kind& kind : kinds) {
    for (double factor : {0.9, 1.1}) {
      const double eta = std::round(factor * threshold * 1e6) / 1e6;
      const double a_max = std::pow(1.0 - eta * 2.0, 2) + eta * eta * omega * 4.0 / n;
      EXPECT_EQ(a_max < 1.0, factor < 1.0);
      const ProcessSummary s = simulate(toml("dcsgd", kind.toml, eta));
      ASSERT_EQ(s.curves.step.back(), 4);
      const MultiplierLaw law = multiplier_law(h, eta, kind.scale, n, kind.kept);
      std::vector<double> sem(s.curves.step.size(), 0.0);
      for (std::size_t r = 1; r < s.curves.step.size(); ++r) {
        const auto m = loss_moments(law, h, s.curves.step[r]);
        const double exact = exact_loss(h, 1.0, eta, 0.0, omega, n, s.curves.step[r]);
        // The closed form of papers.md 9 and the exact law agree (two derivations of one mean).
        EXPECT_NEAR(m[0], exact, 1e-12 * exact);
        const double var = m[1] - m[0] * m[0];
        const double mu4 = m[3] - 4 * m[2] * m[0] + 6 * m[1] * m[0] * m[0] - 3 * std::pow(m[0], 4);
        ASSERT_LE((mu4 / (var * var) - 3.0) / replicas, 1.0) << "horizon too long for the CLT";
        sem[r] = std::sqrt(var / replicas);
        EXPECT_NEAR(s.curves.loss_mean[r], exact, 5.0 * sem[r])
            << kind.toml << ", eta/eta* = " << factor << ", step " << s.curves.step[r];
      }
      const double first = s.curves.loss_mean.front(), last = s.curves.loss_mean.back();
      if (factor < 1.0) {
        EXPECT_LT(last + 5.0 * sem.back(), first) << "below the threshold the second moment decays";
      } else {
        EXPECT_GT(last - 5.0 * sem.back(), first) << "above it, it grows";
        // The simulation follows the exact curve (above), and the exact curve grows without bound.
        EXPECT_GT(exact_loss(h, 1.0, eta, 0.0, omega, 8, 200), 1e3 * first);
      }
    }
  }
  const ProcessSummary dsgd =
      simulate(toml("dsgd", "[compressor]\nkind = \"identity\"", 1.1 * threshold));
  EXPECT_LT(dsgd.curves.loss_mean.back(), 0.5 * dsgd.curves.loss_mean.front());
}

}  // namespace
}  // namespace dcsde
