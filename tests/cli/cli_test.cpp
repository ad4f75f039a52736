// The dcsde executable, as a user runs it: exit codes, messages, results written or not.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../support/command.hpp"
#include "../support/files.hpp"

namespace fs = std::filesystem;

namespace {

using Result = dcsde::testing::CommandResult;
Result run(const std::string& args) { return dcsde::testing::run_dcsde(args); }

class Cli : public dcsde::testing::TempDirTest {
 protected:
  Cli() : TempDirTest("cli") {}
};

const char* kExperiment = R"([problem]
objective = "quadratic"
dim = 20
[noise]
kind = "student_t"
nu = 3
sigma = 0.5
[agents]
count = 4
[compressor]
kind = "rand_k"
k = 4
[method]
kind = "dcsgd"
lr = 0.05
steps = 200
[run]
replicas = 32
record_every = 20
[output]
plot = false
)";

TEST_F(Cli, RunWritesConfigCurvesAndSummary) {
  const std::string file = write("exp.toml", kExperiment);
  const Result r = run("run " + file + " --out " + (dir_ / "out").string() + " --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* name : {"config.toml", "curves.csv", "summary.json"})
    EXPECT_TRUE(fs::exists(dir_ / "out" / name)) << name;
  std::ifstream in(dir_ / "out" / "summary.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  const auto& p = j["processes"]["optimizer"];
  for (const char* key :
       {"replicas", "diverged", "first_divergence_step", "bits_per_agent_per_step"})
    EXPECT_TRUE(p.contains(key)) << key;
  for (const char* key : {"loss_mean", "loss_std", "loss_sem", "grad_norm_mean", "loss_median",
                          "loss_q05", "loss_q25", "loss_q75", "loss_q95"})
    EXPECT_TRUE(p["final"][key].is_number()) << key;
  ASSERT_TRUE(p["final"]["loss_median_ci95"].is_array());
  EXPECT_LE(p["final"]["loss_median_ci95"][0].get<double>(), p["final"]["loss_median"]);
  EXPECT_GE(p["final"]["loss_median_ci95"][1].get<double>(), p["final"]["loss_median"]);
  EXPECT_TRUE(p["asymptotic_loss"]["mean"].is_number());
  EXPECT_TRUE(p["asymptotic_loss"]["sem"].is_number());
  EXPECT_TRUE(p["asymptotic_loss"]["median"].is_number());
  EXPECT_EQ(j["statistic"], "mean") << "Student-t with nu = 3 has a variance";
  std::ifstream curves(dir_ / "out" / "curves.csv");
  std::string header;
  std::getline(curves, header);
  EXPECT_EQ(header,
            "process,step,time,loss_mean,loss_std,grad_norm_mean,alive,sq_norm_mean,sq_norm_std,"
            "loss_median,loss_q05,loss_q25,loss_q75,loss_q95");
  std::string row;
  std::getline(curves, row);
  EXPECT_EQ(std::count(row.begin(), row.end(), ','), std::count(header.begin(), header.end(), ','))
      << "every row has every column: " << row;
  EXPECT_NE(r.output.find("asymptotic loss"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("final loss (mean +- se)"), std::string::npos) << r.output;
  // The resolved config is itself a valid experiment.
  EXPECT_EQ(run("validate " + (dir_ / "out" / "config.toml").string()).status, 0);
}

TEST_F(Cli, SweepWritesOneRowPerPoint) {
  const std::string file =
      write("exp.toml", std::string(kExperiment) + "[sweep]\n\"compressor.k\" = [2, 4, 20]\n");
  const Result r = run("run " + file + " --out " + (dir_ / "out").string() + " --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream in(dir_ / "out" / "sweep.csv");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("compressor.k,label,replicas,diverged", 0), 0u) << line;
  EXPECT_NE(line.find(",final_loss_median,final_loss_q25,final_loss_q75,wall_seconds"),
            std::string::npos)
      << "the quartiles before wall_seconds, which stays last: " << line;
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  EXPECT_EQ(rows, 3);
  EXPECT_TRUE(fs::exists(dir_ / "out" / "points"));
}

TEST_F(Cli, BadInputFailsWithMessageAndWritesNothing) {
  struct Case {
    std::string args, expected;
  };
  const std::string good = write("good.toml", kExperiment);
  std::string with_typo = kExperiment;
  with_typo.replace(with_typo.find("record_every = 20"), 17, "record_every = 20\nthread = 2");
  const std::string unknown = write("unknown.toml", with_typo);
  const std::string malformed = write("malformed.toml", "[problem\n");
  for (const Case& c : std::vector<Case>{
           {"run " + unknown, "unknown key 'run.thread'"},
           {"run " + malformed, "malformed.toml:1:"},
           {"run " + good + " --set compressor.k=500", "Violated constraint: 1 <= k <= dim = 20"},
           {"run " + good + " --set noise.nu=0", "noise.nu = 0. Violated constraint: nu > 0."},
           {"run " + good + " --set method.lr=-1", "method.lr = -1. Violated constraint: lr > 0."},
           {"run " + good + " --set problem.dimension=3", "unknown key 'problem.dimension'"},
           {"run " + good + " --set output.statistic=average",
            "output.statistic = \"average\". Violated constraint: one of mean, median."},
           {"validate " + unknown, "unknown key 'run.thread'"},
       }) {
    const bool is_run = c.args.rfind("run ", 0) == 0;
    const Result r = run(c.args + (is_run ? " --out " + (dir_ / "out").string() : ""));
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_NE(r.output.find(c.expected), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(dir_ / "out")) << c.args;
    for (const auto& entry : fs::directory_iterator(dir_))
      EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

// Cauchy noise (nu = 1): the loss has no mean, so the table and the plot show medians with
// their quartiles unless [output] statistic says otherwise, and the table's header says which.
TEST_F(Cli, HeavyTailsShowMediansByDefault) {
  std::string cauchy = kExperiment;
  cauchy.replace(cauchy.find("nu = 3"), 6, "nu = 1");
  const std::string file = write("cauchy.toml", cauchy);
  Result r = run("run " + file + " --out " + (dir_ / "out").string() + " --quiet");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("final loss (median [q25, q75])"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("asymptotic loss (median)"), std::string::npos) << r.output;
  std::ifstream in(dir_ / "out" / "summary.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["statistic"], "median");
  const auto& last = j["processes"]["optimizer"]["final"];
  // The row shows the median and its quartiles as summary.json has them.
  const std::string cell =
      fmt::format("{:.4g} [{:.3g}, {:.3g}]", last["loss_median"].get<double>(),
                  last["loss_q25"].get<double>(), last["loss_q75"].get<double>());
  EXPECT_NE(r.output.find(cell), std::string::npos) << cell << "\n" << r.output;
  r = run("run " + file + " --out " + (dir_ / "out").string() +
          " --quiet --set output.statistic=mean");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("final loss (mean +- se)"), std::string::npos) << r.output;
}

TEST_F(Cli, ListVersionAndHelp) {
  const Result list = run("list");
  ASSERT_EQ(list.status, 0);
  for (const char* name : {"rand_k", "natural_dithering", "top_k", "majority_vote",
                           "normalized_dcsgd", "affine_student_t", "logistic", "schedule_points"})
    EXPECT_NE(list.output.find(name), std::string::npos) << name;
  EXPECT_NE(run("--version").output.find("dcsde 0."), std::string::npos);
  EXPECT_EQ(run("run --help").status, 0);
}

}  // namespace

namespace {

// docs/experiment-format.md carries `dcsde list --markdown`: the documented keys are the schema.
TEST(Docs, ExperimentFormatListsEveryKeyOfTheSchema) {
  const Result list = run("list --markdown");
  ASSERT_EQ(list.status, 0);
  std::ifstream in(std::string(DCSDE_SOURCE_DIR) + "/docs/experiment-format.md");
  std::stringstream doc;
  doc << in.rdbuf();
  EXPECT_NE(doc.str().find(list.output), std::string::npos)
      << "regenerate the key table: dcsde list --markdown";
}

}  // namespace
