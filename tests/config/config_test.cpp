// Experiment files: every error class names file:line, the key and what is allowed; sweeps.
#include <gtest/gtest.h>
#include <omp.h>

#include "../../src/config/limits.hpp"
#include "../../src/config/sweep.hpp"
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

// A key's constraint is the kind's (compress/compressor.hpp specs), located at the key.
TEST(Config, CompressorLevelsFollowTheKindsSpec) {
  const std::string msg =
      error_of(kBase, {"compressor.kind=\"natural_dithering\"", "compressor.levels=2000"});
  EXPECT_NE(msg.find("--set compressor.levels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("compressor.levels = 2000. Violated constraint: 1 <= levels <= 1024 for "
                     "natural_dithering."),
            std::string::npos)
      << msg;
  EXPECT_EQ(error_of(kBase, {"compressor.kind=\"qsgd\"", "compressor.levels=2000"}), "(no error)");
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
           {"problem.objective=\"cubic\"",
            "problem.objective = \"cubic\". Violated constraint: one of quadratic, "
            "quadratic_rotated, quartic, cosh, log_cosh, logistic, torch."},
           {"compressor.kind=\"rand\"",
            "compressor.kind = \"rand\". Violated constraint: one of identity, rand_k"},
           {"sde.integrator=\"rk4\"",
            "sde.integrator = \"rk4\". Violated constraint: one of euler_maruyama, heun."},
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
  EXPECT_EQ(plan.points[5].experiment.method.kind, MethodKind::kDsignsgd);
  EXPECT_EQ(plan.points[5].experiment.compressor.kind, CompressorKind::kSign);
  EXPECT_EQ(plan.points[4].experiment.compressor.kind, CompressorKind::kRandK);
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
  EXPECT_EQ(plan.points[0].experiment.method.kind, MethodKind::kDsignsgd);
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

// Issue 15: limits beyond each key's range, checked at validation with located messages.

bool has(const std::string& msg, const std::string& part) {
  return msg.find(part) != std::string::npos;
}

TEST(ConfigLimits, ThreadsAreBoundedByWhatTheMachineCanStart) {
  const int limit = detail::max_threads();
  EXPECT_EQ(limit, std::max(64, 8 * omp_get_num_procs()));
  const std::string msg = error_of(kBase, {"run.threads=100000"});
  EXPECT_TRUE(has(msg,
                  "--set run.threads=100000: run.threads = 100000. Violated constraint: "
                  "threads <= " +
                      std::to_string(limit)))
      << msg;
  EXPECT_TRUE(has(msg, std::to_string(omp_get_num_procs()) + " cores")) << msg;
  // At the limit it validates.
  EXPECT_EQ(error_of(kBase, {"run.threads=" + std::to_string(limit)}), "(no error)");
  EXPECT_TRUE(has(error_of(kBase, {"run.threads=" + std::to_string(limit + 1)}),
                  "Violated constraint: threads <= "));
}

TEST(ConfigLimits, AgentsAreBoundedByTheRandomStreams) {
  for (const char* count : {"16777216", "16777217", "4294967296"}) {
    const std::string msg = error_of(kBase + "[agents]\ncount = " + count + "\n");
    EXPECT_TRUE(has(msg, std::string("exp.toml:15:9: agents.count = ") + count +
                             ". Violated constraint: count < 2^24 = 16777216"))
        << msg;
    EXPECT_TRUE(has(msg, "reuse the draws of agent k")) << msg;
  }
  // 2^24 - 1 agents validate (the noise model's three per-agent arrays take 400 MB, built once).
  const std::optional<double> available = detail::available_memory();
  if (available && *available > 2e9) {
    const ExperimentPlan plan =
        parse_experiment(kBase + "[agents]\ncount = 16777215\n", "exp.toml");
    EXPECT_EQ(plan.points[0].experiment.agents, 16777215);
  }
}

TEST(ConfigLimits, IntegersAreNeverTruncated) {
  std::string msg = error_of(kBase, {"compressor.kind=\"qsgd\"", "compressor.levels=4294967297"});
  EXPECT_TRUE(has(msg,
                  "--set compressor.levels=4294967297: compressor.levels = 4294967297. "
                  "Expected an integer in [-2147483648, 2147483647]."))
      << msg;
  msg = error_of(kBase + "[run]\nthreads = 4294967296\n");
  EXPECT_TRUE(has(msg,
                  "exp.toml:15:11: run.threads = 4294967296. Expected an integer in "
                  "[-2147483648, 2147483647]."))
      << msg;
  msg = error_of(kBase + "[run]\nseed = -1\n");
  EXPECT_TRUE(has(msg,
                  "exp.toml:15:8: run.seed = -1. Expected an integer in [0, "
                  "9223372036854775807]."))
      << msg;
  msg = error_of(kBase, {"problem.seed=-3"});
  EXPECT_TRUE(has(msg, "problem.seed = -3. Expected an integer in [0, ")) << msg;
  // The neighbours within range are read exactly.
  const ExperimentPlan plan = parse_experiment(
      kBase, "exp.toml",
      {"compressor.kind=\"qsgd\"", "compressor.levels=30", "run.seed=9223372036854775807"});
  EXPECT_EQ(plan.points[0].experiment.compressor.levels, 30);
  EXPECT_EQ(plan.points[0].experiment.run.seed, 9223372036854775807ull);
}

TEST(ConfigLimits, TwoSweepAxesMayNotSetTheSameKey) {
  const std::string msg = error_of(kBase + R"([sweep]
"method.kind" = ["dsgd", "zzz"]
group = [{ label = "a", "method.kind" = "dcsgd" }]
)");
  EXPECT_TRUE(has(msg,
                  "exp.toml:16:41: sweep.group sets method.kind, which sweep.\"method.kind\" "
                  "(exp.toml:15:18) sets too. Violated constraint: each key is swept by one "
                  "axis only"))
      << msg;
  // Two named axes as well; the key of a value that sets another key passes.
  EXPECT_TRUE(has(error_of(kBase + R"([sweep]
a = [{ "noise.sigma" = 1.0 }, { "noise.nu" = 3.0 }]
b = [{ "noise.kind" = "gaussian" }, { "noise.sigma" = 2.0 }]
)"),
                  "exp.toml:16:55: sweep.b sets noise.sigma, which sweep.a (exp.toml:15:24)"));
  EXPECT_EQ(parse_experiment(kBase + R"([sweep]
"noise.sigma" = [1.0, 2.0]
group = [{ label = "a", "method.lr" = 0.1 }, { label = "b", "method.lr" = 0.2 }]
)",
                             "exp.toml")
                .points.size(),
            4u);
}

