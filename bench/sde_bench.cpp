// One SDE step against one optimizer step of the same method on the same problem, both batched
// over a block of 16 replicas (issue: an SDE step costs at most about one optimizer step).
#include <benchmark/benchmark.h>

#include "dcsde/config/experiment.hpp"

namespace dcsde {
namespace {

void BM_Step(benchmark::State& state, const std::string& method, const std::string& noise,
             bool sde) {
  const Index d = 100, cols = 16;
  const std::string toml = "[problem]\nobjective = \"quadratic\"\ndim = 100\n[noise]\n" + noise +
                           "\n[agents]\ncount = 8\n" + method + "\nlr = 0.01\nsteps = 1\n[sde]\n";
  const Experiment e = parse_experiment(toml, "bench.toml").points[0].experiment;
  const Assembled a = assemble(e);
  OptimizerProcess optimizer(*a.method);
  const Process& process = sde ? static_cast<const Process&>(*a.sde) : optimizer;
  auto ws = process.make_workspace(cols);
  Batch X = Batch::Ones(d, cols);
  RowVector h(cols);
  std::int64_t k = 0;
  for (auto _ : state) {
    process.step(X, k++, 1, 0, *ws, h);
    benchmark::DoNotOptimize(X.data());
  }
  state.SetItemsProcessed(state.iterations() * cols);
}

const char* kGaussian = "kind = \"gaussian\"";
const char* kCauchy = "kind = \"student_t\"\nnu = 1.0";
const char* kRandK = "[compressor]\nkind = \"rand_k\"\nk = 10\n[method]\nkind = \"dcsgd\"";
const char* kBernoulli = "[compressor]\nkind = \"bernoulli\"\np = 0.1\n[method]\nkind = \"dcsgd\"";
const char* kSign = "[method]\nkind = \"dsignsgd\"";

BENCHMARK_CAPTURE(BM_Step, dcsgd_randk_optimizer, kRandK, kGaussian, false);
BENCHMARK_CAPTURE(BM_Step, dcsgd_randk_sde, kRandK, kGaussian, true);
BENCHMARK_CAPTURE(BM_Step, dcsgd_bernoulli_optimizer, kBernoulli, kGaussian, false);
BENCHMARK_CAPTURE(BM_Step, dcsgd_bernoulli_sde, kBernoulli, kGaussian, true);
BENCHMARK_CAPTURE(BM_Step, dsignsgd_gaussian_optimizer, kSign, kGaussian, false);
BENCHMARK_CAPTURE(BM_Step, dsignsgd_gaussian_sde, kSign, kGaussian, true);
BENCHMARK_CAPTURE(BM_Step, dsignsgd_cauchy_optimizer, kSign, kCauchy, false);
BENCHMARK_CAPTURE(BM_Step, dsignsgd_cauchy_sde, kSign, kCauchy, true);

}  // namespace
}  // namespace dcsde

BENCHMARK_MAIN();
