// dcsde reproduce: the claims manifest, a quick run of one claim end to end (experiments,
// figure, verdict), and clear errors for an unknown claim or a malformed manifest.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../support/command.hpp"

namespace fs = std::filesystem;
using dcsde::testing::run_dcsde;

namespace {

const std::string kManifest = std::string(DCSDE_SOURCE_DIR) + "/experiments/reproduce/claims.toml";

TEST(Reproduce, ListsEveryClaimOfTheManifest) {
  const auto r = run_dcsde("reproduce --list --claims " + kManifest);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* name :
       {"sde_tracking", "noise_resilience", "linear_speedup", "stability_limits",
        "normalization_intensity", "schedules_fail", "classic_rules_leave_stability",
        "networks_paper2", "affine_compression", "cauchy_schedule"})
    EXPECT_NE(r.output.find(name), std::string::npos) << name << "\n" << r.output;
}

// The linear-speedup claim in quick mode: its sweep runs, the analysis draws the figure and the
// verdict holds (slopes near -1: 1/N is what Thm 3 and Thm 4 predict, measured here).
TEST(Reproduce, QuickClaimWritesFigureAndVerdict) {
  const fs::path out = fs::temp_directory_path() / "dcsde_reproduce_quick";
  fs::remove_all(out);
  const auto r = run_dcsde("reproduce linear_speedup --quick --quiet --claims " + kManifest +
                           " --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(out / "linear_speedup" / "linear_speedup.png")) << r.output;
  std::ifstream in(out / "linear_speedup" / "verdict.json");
  const nlohmann::json verdict = nlohmann::json::parse(in);
  EXPECT_EQ(verdict["holds"], true) << verdict.dump(2);
  EXPECT_TRUE(verdict["wall_seconds"].is_number());
  EXPECT_NE(verdict["command"].get<std::string>().find("--quick"), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "linear_speedup" / "verdict.md"));
  EXPECT_EQ(verdict["scope"], "paper");
  // RESULTS.md's tally counts the papers' claims apart from those beyond the papers.
  std::ifstream results(out / "RESULTS.md");
  std::stringstream text;
  text << results.rdbuf();
  EXPECT_NE(text.str().find("**Tally**: the papers' claims: 1 of 1 hold, 0 do not hold, 0 "
                            "inconclusive; beyond the papers: 0 of 0 hold"),
            std::string::npos)
      << text.str();
  fs::remove_all(out);
}

// A claim of [[claim.thresholds]] entries (seconds in quick mode): each entry's folder holds
// threshold.json and entry.json (--quick's overrides included), and the criterion written in the
// manifest reaches verdict.json and verdict.md.
TEST(Reproduce, ThresholdClaimRunsItsEntriesInProcess) {
  const fs::path out = fs::temp_directory_path() / "dcsde_reproduce_thresholds";
  fs::remove_all(out);
  const auto r = run_dcsde("reproduce normalization_intensity --quick --quiet --claims " +
                           kManifest + " --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const fs::path claim = out / "normalization_intensity";
  for (const char* entry : {"base", "omega_k1", "N_16"}) {
    EXPECT_TRUE(fs::exists(claim / entry / "threshold.json")) << entry;
    std::ifstream in(claim / entry / "entry.json");
    const nlohmann::json e = nlohmann::json::parse(in);
    EXPECT_NE(e["set"].dump().find("run.replicas="), std::string::npos) << e.dump();
  }
  std::ifstream in(claim / "verdict.json");
  const nlohmann::json verdict = nlohmann::json::parse(in);
  EXPECT_FALSE(verdict["criterion"].get<std::string>().empty());
  EXPECT_TRUE(fs::exists(claim / "normalization_intensity.png")) << r.output;
  std::ifstream md(claim / "verdict.md");
  std::stringstream text;
  text << md.rdbuf();
  EXPECT_NE(text.str().find("**Criterion** (written before the run)"), std::string::npos);
  fs::remove_all(out);
}

TEST(Reproduce, UnknownClaimAndBadManifestAreClearErrors) {
  auto r = run_dcsde("reproduce nonsense --claims " + kManifest);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("no claim named 'nonsense'"), std::string::npos) << r.output;
  const fs::path bad = fs::temp_directory_path() / "dcsde_bad_claims.toml";
  std::ofstream(bad) << "[[claim]]\nname = \"x\"\npaper = \"p\"\nstatement = \"s\"\n"
                        "analysis = \"a\"\nexperiments = [\"missing.toml\"]\nfigure = 3\n";
  r = run_dcsde("reproduce --list --claims " + bad.string());
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("unknown key claim.figure"), std::string::npos) << r.output;
  fs::remove(bad);
}

}  // namespace
