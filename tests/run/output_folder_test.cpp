// Results folders (run/output_folder.hpp): what may be replaced, atomic replacement by exchange
// and by renaming aside, recovery of a killed run's folders, the lock, checked writes.
#include "dcsde/run/output_folder.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/files.hpp"
#include "dcsde/core/error.hpp"

namespace fs = std::filesystem;
using dcsde::IoError;
using dcsde::StagedDirectory;
using dcsde::testing::read_file;

namespace {

class OutputFolder : public dcsde::testing::TempDirTest {
 protected:
  OutputFolder() : TempDirTest("output_folder") {}
  // A dcsde results folder at `name` whose summary.json holds `text`.
  fs::path results(const std::string& name, const std::string& text) {
    StagedDirectory staged(dir_ / name);
    dcsde::write_text(staged.path() / "summary.json", text);
    staged.commit();
    return dir_ / name;
  }
  std::string refusal(const fs::path& destination, const std::vector<fs::path>& inputs = {}) {
    try {
      dcsde::checked_destination(destination, inputs);
    } catch (const IoError& e) {
      return e.what();
    }
    return "";
  }
  std::size_t entries() const {
    return static_cast<std::size_t>(
        std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }
};

TEST_F(OutputFolder, AcceptsAnAbsentFolderOrOneDcsdeWrote) {
  EXPECT_EQ(dcsde::checked_destination(dir_ / "new"), dir_ / "new");
  EXPECT_EQ(dcsde::checked_destination(dir_ / "new" / ""), dir_ / "new");  // trailing separator
  results("old", "1");
  EXPECT_EQ(dcsde::checked_destination(dir_ / "old"), dir_ / "old");
}

TEST_F(OutputFolder, RefusesEverythingElseNamingThePath) {
  fs::create_directories(dir_ / "mine");
  write("file.txt", "x");
  fs::create_directory_symlink(results("linked", "1"), dir_ / "link");
  const std::vector<std::pair<fs::path, std::string>> cases = {
      {dir_ / "mine", "is a folder that dcsde did not write"},
      {dir_ / "file.txt", "is a file, not a results folder"},
      {dir_ / "link", "is a symbolic link"},
      {"/dev/null", "is not a folder (a device"},
      {".", "., .., / and an empty path are refused"},
      {"..", "., .., / and an empty path are refused"},
      {dir_ / "mine" / "..", "is a folder that dcsde did not write"},  // the test's folder
      {"/", "., .., / and an empty path are refused"},
      {"", "., .., / and an empty path are refused"}};
  for (const auto& [path, why] : cases) {
    const std::string message = refusal(path);
    EXPECT_NE(message.find(why), std::string::npos) << path << ": " << message;
    EXPECT_NE(message.find("nothing was written"), std::string::npos) << message;
  }
}

TEST_F(OutputFolder, RefusesResultsHoldingAnInputOrTheWorkingFolder) {
  const fs::path res = results("res", "1");
  write("res/exp.toml", "x");
  EXPECT_NE(refusal(res, {res / "exp.toml"}).find("exp.toml, which this run reads"),
            std::string::npos);
  EXPECT_EQ(refusal(res, {dir_ / "elsewhere.toml"}), "");
  const fs::path cwd = fs::current_path();
  fs::create_directories(res / "sub");
  fs::current_path(res / "sub");
  const std::string message = refusal(res);
  fs::current_path(cwd);
  EXPECT_NE(message.find("holds the working folder"), std::string::npos) << message;
}

TEST_F(OutputFolder, CommitMovesTheResultsInAndCarriesTheMarker) {
  const fs::path res = results("res", "first");
  EXPECT_EQ(read_file(res / "summary.json"), "first");
  EXPECT_TRUE(fs::is_regular_file(res / dcsde::kResultsMarker));
  EXPECT_EQ(entries(), 1u) << "no staging folder is left beside";
}

TEST_F(OutputFolder, ReplacingIsAtomicByExchange) {
  const fs::path res = results("res", "old");
  // A reader sees the old or the new results at every instant of the replacement.
  std::atomic<bool> done{false}, gap{false};
  std::thread reader([&] {
    while (!done) {
      const std::string text = read_file(res / "summary.json");
      if (text != "old" && text != "new") gap = true;
    }
  });
  for (int i = 0; i < 50; ++i) {
    StagedDirectory staged(res);
    dcsde::write_text(staged.path() / "summary.json", i % 2 ? "old" : "new");
    staged.commit(StagedDirectory::Replace::kExchange);
  }
  done = true;
  reader.join();
  EXPECT_FALSE(gap) << "a reader found the results missing or partial";
  EXPECT_EQ(entries(), 1u);
}

TEST_F(OutputFolder, ReplacingByRenamingAsideLeavesNothingBeside) {
  const fs::path res = results("res", "old");
  StagedDirectory staged(res);
  dcsde::write_text(staged.path() / "summary.json", "new");
  staged.commit(StagedDirectory::Replace::kRenameAside);
  EXPECT_EQ(read_file(res / "summary.json"), "new");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(OutputFolder, AStagingFolderIsRemovedWithoutCommit) {
  {
    StagedDirectory staged(dir_ / "res");
    dcsde::write_text(staged.path() / "summary.json", "half");
  }
  EXPECT_EQ(entries(), 0u);
}

TEST_F(OutputFolder, LeftoversOfKilledRunsAreRemovedOrPutBack) {
  // Folders as a SIGKILL leaves them: a staging folder, and old results renamed aside while the
  // destination was missing (killed between the two renames of kRenameAside).
  const fs::path staging = results("res.tmp-999999999", "partial");
  const fs::path aside = results("res.old-999999998", "previous");
  fs::create_directories(dir_ / "res.tmp-12345");  // not marked: someone else's, left alone
  const std::vector<std::string> actions = dcsde::recover_leftovers(dir_ / "res");
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_FALSE(fs::exists(staging));
  EXPECT_FALSE(fs::exists(aside));
  EXPECT_EQ(read_file(dir_ / "res" / "summary.json"), "previous");
  EXPECT_TRUE(fs::exists(dir_ / "res.tmp-12345"));
  // With the destination present, an aside folder is stale and removed.
  results("res.old-999999997", "older");
  EXPECT_EQ(dcsde::recover_leftovers(dir_ / "res").size(), 1u);
  EXPECT_EQ(read_file(dir_ / "res" / "summary.json"), "previous");
  EXPECT_FALSE(fs::exists(dir_ / "res.old-999999997"));
}

TEST_F(OutputFolder, TheLockIsExclusiveNamesItsHolderAndIsRemovedOnRelease) {
  {
    const dcsde::OutputLock lock(dir_ / "res");
    EXPECT_EQ(read_file(dir_ / "res.lock"), std::to_string(::getpid()));
    try {
      const dcsde::OutputLock second(dir_ / "res");
      FAIL() << "a second lock on the same destination was granted";
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("PID " + std::to_string(::getpid())), std::string::npos)
          << e.what();
    }
  }
  EXPECT_FALSE(fs::exists(dir_ / "res.lock"));
  const dcsde::OutputLock again(dir_ / "res");  // free again
}

TEST_F(OutputFolder, WritesAreCheckedThroughTheEnd) {
  try {
    dcsde::write_text("/dev/full", "some results");
    FAIL() << "a write to a full device succeeded";
  } catch (const IoError& e) {
    EXPECT_EQ(std::string(e.what()), "/dev/full: cannot write: No space left on device");
  }
  EXPECT_TRUE(fs::exists("/dev/full")) << "a failed write must not remove a device";
  EXPECT_THROW(dcsde::write_text(dir_ / "missing" / "summary.json", "x"), IoError);
  dcsde::write_text(dir_ / "ok.txt", "exact");
  EXPECT_EQ(read_file(dir_ / "ok.txt"), "exact");
}

}  // namespace
