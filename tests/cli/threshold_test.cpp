// dcsde threshold as a user meets it: the table and threshold.json of a search, and bad input
// refused with a sentence before anything is written.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "../support/command.hpp"
#include "../support/files.hpp"

namespace fs = std::filesystem;
using dcsde::testing::CommandResult;
using dcsde::testing::read_file;
using dcsde::testing::run_dcsde;

namespace {

// GD on a quadratic with lambda_max = 4: the limit of method.lr is 2/4.
const char* kGd = R"([experiment]
name = "gd"
[problem]
objective = "quadratic"
dim = 4
eigenvalues = [0.5, 1.0, 2.0, 4.0]
x0 = 1.0
[method]
kind = "dsgd"
lr = 0.1
steps = 200
[run]
replicas = 1
)";

class ThresholdCli : public dcsde::testing::TempDirTest {
 protected:
  ThresholdCli() : TempDirTest("threshold") {}
  // `dcsde threshold` on kGd with ARGS, the results in dir_/out.
  CommandResult threshold(const std::string& args) {
    const std::string file = write("gd.toml", kGd);
    return run_dcsde("threshold '" + file + "' --no-plot --quiet --out '" + out().string() + "' " +
                     args);
  }
  fs::path out() const { return dir_ / "out"; }
};

TEST_F(ThresholdCli, WritesTheThresholdWithItsBracketProbesAndPrediction) {
  const CommandResult r = threshold("--key method.lr --sde stable --criterion both");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("stability limit of method.lr"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("mean square: unstable when"), std::string::npos) << r.output;
  const nlohmann::json j = nlohmann::json::parse(read_file(out() / "threshold.json"));
  EXPECT_EQ(j["key"], "method.lr");
  EXPECT_TRUE(j["criteria"].contains("mean_square"));
  EXPECT_TRUE(j["criteria"].contains("almost_sure"));
  ASSERT_EQ(j["processes"].size(), 2u);
  EXPECT_EQ(j["processes"][1]["process"], "sde:stable");
  for (const auto& p : j["processes"]) {
    ASSERT_EQ(p["results"].size(), 2u);
    for (const auto& t : p["results"]) {
      EXPECT_NEAR(t["threshold"].get<double>(), 0.5, 1e-3);
      EXPECT_LE(t["bracket"]["stable"].get<double>(), 0.5);
      EXPECT_GT(t["bracket"]["unstable"].get<double>(), 0.5);
      EXPECT_NEAR(t["prediction"]["value"].get<double>(), 0.5, 1e-9);
    }
    EXPECT_GE(p["probes"].size(), 10u);
    EXPECT_TRUE(p["probes"][0]["verdicts"]["mean_square"].contains("rate_per_step"));
  }
  EXPECT_TRUE(fs::exists(out() / ".dcsde-results"));
}

// Each refusal exits 2 with its reason and leaves no results folder behind.
void expect_refused(const CommandResult& r, const std::string& reason, const fs::path& out) {
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(reason), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out)) << "nothing is written";
  EXPECT_FALSE(fs::exists(out.string() + ".lock")) << "the lock is released";
}

TEST_F(ThresholdCli, RefusesAnUnknownKey) {
  expect_refused(threshold("--key method.lrr"), "unknown key 'method.lrr'", out());
}

TEST_F(ThresholdCli, RefusesANonNumericKey) {
  expect_refused(threshold("--key method.kind"), "not a number", out());
}

TEST_F(ThresholdCli, RefusesABracketWithoutAChangeOfBehaviour) {
  expect_refused(threshold("--key method.lr --low 0.1 --high 0.3"),
                 "stable at both ends of [0.1, 0.3]", out());
  expect_refused(threshold("--key method.lr --low 0.6 --high 0.9"), "unstable at both ends", out());
}

TEST_F(ThresholdCli, RefusesAFolderDcsdeDidNotWrite) {
  fs::create_directories(out());
  write("out/notes.txt", "mine");
  const CommandResult r = threshold("--key method.lr");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("did not write"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(out() / "notes.txt"), "mine");
  EXPECT_FALSE(fs::exists(out() / "threshold.json"));
}

}  // namespace
