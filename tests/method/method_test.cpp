// One step of each method against its formula (papers.md 2), exactly where the step is
// deterministic given the draws, and schedules.
#include <gtest/gtest.h>

#include <cmath>

#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

struct OneStep {
  Batch x0, x1;
  RowVector h;
  Assembled parts;
};

// x0 = (1, -2, 3, -4, ...) in each of `cols` replicas; one step k of the experiment's method.
OneStep one_step(const std::string& toml, std::int64_t k = 0, Index cols = 3,
                 const std::vector<std::string>& sets = {}) {
  const Experiment e = parse_experiment(toml, "m.toml", sets).points[0].experiment;
  OneStep s{Batch(e.objective.dim, cols), Batch(), RowVector(cols), assemble(e)};
  for (Index j = 0; j < e.objective.dim; ++j)
    s.x0.row(j).setConstant((j % 2 ? -1.0 : 1.0) * (j + 1));
  s.x1 = s.x0;
  MethodWorkspace ws;
  ws.resize(e.objective.dim, cols);
  s.parts.method->step(s.x1, k, 5, 0, ws, s.h);
  return s;
}

const std::string kQuadratic =
    "[problem]\nobjective = \"quadratic\"\ndim = 4\neigenvalues = [1.0, 2.0, 3.0, 4.0]\n";