TEST(ConfigLimits, ASetOfASweptKeyIsAnError) {
  const std::string sweep = kBase + R"([sweep]
"noise.sigma" = [1.0, 2.0]
)";
  EXPECT_EQ(error_of(sweep, {"noise.sigma=5"}),
            "--set noise.sigma=5: noise.sigma is swept by sweep.\"noise.sigma\", which sets it at "
            "every point; change the sweep instead");
  EXPECT_EQ(parse_experiment(sweep, "exp.toml", {"noise.batch=5"}).points.size(), 2u);
}

TEST(ConfigLimits, SweepSizeIsCheckedBeforeExpanding) {
  auto values = [](int n) {
    std::string out = "[";
    for (int i = 1; i <= n; ++i) out += (i > 1 ? ", " : "") + std::to_string(i) + ".0";
    return out + "]";
  };
  const std::string msg = error_of(kBase + "[sweep]\n\"noise.sigma\" = " + values(400) +
                                   "\n\"method.lr\" = " + values(300) + "\n");
  EXPECT_TRUE(has(msg,
                  "exp.toml:14:1: [sweep] has 120000 points (sweep.\"noise.sigma\" 400 x "
                  "sweep.\"method.lr\" 300). Violated constraint: at most 100000 points"))
      << msg;
  EXPECT_EQ(detail::kMaxSweepPoints, 100000u);
  // 40 axes of 3 values: 3^40 points, not an overflow into a small count.
  std::string many = kBase + "[sweep]\n";
  for (int a = 0; a < 40; ++a)
    many += "axis" + std::to_string(a) + " = [{ \"method.lr\" = 0.1 }, {}, {}]\n";
  EXPECT_TRUE(has(error_of(many), "sets method.lr")) << error_of(many);
  many = kBase + "[sweep]\n";
  for (int a = 0; a < 40; ++a) many += "axis" + std::to_string(a) + " = [{}, {}, {}]\n";
  EXPECT_TRUE(has(error_of(many), "[sweep] has 1.22e+19 points")) << error_of(many);
}

