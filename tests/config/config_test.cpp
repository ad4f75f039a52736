// Experiment files: every error class names file:line, the key and what is allowed; sweeps.
#include <gtest/gtest.h>

#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

const std::string kBase = R"([problem]
objective = "quadratic"
dim = 10
[noise]
kind = "gaussian"
sigma = 1.0
[method]
kind = "dcsgd"
lr = 0.05
steps = 100
[compressor]
kind = "rand_k"
k = 3
)";

std::string error_of(const std::string& toml, const std::vector<std::string>& sets = {}) {
  try {
    parse_experiment(toml, "exp.toml", sets);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Config, DefaultsAreValidAndResolved) {
  const ExperimentPlan plan = parse_experiment(kBase, "exp.toml");
  ASSERT_EQ(plan.points.size(), 1u);
  const Experiment& e = plan.points[0].experiment;
  EXPECT_EQ(e.name, "exp");
  EXPECT_EQ(e.agents, 1);
  EXPECT_EQ(e.run.replicas, 100);
  EXPECT_EQ(e.run.steps, 100);
  EXPECT_EQ(e.compressor.k, 3);
  // The resolved config round-trips: parsing to_toml() gives the same resolved config.
  const std::string resolved = to_toml(e);
  EXPECT_EQ(to_toml(parse_experiment(resolved, "exp.toml").points[0].experiment), resolved);
}

TEST(Config, UnknownKeyNamesFileLineAndAllowedKeys) {
  const std::string msg = error_of(kBase + "[run]\nreplica = 3\n");
  EXPECT_NE(msg.find("exp.toml:15:1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'run.replica'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("replicas"), std::string::npos) << msg;
}

TEST(Config, UnknownSectionIsAnError) {
  const std::string msg = error_of(kBase + "[optimizer]\nlr = 3\n");
  EXPECT_NE(msg.find("unknown section 'optimizer'"), std::string::npos) << msg;
}

TEST(Config, WrongTypeNamesTheExpectedType) {
  const std::string msg = error_of(kBase + "[agents]\ncount = \"eight\"\n");
  EXPECT_NE(msg.find("exp.toml:15:9"), std::string::npos) << msg;
  EXPECT_NE(msg.find("agents.count = \"eight\". Expected an integer"), std::string::npos) << msg;
}

TEST(Config, OutOfRangeValuesNameTheViolatedConstraint) {
  struct Case {
    std::string set, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"compressor.k=11", "compressor.k = 11. Violated constraint: 1 <= k <= dim = 10."},
           {"noise.nu=-1", "noise.nu = -1. Violated constraint: nu > 0."},
           {"method.lr=0", "method.lr = 0. Violated constraint: lr > 0."},
           {"run.replicas=0", "run.replicas = 0. Violated constraint: replicas >= 1."},
           {"noise.sigma=[1.0, 2.0]",
            "noise.sigma = [1, 2]. Violated constraint: one value or one per agent"},
           {"method.kind=\"sgd\"",
            "method.kind = \"sgd\". Violated constraint: one of dsgd, dcsgd"},
           {"compressor.kind=\"sign\"",
            "method.kind = 'dcsgd': needs an unbiased compressor; 'sign' is biased"},
       }) {
    const std::string msg = error_of(kBase, {c.set});
    EXPECT_NE(msg.find(c.expected), std::string::npos) << c.set << " -> " << msg;
    // A combination error is located at the method's key; the others at the --set value.
    if (c.set.rfind("compressor.kind", 0) != 0) {
      EXPECT_NE(msg.find("--set"), std::string::npos) << c.set << " -> " << msg;
    }
  }
  // In the file, the location is the value's line and column.
  const std::string msg = error_of(kBase + "[run]\nrecord_every = -2\n");
  EXPECT_NE(
      msg.find("exp.toml:15:16: run.record_every = -2. Violated constraint: record_every >= 1."),
      std::string::npos)
      << msg;
}

TEST(Config, MissingRequiredKeysAreNamed) {
  EXPECT_NE(error_of("[problem]\ndim = 3\n").find("missing required key problem.objective"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          "[problem]\nobjective = \"quartic\"\ndim = 3\n[method]\nkind = \"dsgd\"\nsteps = 3\n")
          .find("missing required key method.lr"),
      std::string::npos);
}

TEST(Config, MalformedTomlGivesLineAndColumn) {
  const std::string msg = error_of("[problem]\ndim = = 3\n");
  EXPECT_EQ(msg.rfind("exp.toml:2:", 0), 0u) << msg;
}

TEST(Config, SweepIsTheCartesianProductInFileOrder) {
  const ExperimentPlan plan = parse_experiment(kBase + R"(
[sweep]
"noise.sigma" = [0.1, 1.0, 10.0]
methods = [
  { label = "DCSGD", "method.kind" = "dcsgd" },
  { label = "DSignSGD", "method.kind" = "dsignsgd", "compressor.kind" = "sign" },
]
)",
                                               "exp.toml");
  ASSERT_EQ(plan.points.size(), 6u);
  EXPECT_EQ(plan.swept_keys, (std::vector<std::string>{"noise.sigma", "methods"}));
  EXPECT_EQ(plan.points[0].label, "noise.sigma=0.1, DCSGD");
  EXPECT_EQ(plan.points[1].label, "noise.sigma=0.1, DSignSGD");
  EXPECT_EQ(plan.points[5].experiment.noise.sigma, std::vector<double>{10.0});
  EXPECT_EQ(plan.points[5].experiment.method.kind, "dsignsgd");
  EXPECT_EQ(plan.points[5].experiment.compressor.kind, "sign");
  EXPECT_EQ(plan.points[4].experiment.compressor.kind, "rand_k");
}

