// Checkpoint and resume (run.checkpoint_every, dcsde run --resume): a run ended abruptly right
// after a checkpoint continues to results bit-identical to an uninterrupted run; bad resumes are
// refused with a message that says what to do.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "../support/command.hpp"
#include "../support/files.hpp"

namespace fs = std::filesystem;
using dcsde::testing::CommandResult;
using dcsde::testing::run_dcsde;

namespace {

// A sweep of two points with an SDE: checkpoints of optimizer and SDE, several blocks (40
// replicas, block 16), records (every 7) that do not fall on checkpoint steps (every 30).
const char* kExperiment = R"([problem]
objective = "quadratic"
dim = 12
[noise]
kind = "gaussian"
sigma = 1.0
[agents]
count = 4
[compressor]
kind = "rand_k"
k = 3
[method]
kind = "dcsgd"
lr = 0.05
steps = 200
[run]
replicas = 40
seed = 3
record_every = 7
[sde]
model = "first_order"
[sweep]
"noise.sigma" = [0.5, 1.0]
)";

using dcsde::testing::read_file;
using dcsde::testing::without_timing_lines;

class Resume : public dcsde::testing::TempDirTest {
 protected:
  Resume() : TempDirTest("resume") {}
  void SetUp() override {
    TempDirTest::SetUp();
    write("exp.toml", kExperiment);
  }
  std::string exp() const { return (dir_ / "exp.toml").string(); }
  std::string out(const std::string& name) const { return (dir_ / name).string(); }
  // Runs with checkpoints every 30 steps and ends the process right after checkpoint n.
  CommandResult interrupted(const std::string& name, int n) const {
    return dcsde::testing::run_dcsde("run " + exp() + " --out " + out(name) +
                                     " --quiet --no-plot --set run.checkpoint_every=30" +
                                     " --exit-after-checkpoint " + std::to_string(n));
  }
};

TEST_F(Resume, ContinuesBitIdenticallyFromEveryStageOfTheRun) {
  const CommandResult reference =
      run_dcsde("run " + exp() + " --out " + out("reference") + " --quiet --no-plot");
  ASSERT_EQ(reference.status, 0) << reference.output;
  // 200 steps / 30 = 7 checkpoints per process: interrupt in the first point's optimizer (2),
  // in the second point's optimizer (10) and in the first SDE (17).
  for (int n : {2, 10, 17}) {
    const std::string name = "run" + std::to_string(n);
    const CommandResult cut = interrupted(name, n);
    ASSERT_EQ(cut.status, 75) << cut.output;
    ASSERT_TRUE(fs::exists(out(name) + ".checkpoint/exp.toml"));
    ASSERT_FALSE(fs::exists(out(name))) << "an interrupted run must not leave results";
    const CommandResult resumed = run_dcsde("run --resume " + out(name) + " --quiet --no-plot");
    ASSERT_EQ(resumed.status, 0) << resumed.output;
    EXPECT_FALSE(fs::exists(out(name) + ".checkpoint")) << "removed once the run completes";
    for (const char* point : {"000-noise.sigma_0.5", "001-noise.sigma_1"}) {
      const fs::path curves = fs::path("points") / point / "curves.csv";
      ASSERT_TRUE(fs::exists(fs::path(out("reference")) / curves)) << curves;
      const std::string reference_curves = read_file(fs::path(out("reference")) / curves);
      EXPECT_NE(reference_curves.find(",loss_median,loss_q05,loss_q25,loss_q75,loss_q95\n"),
                std::string::npos)
          << "the quantiles are part of what must match";
      EXPECT_EQ(reference_curves, read_file(fs::path(out(name)) / curves))
          << "interrupted after checkpoint " << n << ": " << curves;
    }
    EXPECT_EQ(without_timing_lines(read_file(fs::path(out("reference")) / "summary.json")),
              without_timing_lines(read_file(fs::path(out(name)) / "summary.json")))
        << "interrupted after checkpoint " << n;
  }
}

TEST_F(Resume, RefusesWhatItCannotResume) {
  // Nothing to resume.
  CommandResult r = run_dcsde("run --resume " + out("none"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("no interrupted run to resume"), std::string::npos) << r.output;
  // A fresh run over the checkpoints of an interrupted one.
  ASSERT_EQ(interrupted("cut", 1).status, 75);
  r = run_dcsde("run " + exp() + " --out " + out("cut") +
                " --quiet --no-plot --set run.checkpoint_every=30");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("dcsde run --resume"), std::string::npos) << r.output;
  // A resume that would change the experiment.
  r = run_dcsde("run --resume " + out("cut") + " --set noise.sigma=2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("its own experiment"), std::string::npos) << r.output;
  // A truncated checkpoint names the file; its last bytes are no longer its checksum.
  const fs::path file = fs::path(out("cut") + ".checkpoint") / "point-000-optimizer.ckpt";
  ASSERT_TRUE(fs::exists(file));
  fs::resize_file(file, fs::file_size(file) / 2);
  r = run_dcsde("run --resume " + out("cut") + " --quiet --no-plot");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("point-000-optimizer.ckpt: corrupted (checksum mismatch"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out("cut"))) << "no results from a failed resume";
  // A checkpoint of another experiment (edited exp.toml) is refused by its fingerprint.
  ASSERT_EQ(interrupted("other", 1).status, 75);
  const fs::path toml = fs::path(out("other") + ".checkpoint") / "exp.toml";
  std::string text = read_file(toml);
  text.replace(text.find("seed = 3"), 8, "seed = 4");
  std::ofstream(toml) << text;
  r = run_dcsde("run --resume " + out("other") + " --quiet --no-plot");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("belongs to another experiment"), std::string::npos) << r.output;
}

TEST_F(Resume, RefusesACheckpointWithOneFlippedBit) {
  ASSERT_EQ(interrupted("flip", 1).status, 75);
  const fs::path file = fs::path(out("flip") + ".checkpoint") / "point-000-optimizer.ckpt";
  ASSERT_TRUE(fs::exists(file));
  {  // one bit in the middle of the file: a replica state (12 x 40 doubles fill most of it)
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    const auto middle = static_cast<std::streamoff>(fs::file_size(file) / 2);
    f.seekg(middle);
    const char c = static_cast<char>(f.get() ^ 0x10);
    f.seekp(middle);
    f.put(c);
  }
  const CommandResult r = run_dcsde("run --resume " + out("flip") + " --quiet --no-plot");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(file.string() + ": corrupted (checksum mismatch"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(out("flip"))) << "no results from a corrupted checkpoint";
}

TEST_F(Resume, CheckpointEveryMustBeNonNegative) {
  const CommandResult r = run_dcsde("validate " + exp() + " --set run.checkpoint_every=-1");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("checkpoint_every >= 0"), std::string::npos) << r.output;
}

}  // namespace
