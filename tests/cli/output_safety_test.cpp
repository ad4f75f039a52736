// Results never destroy what dcsde did not write (run/output_folder.hpp), through the CLI as a
// user meets it: refused destinations, atomic replacement, a full disk, signals, a killed run's
// leftovers, two runs on one folder.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <string>

#include "../support/command.hpp"
#include "../support/files.hpp"

namespace fs = std::filesystem;
using dcsde::testing::BackgroundCommand;
using dcsde::testing::CommandResult;
using dcsde::testing::eventually;
using dcsde::testing::read_file;
using dcsde::testing::run_command;

namespace {

const char* kQuick = R"([problem]
objective = "quadratic"
dim = 6
[noise]
kind = "gaussian"
sigma = 0.5
[agents]
count = 2
[method]
kind = "dsgd"
lr = 0.05
steps = 40
[run]
replicas = 8
record_every = 10
[output]
plot = false
)";

// kQuick with 10^9 steps, recorded every 10^5: runs until it is signalled.
std::string endless_experiment() {
  std::string text = kQuick;
  text.replace(text.find("steps = 40"), 10, "steps = 1000000000");
  text.replace(text.find("record_every = 10"), 17, "record_every = 100000");
  return text;
}

class OutputSafety : public dcsde::testing::TempDirTest {
 protected:
  OutputSafety() : TempDirTest("output") {}
  void SetUp() override {
    TempDirTest::SetUp();
    write("quick.toml", kQuick);
    write("endless.toml", endless_experiment());
  }
  std::string at(const std::string& name) const { return (dir_ / name).string(); }
  // `dcsde run quick.toml --out OUT EXTRA`, run from the test's folder.
  CommandResult quick(const std::string& out, const std::string& extra = "") const {
    return run_command("cd " + dir_.string() + " && " + DCSDE_BINARY + " run quick.toml --out " +
                       out + " --quiet " + extra);
  }
  std::unique_ptr<BackgroundCommand> endless(const std::string& out,
                                             const std::string& extra = "") const {
    return std::make_unique<BackgroundCommand>(std::string(DCSDE_BINARY) + " run " +
                                                   at("endless.toml") + " --out " + at(out) +
                                                   " --quiet " + extra,
                                               at(out + ".log"));
  }
  // The folders and files beside the results that only a run in progress may hold.
  std::vector<std::string> leftovers(const std::string& out) const {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(out + ".tmp-", 0) == 0 || name.rfind(out + ".old-", 0) == 0 ||
          name == out + ".lock")
        found.push_back(name);
    }
    return found;
  }
};

#define EXPECT_MENTIONS(output, text)                                                     \
  EXPECT_NE((output).find(text), std::string::npos) << "missing '" << (text) << "' in:\n" \
                                                    << (output)

TEST_F(OutputSafety, RefusesAFolderItDidNotWriteAndTouchesNothing) {
  fs::create_directories(dir_ / "keep");
  write("keep/notes.txt", "my notes");
  const CommandResult r = quick("keep");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_MENTIONS(r.output, "keep: is a folder that dcsde did not write");
  EXPECT_EQ(read_file(dir_ / "keep" / "notes.txt"), "my notes");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "keep"), fs::directory_iterator()), 1);
  EXPECT_TRUE(leftovers("keep").empty());
}

TEST_F(OutputSafety, RefusesTheWorkingFolderItsParentTheRootFilesAndDevices) {
  for (const std::string& out :
       std::vector<std::string>{".", "..", "/", "./", "quick.toml", "/dev/null", dir_.string()}) {
    const CommandResult r = quick(out);
    EXPECT_EQ(r.status, 2) << out << ": " << r.output;
    EXPECT_MENTIONS(r.output, "nothing was written");
  }
  EXPECT_EQ(read_file(dir_ / "quick.toml"), kQuick);
  struct stat null_device {};
  ASSERT_EQ(::stat("/dev/null", &null_device), 0);
  EXPECT_TRUE(S_ISCHR(null_device.st_mode)) << "/dev/null is no longer a device";
}