TEST(ConfigLimits, LongValuesAreCutInMessagesOnly) {
  std::string ones = "[1.0";
  for (int i = 1; i < 1000; ++i) ones += ", 1.0";
  ones += "]";
  std::string msg = error_of(kBase + "[agents]\ncount = 2\n", {"noise.sigma=" + ones});
  EXPECT_TRUE(has(msg,
                  ": noise.sigma = [1, 1, 1, 1, 1, 1, 1, 1, ... (1000 values)]. Violated "
                  "constraint: one value or one per agent"))
      << msg;
  EXPECT_LT(msg.size(), 400u) << msg;
  EXPECT_TRUE(has(msg, "--set noise.sigma=[1.0, 1.0")) << msg;
  EXPECT_TRUE(has(msg, "... (" + std::to_string(12 + ones.size()) + " characters)")) << msg;
  msg = error_of(kBase, {"method.kind=\"" + std::string(1000, 'x') + "\""});
  EXPECT_TRUE(has(msg, "method.kind = \"" + std::string(120, 'x') + "...\" (1000 characters)"))
      << msg;
  EXPECT_LT(msg.size(), 600u) << msg;
  // In a sweep the cells, labels and values stay exact: they are data (sweep.csv, folders).
  std::string scales = "[1.0";
  for (int i = 1; i < 20; ++i) scales += ", 2.0";
  scales += "]";
  const ExperimentPlan plan =
      parse_experiment(kBase + "[sweep]\n\"noise.coordinate_scale\" = [" + scales + "]\n",
                       "exp.toml", {"problem.dim=20"});
  const std::string exact = "[1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]";
  EXPECT_EQ(plan.points[0].cells, std::vector<std::string>{exact});
  EXPECT_EQ(plan.points[0].label, "noise.coordinate_scale=" + exact);
}

TEST(ConfigLimits, ExperimentNameIsAPlainName) {
  for (const std::string name :
       {"\"../up\"", "\"a/b\"", "\"a\\\\b\"", "\"\"", "\".\"", "\"..\"", "\"a\\u0001b\""}) {
    const std::string msg = error_of("[experiment]\nname = " + name + "\n" + kBase);
    EXPECT_TRUE(has(msg, "exp.toml:2:8: experiment.name = ")) << name << ": " << msg;
    EXPECT_TRUE(has(msg, "Violated constraint: a plain name for the folder results/<name>"))
        << name << ": " << msg;
  }
  EXPECT_TRUE(has(error_of("[experiment]\nname = \"a\\u0001b\"\n" + kBase), "\"a\\u0001b\""));
  EXPECT_TRUE(has(error_of("[experiment]\nname = \"" + std::string(201, 'n') + "\"\n" + kBase),
                  "at most 200 bytes"));
  EXPECT_EQ(parse_experiment("[experiment]\nname = \"my-exp.v2 (d=10)\"\n" + kBase, "exp.toml")
                .points[0]
                .experiment.name,
            "my-exp.v2 (d=10)");
}

