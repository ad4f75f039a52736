// dcsde reproduce: the claims manifest, a quick run of one claim end to end (experiments,
// figure, verdict), and clear errors for an unknown claim or a malformed manifest.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../support/command.hpp"

namespace fs = std::filesystem;
using dcsde::testing::run_dcsde;

namespace {

const std::string kManifest = std::string(DCSDE_SOURCE_DIR) + "/experiments/reproduce/claims.toml";

TEST(Reproduce, ListsEveryClaimOfTheManifest) {
  const auto r = run_dcsde("reproduce --list --claims " + kManifest);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* name : {"sde_tracking", "noise_resilience", "linear_speedup"})
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