// Each point carries one cell per axis (sweep.csv's columns): the value of a key axis, the label
// of a named axis, even when the label itself contains ", ".
TEST(Config, SweepPointsCarryOneCellPerAxis) {
  const ExperimentPlan plan = parse_experiment(kBase + R"(
[sweep]
"noise.sigma" = [0.1, 2.0]
methods = [{ label = "DSignSGD, averaged signs", "method.kind" = "dsignsgd", "compressor.kind" = "sign" }]
)",
                                               "exp.toml");
  ASSERT_EQ(plan.points.size(), 2u);
  EXPECT_EQ(plan.points[0].cells, (std::vector<std::string>{"0.1", "DSignSGD, averaged signs"}));
  EXPECT_EQ(plan.points[1].cells, (std::vector<std::string>{"2", "DSignSGD, averaged signs"}));
}

TEST(Config, BadSweepValueIsLocatedAtTheSweepLine) {
  const std::string msg = error_of(kBase + "[sweep]\n\"compressor.k\" = [2, 50]\n");
  EXPECT_NE(msg.find("exp.toml:15:22: compressor.k = 50. Violated constraint"), std::string::npos)
      << msg;
  EXPECT_NE(
      error_of(kBase + "[sweep]\n\"compressor.kk\" = [2]\n").find("unknown key 'compressor.kk'"),
      std::string::npos);
}

TEST(Config, SetOverridesAnyKeyAndAcceptsBareWords) {
  const ExperimentPlan plan = parse_experiment(
      kBase, "exp.toml", {"method.kind=dsignsgd", "compressor.kind=sign", "agents.count=8"});
  EXPECT_EQ(plan.points[0].experiment.method.kind, "dsignsgd");
  EXPECT_EQ(plan.points[0].experiment.agents, 8);
  EXPECT_NE(error_of(kBase, {"nonsense"}).find("expected key=value"), std::string::npos);
}

TEST(Config, NetworkKeysApplyToTorchOnly) {
  for (const char* set :
       {"problem.model=\"mlp\"", "problem.width=8", "problem.precision=\"float64\""}) {
    const std::string msg = error_of(kBase, {set});
    EXPECT_NE(msg.find("applies to objective = 'torch' only"), std::string::npos)
        << set << ": " << msg;
  }
}
}  // namespace
}  // namespace dcsde
