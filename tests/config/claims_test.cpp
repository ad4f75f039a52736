// The claims manifest's [[claim.thresholds]] entries and criterion field (config/claims.hpp):
// parsed as written, malformed ones refused with file:line; and the threshold driver's
// keep_absent, which turns "no limit in the bracket" into a result for `dcsde reproduce`.
#include "dcsde/config/claims.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "dcsde/config/threshold.hpp"
#include "dcsde/core/error.hpp"

namespace fs = std::filesystem;

namespace {

// A manifest in a temporary folder beside an experiment file `e.toml` (GD on a parabola).
class Manifest {
 public:
  explicit Manifest(const std::string& text)
      // One folder per process: CTest runs the tests of this file in parallel processes.
      : dir_(fs::temp_directory_path() / ("dcsde_claims_test_" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / "e.toml") << kExperiment;
    std::ofstream(path()) << text;
  }
  ~Manifest() { fs::remove_all(dir_); }
  fs::path path() const { return dir_ / "claims.toml"; }

  static constexpr const char* kExperiment =
      "[problem]\nobjective = \"quadratic\"\ndim = 1\neigenvalues = [1.0]\n"
      "[method]\nkind = \"dsgd\"\nlr = 0.5\nsteps = 20\n[run]\nreplicas = 16\n";