TEST_F(OutputSafety, RefusesItsOwnResultsWhenTheyHoldTheExperimentOrTheWorkingFolder) {
  ASSERT_EQ(quick("res").status, 0);
  fs::copy_file(dir_ / "quick.toml", dir_ / "res" / "mine.toml");
  const CommandResult inside =
      run_command(std::string(DCSDE_BINARY) + " run " + at("res/mine.toml") + " --out " +
                  at("res") + " --quiet");
  EXPECT_EQ(inside.status, 2) << inside.output;
  EXPECT_MENTIONS(inside.output, "mine.toml, which this run reads");
  const CommandResult from_inside = run_command("cd " + at("res") + " && " + DCSDE_BINARY +
                                                " run ../quick.toml --out ../res --quiet");
  EXPECT_EQ(from_inside.status, 2) << from_inside.output;
  EXPECT_MENTIONS(from_inside.output, "holds the working folder");
  EXPECT_TRUE(fs::exists(dir_ / "res" / "mine.toml"));
  EXPECT_TRUE(fs::exists(dir_ / "res" / "summary.json"));
}

TEST_F(OutputSafety, ReplacesItsOwnResultsAndLeavesNothingBeside) {
  ASSERT_EQ(quick("res").status, 0);
  const std::string first = read_file(dir_ / "res" / "curves.csv");
  const CommandResult second = quick("res", "--seed 7");
  ASSERT_EQ(second.status, 0) << second.output;
  EXPECT_NE(read_file(dir_ / "res" / "curves.csv"), first);
  EXPECT_TRUE(fs::exists(dir_ / "res" / ".dcsde-results"));
  EXPECT_TRUE(leftovers("res").empty());
}

TEST_F(OutputSafety, AFullDiskIsAnErrorNamingTheFileAndLeavesTheOldResults) {
  ASSERT_EQ(quick("res").status, 0);
  const std::string before = read_file(dir_ / "res" / "summary.json");
  const std::string shim = std::string("LD_PRELOAD=") + DCSDE_FAULT_SHIM + " ";
  for (const std::string& file :
       std::vector<std::string>{"summary.json", "curves.csv", "config.toml"}) {
    for (const std::string& out : std::vector<std::string>{"res", "fresh"}) {
      const CommandResult r =
          run_command("cd " + dir_.string() + " && " + shim + "DCSDE_FAULT_ENOSPC=" + file + " " +
                      DCSDE_BINARY + " run quick.toml --out " + out + " --quiet --seed 5");
      EXPECT_EQ(r.status, 2) << file << " " << out << ": " << r.output;
      EXPECT_MENTIONS(r.output, file + ": cannot write: No space left on device");
      EXPECT_EQ(r.output.find("results:"), std::string::npos) << r.output;
      EXPECT_TRUE(leftovers(out).empty()) << out;
    }
  }
  EXPECT_FALSE(fs::exists(dir_ / "fresh"));
  EXPECT_EQ(read_file(dir_ / "res" / "summary.json"), before);
  // A file system that reports the full disk only when the file is closed (NFS).
  const CommandResult at_close =
      run_command("cd " + dir_.string() + " && " + shim + "DCSDE_FAULT_CLOSE_EIO=summary.json " +
                  DCSDE_BINARY + " run quick.toml --out fresh --quiet");
  EXPECT_EQ(at_close.status, 2) << at_close.output;
  EXPECT_MENTIONS(at_close.output, "summary.json: cannot write (at close): Input/output error");
  EXPECT_FALSE(fs::exists(dir_ / "fresh"));
  // The copy of the experiment kept for --resume.
  const CommandResult checkpoint = run_command(
      "cd " + dir_.string() + " && " + shim + "DCSDE_FAULT_ENOSPC=quick.toml " + DCSDE_BINARY +
      " run quick.toml --out fresh --quiet --set run.checkpoint_every=10");
  EXPECT_EQ(checkpoint.status, 2) << checkpoint.output;
  EXPECT_MENTIONS(checkpoint.output, "fresh.checkpoint/quick.toml: cannot write");
}

