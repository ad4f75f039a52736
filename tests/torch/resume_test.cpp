// A network run ended abruptly right after a checkpoint continues, with dcsde run --resume, to
// results bit-identical to the uninterrupted run (parameters, minibatch streams, held-out
// metrics).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/command.hpp"
#include "../support/files.hpp"
#include "datasets.hpp"

namespace fs = std::filesystem;
using dcsde::testing::CommandResult;

namespace {

const char* kExperiment = R"([problem]
objective = "torch"
model = "mlp"
dataset = "fashion_mnist"
width = 16
depth = 1
full_batch = 64
test_examples = 100
[noise]
kind = "minibatch"
batch = 8
[agents]
count = 3
[compressor]
kind = "rand_k"
k = 500
[method]
kind = "dcsgd"
lr = 0.1
steps = 24
[run]
replicas = 3
block_size = 2
seed = 5
record_every = 5
threads = 1
checkpoint_every = 10
)";

using dcsde::testing::read_file;
using dcsde::testing::without_timing_lines;

TEST(TorchResume, ContinuesBitIdentically) {
  if (!dcsde::torch_networks::fashion_mnist_installed())
    GTEST_SKIP() << "install dataset-fashion-mnist (scripts/setup --with-torch)";
  const fs::path dir = fs::temp_directory_path() / "dcsde_torch_resume";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "net.toml") << kExperiment;
  const std::string common = (dir / "net.toml").string() + " --quiet --no-plot --out ";
  const CommandResult reference =
      dcsde::testing::run_dcsde("run " + common + (dir / "reference").string());
  ASSERT_EQ(reference.status, 0) << reference.output;
  const CommandResult cut = dcsde::testing::run_dcsde("run " + common + (dir / "cut").string() +
                                                      " --exit-after-checkpoint 1");
  ASSERT_EQ(cut.status, 75) << cut.output;
  const CommandResult resumed =
      dcsde::testing::run_dcsde("run --resume " + (dir / "cut").string() + " --quiet --no-plot");
  ASSERT_EQ(resumed.status, 0) << resumed.output;
  EXPECT_EQ(read_file(dir / "reference" / "curves.csv"), read_file(dir / "cut" / "curves.csv"));
  const std::string summary = without_timing_lines(read_file(dir / "cut" / "summary.json"));
  EXPECT_EQ(without_timing_lines(read_file(dir / "reference" / "summary.json")), summary);
  EXPECT_NE(summary.find("test_accuracy"), std::string::npos) << summary;
  fs::remove_all(dir);
}

}  // namespace