// The estimate, deterministic: parts from the sizes, and the check against a given memory.
TEST(ConfigLimits, MemoryEstimateCountsStatesRecordsAndWorkspaces) {
  Experiment e = parse_experiment(kBase, "exp.toml",
                                  {"problem.dim=1000", "run.replicas=4096", "run.threads=4",
                                   "run.checkpoint_every=10", "agents.count=3"})
                     .points[0]
                     .experiment;
  auto bytes_of = [](const std::vector<detail::MemoryPart>& parts, const std::string& what) {
    for (const auto& part : parts)
      if (part.what == what) return part.bytes;
    return -1.0;
  };
  std::vector<detail::MemoryPart> parts = detail::estimate_memory(e);
  EXPECT_EQ(bytes_of(parts, "optimizer replica states (all kept for checkpoints)"),
            4096.0 * 1001.0 * 8.0);
  EXPECT_EQ(bytes_of(parts, "noise model"), (3.0 * 3 + 1000.0) * 8.0);
  EXPECT_EQ(bytes_of(parts, "optimizer per-replica results"), 4096.0 * 41.0);
  // 256 blocks x (11 records x 56 + 96): steps 100, records at 0, 10, ..., 100.
  EXPECT_EQ(bytes_of(parts, "optimizer record statistics"), 256.0 * (11.0 * 56.0 + 96.0));
  // Every replica's loss at each of the 11 records, and one record's copy for the summary.
  EXPECT_EQ(bytes_of(parts, "optimizer recorded losses"), 4096.0 * 12.0 * 8.0);
  // Without checkpoints only the threads' blocks are live: 4 x 16 columns.
  e.run.checkpoint_every = 0;
  parts = detail::estimate_memory(e);
  EXPECT_EQ(bytes_of(parts, "optimizer replica states"), 4.0 * 16.0 * 1001.0 * 8.0);
  // rand_k steps sparsely: two d x 16 blocks per workspace, the gradient block, four rows.
  EXPECT_EQ(bytes_of(parts, "optimizer workspaces"),
            4.0 * (1004.0 * 16.0 * 8.0 + 2.0 * 1000.0 * 16.0 * 8.0 + 24.0 * 2048.0 + 20.0 * 1000.0 +
                   16.0 * 8.0));
  EXPECT_FALSE(detail::check_limits(e, 1e9));
  EXPECT_FALSE(detail::check_limits(e, std::nullopt));
  // Over the given memory: the biggest parts and their keys, values shown.
  e.run.replicas = 1000000000;
  const auto v = detail::check_limits(e, 8.0 * 1024 * 1024 * 1024);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->keys.front(), (std::pair<std::string, std::string>{"run.replicas", "1000000000"}));
  EXPECT_TRUE(
      has(v->constraint, " > 8.0 GiB, MemAvailable in /proc/meminfo or the cgroup's memory.max)"))
      << v->constraint;
  EXPECT_TRUE(has(v->constraint, "optimizer record statistics")) << v->constraint;
  EXPECT_FALSE(detail::check_limits(e, std::nullopt));  // unreadable: not checked
  // A rotated quadratic keeps two d x d matrices; a Monte Carlo law d x M blocks per thread.
  e.run.replicas = 16;
  e.objective.kind = ObjectiveKind::kQuadraticRotated;
  EXPECT_EQ(bytes_of(detail::estimate_memory(e), "objective (d x d rotation and Hessian)"),
            2.0 * 1000.0 * 1000.0 * 8.0);
}

// Through parse_experiment only with sizes beyond any machine, so the test is deterministic.
TEST(ConfigLimits, HugeRunsAreRejectedBeforeAnythingIsAllocated) {
  if (!detail::available_memory()) GTEST_SKIP() << "no /proc/meminfo: the memory is not checked";
  std::string msg = error_of(kBase + "[run]\nreplicas = 1000000000000\n");
  EXPECT_TRUE(has(msg, "exp.toml:15:12: run.replicas = 1000000000000")) << msg;
  EXPECT_TRUE(has(msg, "Violated constraint: estimated peak memory <= available memory (here "))
      << msg;
  EXPECT_TRUE(
      has(msg, "GiB, MemAvailable in /proc/meminfo or the cgroup's memory.max); most of it: "))
      << msg;
  // Logistic data of 10^6 samples x 10^6 coordinates, held twice.
  msg = error_of(kBase, {"problem.objective=\"logistic\"", "problem.dim=1000000",
                         "problem.samples=1000000", "compressor.k=1"});
  EXPECT_TRUE(has(msg,
                  "--set problem.samples=1000000: problem.samples = 1000000, problem.dim = "
                  "1000000. Violated constraint: estimated peak memory <= available memory (here "))
      << msg;
  EXPECT_TRUE(has(msg,
                  "objective (samples x d data, twice) 14901 GiB (problem.samples, "
                  "problem.dim)"))
      << msg;
  // With checkpoints every replica's state stays: d x R.
  msg = error_of(kBase, {"problem.dim=1000000", "run.replicas=100000000", "compressor.k=10",
                         "run.checkpoint_every=10"});
  EXPECT_TRUE(has(msg,
                  "--set run.replicas=100000000: run.replicas = 100000000, problem.dim = "
                  "1000000, run.checkpoint_every = 10. Violated constraint"))
      << msg;
  EXPECT_TRUE(has(msg, "replica states (all kept for checkpoints)")) << msg;
}

}  // namespace
}  // namespace dcsde