TEST_F(OutputSafety, SignalsStopARunCleanly) {
  for (const auto& [signal, name] : std::vector<std::pair<int, std::string>>{
           {SIGINT, "SIGINT"}, {SIGTERM, "SIGTERM"}, {SIGHUP, "SIGHUP"}}) {
    const auto run = endless("res");
    const fs::path staging = at("res.tmp-" + std::to_string(run->pid()));
    ASSERT_TRUE(eventually([&] { return fs::exists(staging); })) << name;
    run->signal(signal);
    EXPECT_EQ(run->wait(), 128 + signal) << name;
    EXPECT_TRUE(leftovers("res").empty()) << name;
    EXPECT_FALSE(fs::exists(dir_ / "res"));
    EXPECT_MENTIONS(read_file(at("res.log")),
                    "interrupted by " + name + "; removed the unfinished");
  }
}

TEST_F(OutputSafety, AnInterruptedRunKeepsItsCheckpointsAndSaysHowToResume) {
  const auto run = endless("res", "--set run.checkpoint_every=100000");
  ASSERT_TRUE(
      eventually([&] { return fs::exists(at("res.checkpoint/point-000-optimizer.ckpt")); }));
  run->signal(SIGTERM);
  EXPECT_EQ(run->wait(), 143);
  EXPECT_TRUE(leftovers("res").empty());
  EXPECT_TRUE(fs::exists(at("res.checkpoint/point-000-optimizer.ckpt")));
  EXPECT_MENTIONS(read_file(at("res.log")), "continue with dcsde run --resume " + at("res"));
}

TEST_F(OutputSafety, TheNextRunRemovesWhatAKilledRunLeft) {
  const auto run = endless("res");
  const fs::path staging = at("res.tmp-" + std::to_string(run->pid()));
  ASSERT_TRUE(eventually([&] { return fs::exists(staging); }));
  run->signal(SIGKILL);
  EXPECT_EQ(run->wait(), 128 + SIGKILL);
  ASSERT_TRUE(fs::exists(staging)) << "SIGKILL cannot be caught: its staging folder stays";
  const CommandResult next = quick("res");
  ASSERT_EQ(next.status, 0) << next.output;
  EXPECT_MENTIONS(next.output, "removed res.tmp-" + std::to_string(run->pid()) + ", left by run");
  EXPECT_TRUE(leftovers("res").empty());
  EXPECT_TRUE(fs::exists(dir_ / "res" / "summary.json"));
}

TEST_F(OutputSafety, ASecondRunOrAResumeOnTheSameFolderFailsAtOnce) {
  const auto first = endless("res", "--set run.checkpoint_every=100000");
  const fs::path staging = at("res.tmp-" + std::to_string(first->pid()));
  ASSERT_TRUE(eventually([&] { return fs::exists(staging); }));
  const std::string holder = "another dcsde run (PID " + std::to_string(first->pid()) + ")";
  const CommandResult second = quick(at("res"));
  EXPECT_EQ(second.status, 2) << second.output;
  EXPECT_MENTIONS(second.output, holder);
  const CommandResult resume =
      run_command(std::string(DCSDE_BINARY) + " run --resume " + at("res") + " --quiet");
  EXPECT_EQ(resume.status, 2) << resume.output;
  EXPECT_MENTIONS(resume.output, holder);
  EXPECT_TRUE(first->running());
  EXPECT_TRUE(fs::exists(staging)) << "the resume must not touch the running run's folder";
  first->signal(SIGTERM);
  EXPECT_EQ(first->wait(), 143);
}

}  // namespace
