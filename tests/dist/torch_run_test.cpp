// objective = "torch" over MPI: a LibTorch MLP on Fashion-MNIST with per-agent minibatches gives
// the local backend's curves and summaries byte for byte on 2 ranks (uneven split of 3 agents),
// for a fixed-size format (rand-k) and a variable-size one (sign, majority vote). Skipped, with
// the reason, when the dcsde under test was built without LibTorch or the dataset is missing.
#ifdef DCSDE_HAVE_MPI

#include "dist_test_util.hpp"

namespace dcsde::testing_dist {
namespace {

// Debian's dataset-fashion-mnist (the default problem.data_path).
constexpr const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

// d = 12730 (784 x 16 MLP, one hidden layer), 3 agents, 3 replicas in blocks of 2.
const char* kTorchSweep = R"([experiment]
name = "dist_torch"
[problem]
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
k = 127
[method]
kind = "dcsgd"
lr = 0.05
steps = 12
[run]
replicas = 3
block_size = 2
record_every = 4
seed = 5
[output]
plot = false
[sweep]
method = [
  { label = "dcsgd rand_k", "method.kind" = "dcsgd", "compressor.kind" = "rand_k" },
  { label = "majority_vote", "method.kind" = "majority_vote", "compressor.kind" = "sign" },
]
)";

TEST_F(MpiRun, TorchMlpIsBitIdenticalToLocalOn2Ranks) {
  for (const char* file : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    if (!fs::exists(fs::path(kFashionMnist) / file)) {
      GTEST_SKIP() << "Fashion-MNIST is not installed (" << kFashionMnist << "/" << file
                   << " is missing): install dataset-fashion-mnist (scripts/setup --with-torch)";
    }
  }
  const Result local = try_local(kTorchSweep);
  if (local.status != 0 && local.output.find("built without LibTorch") != std::string::npos) {
    GTEST_SKIP() << "this dcsde was built without LibTorch (objective = 'torch' unavailable): "
                 << local.output;
  }
  ASSERT_EQ(local.status, 0) << local.output;
  const Result r = run_mpi(2, "out_np2");
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same_results(dir_ / "out_local", dir_ / "out_np2");
  for (const auto& point : summary(dir_ / "out_np2" / "summary.json")["points"]) {
    const auto& p = point["processes"]["optimizer"];
    EXPECT_EQ(p["communication"]["ranks"], 2);
    EXPECT_EQ(p["communication"]["messages"], 3 * 3 * 12);
    // The held-out metrics of the torch objective are part of the compared summary.
    EXPECT_TRUE(p["final"].contains("test_accuracy")) << p["final"];
  }
}

}  // namespace
}  // namespace dcsde::testing_dist

#endif  // DCSDE_HAVE_MPI
