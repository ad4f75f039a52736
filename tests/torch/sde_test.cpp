// The SDE on a network (papers.md 0, Thm 1): DSGD with Gaussian noise injected into the
// full-batch gradient. Its Euler-Maruyama chain with dt = eta has exactly the optimizer's law
// (x - eta grad f(x) + eta/N sum_i Z_i is Gaussian with the SDE step's mean and covariance), so
// optimizer and SDE must agree within Monte Carlo error on f and on ||x||^2. ||x||^2 grows by
// about d eta^2 sigma^2 / N per step (d ~ 13k here), so a diffusion off by any constant factor is
// many standard errors away.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../support/command.hpp"
#include "datasets.hpp"

namespace fs = std::filesystem;

namespace {

const char* kExperiment = R"([problem]
objective = "torch"
model = "mlp"
dataset = "fashion_mnist"
width = 16
depth = 1
full_batch = 64
test_examples = 0
precision = "float64"
[noise]
kind = "gaussian"
sigma = 1.0
[agents]
count = 4
[method]
kind = "dsgd"
lr = 0.1
steps = 20
[compressor]
kind = "identity"
[run]
replicas = 32
seed = 2
record_every = 5
[sde]
model = "first_order"
)";

TEST(TorchSde, TracksTheOptimizerOnAnMlp) {
  if (!dcsde::torch_networks::fashion_mnist_installed())
    GTEST_SKIP() << "install dataset-fashion-mnist (scripts/setup --with-torch)";
  const fs::path dir = fs::temp_directory_path() / "dcsde_torch_sde";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "sde.toml") << kExperiment;
  const auto r = dcsde::testing::run_dcsde("run " + (dir / "sde.toml").string() + " --out " +
                                           (dir / "out").string() + " --quiet --no-plot");
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream in(dir / "out" / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(in);
  EXPECT_EQ(summary["processes"]["sde"]["law"], "closed_form");
  for (const char* g : {"loss", "sq_norm"}) {
    const auto& w = summary["weak_error"][g];
    // The maximum over 5 records of |difference| of two independent means: 4 standard errors.
    EXPECT_LT(w["value"].get<double>(), 4.0 * w["sem"].get<double>()) << g << ": " << w.dump();
  }
  fs::remove_all(dir);
}

}  // namespace