TEST(Method, DsgdWithoutNoiseIsGradientDescent) {
  const OneStep s = one_step(kQuadratic + "[method]\nkind = \"dsgd\"\nlr = 0.1\nsteps = 1\n");
  for (Index j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(s.x1(j, 0), s.x0(j, 0) * (1.0 - 0.1 * (j + 1.0)));
  EXPECT_DOUBLE_EQ(s.h[0], 0.1);
}

// DSignSGD averages the agents' signs: with 3 agents the direction is in {+-1, +-1/3}; the
// majority vote sends the sign of the sum: +-1 exactly.
TEST(Method, DsignsgdAveragesSignsAndMajorityVoteTakesTheirSign) {
  const std::string toml = kQuadratic +
                           "[noise]\nkind = \"gaussian\"\nsigma = 5.0\n[agents]\ncount = 3\n"
                           "[method]\nkind = \"dsignsgd\"\nlr = 0.5\nsteps = 1\n";
  for (const char* kind : {"dsignsgd", "majority_vote"}) {
    const OneStep s = one_step(toml, 0, 64, {std::string("method.kind=") + kind});
    bool saw_third = false;
    for (Index c = 0; c < 64; ++c) {
      for (Index j = 0; j < 4; ++j) {
        const double direction = (s.x0(j, c) - s.x1(j, c)) / 0.5;
        const double a = std::abs(direction);
        if (std::string(kind) == "majority_vote") {
          EXPECT_DOUBLE_EQ(a, 1.0);
        } else {
          EXPECT_TRUE(std::abs(a - 1.0) < 1e-15 || std::abs(a - 1.0 / 3.0) < 1e-15) << a;
          saw_third = saw_third || std::abs(a - 1.0 / 3.0) < 1e-15;
        }
      }
    }
    if (std::string(kind) == "dsignsgd") {
      EXPECT_TRUE(saw_third);
    }
  }
}

// Normalized DCSGD without noise or compression: h = 2 eps / ((L0 + L1 ||grad f||) P + Q) with
// P = 1, Q = 0 (papers.md 2.5), L0 = L1 = 3 for the quartic.
TEST(Method, NormalizedDcsgdStepIsEquation15) {
  const OneStep s = one_step(
      "[problem]\nobjective = \"quartic\"\ndim = 4\n"
      "[method]\nkind = \"normalized_dcsgd\"\neps = 0.4\nsteps = 1\nnorm_of = \"gradient\"\n");
  Vector g(4);
  for (Index j = 0; j < 4; ++j) g[j] = std::pow(s.x0(j, 0), 3);
  const double expected = 2.0 * 0.4 / (3.0 + 3.0 * g.norm());
  EXPECT_DOUBLE_EQ(s.parts.method->normalization_p(), 1.0);
  EXPECT_DOUBLE_EQ(s.parts.method->normalization_q(), 0.0);
  EXPECT_NEAR(s.h[0], expected, 1e-15 * expected);
  for (Index j = 0; j < 4; ++j) EXPECT_NEAR(s.x1(j, 0), s.x0(j, 0) - expected * g[j], 1e-12);
}

// With affine noise and compression the prefactors grow as Eq. 15 says: P = 1 + (omega + d s1^2
// (1 + omega))/N, Q = L1 d s0^2 (1 + omega)/N, with s^2 per unit batch divided by B.
TEST(Method, NormalizedDcsgdPrefactorsFollowCompressionNoiseAndAgents) {
  const OneStep s = one_step(
      "[problem]\nobjective = \"quartic\"\ndim = 10\n"
      "[noise]\nkind = \"affine_gaussian\"\nsigma0 = 0.4\nsigma1 = 0.2\nbatch = 2\n[agents]\ncount "
      "= "
      "8\n[compressor]\nkind = \"rand_k\"\nk = 2\n"
      "[method]\nkind = \"normalized_dcsgd\"\neps = 0.5\nsteps = 1\n");
  const double omega = 10.0 / 2.0 - 1.0, d = 10, n = 8;
  const double s0 = 0.16 / 2.0, s1 = 0.04 / 2.0;
  EXPECT_DOUBLE_EQ(s.parts.method->normalization_p(), 1.0 + (omega + d * s1 * (1 + omega)) / n);
  EXPECT_DOUBLE_EQ(s.parts.method->normalization_q(), 3.0 * d * s0 * (1 + omega) / n);
}

TEST(Method, NsgdStepsHaveLengthLr) {
  const OneStep s = one_step(kQuadratic +
                             "[noise]\nkind = \"gaussian\"\n[agents]\ncount = 2\n"
                             "[method]\nkind = \"nsgd\"\nlr = 0.3\nsteps = 1\n");
  for (Index c = 0; c < 3; ++c) EXPECT_NEAR((s.x1.col(c) - s.x0.col(c)).norm(), 0.3, 1e-14);
}

TEST(Method, IncompatibleCompressorsAreConfigErrors) {
  EXPECT_THROW(one_step(kQuadratic + "[compressor]\nkind = \"rand_k\"\nk = 2\n[method]\nkind = "
                                     "\"dsgd\"\nlr = 0.1\nsteps = 1\n"),
               ConfigError);
  EXPECT_THROW(one_step(kQuadratic + "[compressor]\nkind = \"top_k\"\nk = 2\n[method]\nkind = "
                                     "\"dcsgd\"\nlr = 0.1\nsteps = 1\n"),
               ConfigError);
  // top_k is accepted when the user says so.
  EXPECT_NO_THROW(one_step(kQuadratic + "[compressor]\nkind = \"top_k\"\nk = 2\n[method]\nkind = "
                                        "\"dcsgd\"\nlr = 0.1\nsteps = 1\nallow_biased = true\n"));
}

TEST(Schedule, Multipliers) {
  EXPECT_DOUBLE_EQ(Schedule({.kind = ScheduleKind::kConstant}).multiplier(1000), 1.0);
  EXPECT_DOUBLE_EQ(Schedule({.kind = ScheduleKind::kInvSqrt}).multiplier(3), 0.5);
  const Schedule piecewise(
      {.kind = ScheduleKind::kPiecewise, .points = {{0, 1.0}, {10, 0.5}, {20, 0.1}}});
  EXPECT_DOUBLE_EQ(piecewise.multiplier(0), 1.0);
  EXPECT_DOUBLE_EQ(piecewise.multiplier(9), 1.0);
  EXPECT_DOUBLE_EQ(piecewise.multiplier(10), 0.5);
  EXPECT_DOUBLE_EQ(piecewise.multiplier(25), 0.1);
}

}  // namespace
}  // namespace dcsde