 private:
  fs::path dir_;
};

const std::string kHead =
    "[[claim]]\nname = \"c\"\npaper = \"p\"\nstatement = \"s\"\nanalysis = \"a\"\n"
    "criterion = \"written first\"\n";

std::string error_of(const std::string& text) {
  const Manifest m(text);
  try {
    (void)dcsde::load_claims(m.path());
  } catch (const dcsde::ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Claims, ThresholdEntriesAndCriterionAreRead) {
  const Manifest m(kHead +
                   "[[claim.thresholds]]\nname = \"t1\"\nexperiment = \"e.toml\"\n"
                   "key = \"method.lr\"\nsde = [\"first_order\", \"stable\"]\n"
                   "criteria = [\"almost_sure\"]\nset = [\"run.replicas=8\"]\nlow = 0.1\n"
                   "high = 4.0\ntolerance = 0.05\nquick = false\n"
                   "[[claim.thresholds]]\nname = \"t2\"\nexperiment = \"e.toml\"\n"
                   "key = \"method.lr\"\n");
  const auto claims = dcsde::load_claims(m.path());
  ASSERT_EQ(claims.size(), 1u);
  const dcsde::Claim& c = claims[0];
  EXPECT_EQ(c.criterion, "written first");
  EXPECT_TRUE(c.experiments.empty());  // thresholds alone make a claim
  ASSERT_EQ(c.thresholds.size(), 2u);
  const dcsde::ClaimThreshold& t = c.thresholds[0];
  EXPECT_EQ(t.name, "t1");
  EXPECT_EQ(t.experiment.filename(), "e.toml");
  EXPECT_EQ(t.sde,
            (std::vector<dcsde::SdeModel>{dcsde::SdeModel::kFirstOrder, dcsde::SdeModel::kStable}));
  EXPECT_EQ(t.criteria,
            std::vector<dcsde::StabilityCriterion>{dcsde::StabilityCriterion::kAlmostSure});
  EXPECT_EQ(t.sets, std::vector<std::string>{"run.replicas=8"});
  EXPECT_DOUBLE_EQ(*t.low, 0.1);
  EXPECT_DOUBLE_EQ(*t.high, 4.0);
  EXPECT_DOUBLE_EQ(t.tolerance, 0.05);
  EXPECT_FALSE(t.quick);
  EXPECT_TRUE(c.thresholds[1].quick);  // the default: --quick runs it
  EXPECT_EQ(c.thresholds[1].criteria,  // the default
            std::vector<dcsde::StabilityCriterion>{dcsde::StabilityCriterion::kMeanSquare});
  EXPECT_FALSE(c.thresholds[1].low.has_value());
}

// scope: "paper" unless the claim says "beyond"; anything else is refused at its line.
TEST(Claims, ScopeIsPaperByDefaultOrBeyond) {
  EXPECT_EQ(dcsde::load_claims(Manifest(kHead + "experiments = [\"e.toml\"]\n").path())[0].scope,
            "paper");
  const Manifest beyond(kHead + "scope = \"beyond\"\nexperiments = [\"e.toml\"]\n");
  EXPECT_EQ(dcsde::load_claims(beyond.path())[0].scope, "beyond");
  const std::string message = error_of(kHead + "scope = \"poster\"\nexperiments = [\"e.toml\"]\n");
  EXPECT_NE(message.find("claims.toml:7"), std::string::npos) << message;
  EXPECT_NE(message.find("claim.scope = 'poster'. Violated constraint: scope is \"paper\" or "
                         "\"beyond\""),
            std::string::npos)
      << message;
}

TEST(Claims, MalformedThresholdEntriesNameFileAndLine) {
  const std::string entry = "[[claim.thresholds]]\nname = \"t\"\nexperiment = \"e.toml\"\n";
  struct Case {
    std::string body, message, line;
  };
  const Case cases[] = {
      {entry + "key = \"method.lr\"\nfoo = 1\n", "unknown key claim.thresholds.foo", ":11"},
      {entry, "claim.thresholds.key (a string) is missing", ":7"},
      {entry + "key = \"method.lr\"\nsde = [\"second_order\"]\n", "unknown SDE model", ":11"},
      {entry + "key = \"method.lr\"\ncriteria = [\"sure\"]\n", "unknown criterion", ":11"},
      {entry + "key = \"method.lr\"\nlow = 1.0\n", "low and high go together", ":7"},
      {entry + "key = \"method.lr\"\nlow = 2.0\nhigh = 1.0\n", "low < high", ":7"},
      {entry + "key = \"method.lr\"\ntolerance = 2.0\n", "tolerance must lie in (0, 1)", ":11"},
      {entry + "key = \"method.lr\"\nlow = \"x\"\nhigh = 1.0\n", "must be a number", ":11"},
      {entry + "key = \"method.lr\"\nquick = \"no\"\n", "quick must be true or false", ":11"},
      {"[[claim.thresholds]]\nname = \"a/b\"\nexperiment = \"e.toml\"\nkey = \"k\"\n",
       "plain folder name", ":7"},
      {"[[claim.thresholds]]\nname = \"t\"\nexperiment = \"none.toml\"\nkey = \"k\"\n",
       "does not exist", ":7"},
      {entry + "key = \"k\"\n" + entry + "key = \"k\"\n", "'t' appears twice", ":11"},
      {"thresholds = 3\n", "must be an array of tables", ":7"},
      {"", "lists no experiments and no thresholds", ":1"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of(kHead + c.body);
    EXPECT_NE(message.find(c.message), std::string::npos) << c.body << "\n" << message;
    EXPECT_NE(message.find("claims.toml" + c.line), std::string::npos) << c.body << "\n" << message;
  }
}

TEST(Claims, TheManifestsThresholdClaimsParse) {
  const auto claims =
      dcsde::load_claims(fs::path(DCSDE_SOURCE_DIR) / "experiments/reproduce/claims.toml");
  int with_thresholds = 0;
  for (const dcsde::Claim& c : claims)
    if (!c.thresholds.empty()) {
      ++with_thresholds;
      EXPECT_FALSE(c.criterion.empty()) << c.name;  // written before the run
    }
  EXPECT_GE(with_thresholds, 2);
  for (const dcsde::Claim& c : claims)  // the one claim of the manifest beyond the papers
    EXPECT_EQ(c.scope, c.name == "mpi_bytes" ? "beyond" : "paper") << c.name;
}

// GD's first-order SDE on a parabola never diverges (papers.md 8.2): with keep_absent its
// missing limit is a result beside the optimizer's 2/lambda, without it a ConfigError.
TEST(Claims, KeepAbsentRecordsAProcessWithoutALimit) {
  dcsde::ThresholdOptions o;
  o.key = "method.lr";
  o.low = 0.5;
  o.high = 3.0;
  o.tolerance = 0.02;
  o.sde_models = {dcsde::SdeModel::kFirstOrder};
  const std::vector<std::string> sets = {"sde.substeps=20"};
  EXPECT_THROW((void)dcsde::find_thresholds(Manifest::kExperiment, "e.toml", sets, o),
               dcsde::ConfigError);
  o.keep_absent = true;
  const auto report = dcsde::find_thresholds(Manifest::kExperiment, "e.toml", sets, o);
  ASSERT_EQ(report.processes.size(), 2u);
  const auto& optimizer = report.processes[0].results[0];
  EXPECT_TRUE(optimizer.absent.empty());
  EXPECT_NEAR(optimizer.threshold, 2.0, 0.05);
  const auto& sde = report.processes[1].results[0];
  EXPECT_NE(sde.absent.find("stable at both ends of [0.5, 3]"), std::string::npos) << sde.absent;
  const std::string json = dcsde::threshold_json(report);
  EXPECT_NE(json.find("\"absent\": \"stable at both ends"), std::string::npos) << json;
}

}  // namespace
