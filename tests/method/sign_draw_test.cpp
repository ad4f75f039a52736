// method.sign_draw = "law" (method/method.hpp, noise/sign_law.hpp): the fused step equals the
// phases a transport runs, bit for bit; the signs have the law of the noise path's signs; a zero
// scale gives sign(grad f); the key is validated; and results do not depend on the layout.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../support/method_phases.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/run/process.hpp"
#include "dcsde/run/results.hpp"
#include "dcsde/theory/special.hpp"

namespace dcsde {
namespace {

using testing_support::random_block;

// d = 301 > 256: two chunks of law_signs (method.cpp) and an odd last one (half a Philox word).
constexpr Index kDim = 301, kAgents = 3;

const char* kBase = R"(
[problem]
objective = "quadratic"
dim = 301
eigen_min = 0.5
eigen_max = 4.0
x0 = 1.0
[noise]
kind = "gaussian"
sigma = 0.7
[agents]
count = 3
[compressor]
kind = "sign"
[method]
kind = "dsignsgd"
lr = 0.05
steps = 1
sign_draw = "law"
)";

Assembled build(const std::string& toml, const std::vector<std::string>& sets = {}) {
  return assemble(parse_experiment(toml, "sign_draw.toml", sets).points.front().experiment);
}

bool same_bits(const Batch& a, const Batch& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

// "noise.coordinate_scale=[...]": d multipliers in [0.25, 4], so that x = g / s varies.
std::string coordinate_scale_set(Index d) {
  std::string s = "noise.coordinate_scale=[";
  for (Index j = 0; j < d; ++j)
    s += (j ? ", " : "") + std::to_string(0.25 + 3.75 * static_cast<double>(j % 17) / 16.0);
  return s + "]";
}

// The configurations of the bit-identity test: the shared bracket of equal scales (one sigma),
// one bracket per agent (per-agent sigma), the affine scales (a column's scale depends on its
// ||g||) and a coordinate scale, under both aggregations.
std::vector<std::vector<std::string>> configurations() {
  return {
      {"method.kind=\"dsignsgd\""},
      {"method.kind=\"majority_vote\""},
      {"noise.kind=\"student_t\"", "noise.nu=1.5", "noise.sigma=[0.5, 1.0, 2.0]"},
      {"method.kind=\"majority_vote\"", "noise.kind=\"student_t\"", "noise.nu=0.8",
       "noise.sigma=[0.3, 0.3, 1.2]", "noise.batch=4"},
      {"noise.kind=\"affine_gaussian\"", "noise.sigma0=0.2", "noise.sigma1=[0.05, 0.1, 0.2]",
       coordinate_scale_set(kDim)},
      {"method.kind=\"majority_vote\"", "noise.kind=\"affine_student_t\"", "noise.nu=2.5",
       "noise.sigma0=0.3", "noise.sigma1=0.1", coordinate_scale_set(kDim)},
  };
}

std::string describe(const std::vector<std::string>& sets) {
  std::string s;
  for (const auto& x : sets) s += x + " ";
  return s;
}

TEST(SignDrawLaw, FusedStepEqualsThePhasesBitForBit) {
  constexpr Index kCols = 7;
  for (const auto& sets : configurations()) {
    const Assembled a = build(kBase, sets);
    const Method& method = *a.method;
    const Batch X0 = random_block(kDim, kCols, 8);
    const auto r = testing_support::fused_and_phases(method, X0, 3, 21, 40);
    EXPECT_TRUE(same_bits(r.fused, r.phases)) << describe(sets);
    EXPECT_EQ(r.fused_steps, r.phase_steps) << describe(sets);
    EXPECT_FALSE(same_bits(r.fused, X0)) << describe(sets);
  }
}

// Phase 2a returns the signs themselves (+-1), so the sign compressor's message is the same and
// phases 2a + 2b add what agent_message gives (add_message_test.cpp for the other compressors).
TEST(SignDrawLaw, AgentGradientIsTheSignsAndAddAgentMessageAddsThem) {
  const Assembled a = build(kBase, {"noise.kind=\"student_t\"", "noise.nu=1.5"});
  const Method& method = *a.method;
  const Batch X = random_block(kDim, 5, 9);
  MethodWorkspace ws;
  ws.resize(kDim, 5);
  method.prepare(X, ws);
  ws.direction.setZero();
  Batch expected = Batch::Zero(kDim, 5);
  for (Index i = 0; i < kAgents; ++i) {
    const Batch message = method.agent_message(i, X, 4, 13, 100, ws);
    EXPECT_TRUE((message.array().abs() == 1.0).all());
    expected += message;
    const Batch& g = method.agent_gradient(i, X, 4, 13, 100, ws);
    EXPECT_TRUE(same_bits(g, message));
    method.add_agent_message(i, 4, 13, 100, ws);
  }
  EXPECT_TRUE(same_bits(ws.direction, expected));
}

// At one state in every column, the +1 count of coordinate j over C columns (independent
// replicas) is Binomial(C, F(g_j / s_j)), in both modes. Standard deviation of a fraction:
// sqrt(p (1 - p) / C) <= 0.0079 at C = 4000; 5 of them against F, and 5 sqrt(2) of them between
// the two modes (independent draws: the variances add). Fixed seeds: deterministic.
TEST(SignDrawLaw, SignsHaveTheLawOfTheNoisePath) {
  constexpr Index kCols = 4000, kD = 5;
  const std::string toml = R"(
[problem]
objective = "quadratic"
dim = 5
eigenvalues = [1.0, 2.0, 0.5, 1.0, 3.0]
x0 = [0.3, -0.4, 2.0, 0.0, 0.05]
[noise]
kind = "student_t"
sigma = 1.0
[agents]
count = 4
[compressor]
kind = "sign"
[method]
kind = "dsignsgd"
lr = 0.05
steps = 1
)";
  const std::vector<std::vector<std::string>> cases = {
      {"noise.nu=1.5"},
      {"noise.nu=1.5", "noise.kind=\"affine_student_t\"", "noise.sigma0=0.2", "noise.sigma1=0.3",
       "noise.batch=4", "noise.coordinate_scale=[1.0, 0.5, 2.0, 1.0, 0.1]"},
      {"noise.kind=\"gaussian\"", "noise.sigma=[0.6, 1.0, 1.0, 1.0]"},
  };
  for (const auto& sets : cases) {
    std::vector<std::vector<double>> fraction;  // per mode, per coordinate
    std::vector<double> p(kD);
    for (const char* mode : {"noise", "law"}) {
      auto all = sets;
      all.push_back(std::string("method.sign_draw=\"") + mode + "\"");
      const ExperimentPlan plan = parse_experiment(toml, "law.toml", all);
      const Experiment& e = plan.points.front().experiment;
      const Assembled a = assemble(e);
      const Batch X = e.initial_state().replicate(1, kCols);
      MethodWorkspace ws;
      ws.resize(kD, kCols);
      a.method->prepare(X, ws);
      const std::uint64_t seed = mode[0] == 'n' ? 5 : 6;
      const Batch& m = a.method->agent_message(0, X, 0, seed, 0, ws);
      std::vector<double> f(kD);
      for (Index j = 0; j < kD; ++j)
        f[static_cast<std::size_t>(j)] = (m.row(j).array() > 0.0).cast<double>().mean();
      fraction.push_back(f);
      // F(g_j / s_j) with s_j the noise model's scale of agent 0 (sigma, batch, c_j).
      const Vector g = ws.gradient.col(0);
      Vector s(kD);
      a.noise->scale(g, 0, s);
      const double nu =
          a.noise->family() == NoiseModel::Family::kGaussian ? kGaussianNu : a.noise->nu();
      for (Index j = 0; j < kD; ++j) p[static_cast<std::size_t>(j)] = 0.5 + xi_nu(g[j] / s[j], nu);
    }
    for (std::size_t j = 0; j < kD; ++j) {
      const double sd = std::sqrt(p[j] * (1.0 - p[j]) / kCols);
      EXPECT_NEAR(fraction[0][j], p[j], 5.0 * sd) << describe(sets) << "noise, j " << j;
      EXPECT_NEAR(fraction[1][j], p[j], 5.0 * sd) << describe(sets) << "law, j " << j;
      EXPECT_NEAR(fraction[0][j], fraction[1][j], 5.0 * std::sqrt(2.0) * sd)
          << describe(sets) << "j " << j;
    }
  }
}

// sigma = 0: g + 0 T = g, so the message is sign(grad f), 0 where the gradient is +-0 (x = g / 0
// is +-inf, or NaN at g = 0), bit for bit what the noise path sends.
TEST(SignDrawLaw, ZeroScaleSendsTheSignOfTheGradient) {
  constexpr Index kCols = 6;
  Batch X = random_block(kDim, kCols, 10);
  for (Index j = 0; j < kDim; j += 3) X.row(j).setZero();
  for (Index j = 1; j < kDim; j += 7) X.row(j).setConstant(-0.0);
  for (const char* mode : {"law", "noise"}) {
    const Assembled a =
        build(kBase, {"noise.sigma=0.0", std::string("method.sign_draw=\"") + mode + "\""});
    MethodWorkspace ws;
    ws.resize(kDim, kCols);
    a.method->prepare(X, ws);
    const Batch sign = ws.gradient.array().sign();
    for (Index i = 0; i < kAgents; ++i) {
      const Batch& m = a.method->agent_message(i, X, 2, 3, 0, ws);
      EXPECT_TRUE(same_bits(m, sign)) << mode << " agent " << i;
    }
    EXPECT_GT((sign.array() == 0.0).count(), 0);  // the rows set to +-0 have gradient +-0
  }
}

std::string config_error(const std::vector<std::string>& sets) {
  try {
    build(kBase, sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SignDrawConfig, LawNeedsTheSignCompressorAndANoiseLaw) {
  const std::string rand_k =
      config_error({"method.kind=\"dcsgd\"", "compressor.kind=\"rand_k\"", "compressor.k=3"});
  EXPECT_NE(rand_k.find("method.sign_draw"), std::string::npos) << rand_k;
  EXPECT_NE(rand_k.find("rand_k"), std::string::npos) << rand_k;
  const std::string none = config_error({"noise.kind=\"none\""});
  EXPECT_NE(none.find("method.sign_draw"), std::string::npos) << none;
  const std::string bogus = config_error({"method.sign_draw=\"bogus\""});
  EXPECT_NE(bogus.find("method.sign_draw"), std::string::npos) << bogus;
  EXPECT_NE(bogus.find("bogus"), std::string::npos) << bogus;
  // The noise path needs no law: the same options with sign_draw = "noise" are valid.
  EXPECT_EQ(config_error({"noise.kind=\"none\"", "method.sign_draw=\"noise\""}), "(no error)");
}

// The Method constructor checks the same, for options that bypass the file's validation.
TEST(SignDrawConfig, MethodConstructorRefusesWhatValidationRefuses) {
  Experiment e = parse_experiment(kBase, "sign_draw.toml").points.front().experiment;
  auto refused = [](const Experiment& bad) {
    try {
      assemble(bad);
    } catch (const ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("(no error)");
  };
  Experiment rand_k = e;
  rand_k.method.kind = MethodKind::kDcsgd;
  rand_k.compressor.kind = CompressorKind::kRandK;
  rand_k.compressor.k = 3;
  EXPECT_NE(refused(rand_k).find("method.sign_draw"), std::string::npos) << refused(rand_k);
  Experiment none = e;
  none.noise.kind = NoiseKind::kNone;
  EXPECT_NE(refused(none).find("method.sign_draw"), std::string::npos) << refused(none);
}

// Column c is replica first_replica + c whatever the block: one block of 16 equals two of 8.
TEST(SignDrawLayout, OneBlockEqualsTwoHalves) {
  for (const auto& sets : configurations()) {
    const Assembled a = build(kBase, sets);
    const Method& method = *a.method;
    Batch X = random_block(kDim, 16, 11);
    Batch left = X.leftCols(8), right = X.rightCols(8);
    MethodWorkspace ws16, ws8;
    ws16.resize(kDim, 16);
    ws8.resize(kDim, 8);
    RowVector h16(16), h8(8);
    for (std::int64_t k = 0; k < 2; ++k) {
      method.step(X, k, 31, 1000, ws16, h16);
      method.step(left, k, 31, 1000, ws8, h8);
      method.step(right, k, 31, 1008, ws8, h8);
    }
    EXPECT_TRUE(same_bits(X.leftCols(8), left)) << describe(sets);
    EXPECT_TRUE(same_bits(X.rightCols(8), right)) << describe(sets);
  }
}

// A whole run: the summaries with 1 and 2 threads are bit-identical (runner_test.cpp does this
// for the noise path).
TEST(SignDrawLayout, RunIsBitIdenticalForOneAndTwoThreads) {
  for (const char* kind : {"dsignsgd", "majority_vote"}) {
    std::vector<ProcessSummary> summaries;
    for (const char* threads : {"run.threads=1", "run.threads=2"}) {
      const ExperimentPlan plan =
          parse_experiment(kBase, "sign_draw.toml",
                           {std::string("method.kind=\"") + kind + "\"", "noise.kind=\"student_t\"",
                            "noise.nu=1.5", "noise.sigma=[0.5, 1.0, 2.0]", "method.steps=40",
                            "run.replicas=37", "run.record_every=5", "run.seed=3", threads});
      const Experiment& e = plan.points.front().experiment;
      const Assembled a = assemble(e);
      OptimizerProcess process(*a.method);
      summaries.push_back(run_process(process, e.initial_state(), e.run));
    }
    const auto& x = summaries[0].curves;
    const auto& y = summaries[1].curves;
    ASSERT_EQ(x.loss_mean.size(), y.loss_mean.size()) << kind;
    EXPECT_EQ(
        std::memcmp(x.loss_mean.data(), y.loss_mean.data(), x.loss_mean.size() * sizeof(double)), 0)
        << kind;
    EXPECT_EQ(std::memcmp(x.grad_norm_mean.data(), y.grad_norm_mean.data(),
                          x.grad_norm_mean.size() * sizeof(double)),
              0)
        << kind;
    EXPECT_LT(x.loss_mean.back(), x.loss_mean.front()) << kind;  // it optimizes
  }
}

}  // namespace
}  // namespace dcsde
