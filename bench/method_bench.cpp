// One step of each method on a block of replicas (Google Benchmark).
// Reports replica-steps per second and, as "coord/s", agent-coordinates per second.
#include <benchmark/benchmark.h>

#include "dcsde/config/experiment.hpp"

namespace dcsde {
namespace {

void BM_MethodStep(benchmark::State& state, const std::string& method,
                   const std::string& compressor, const std::string& noise) {
  const Index d = state.range(0);
  const Index cols = 16;
  const std::string toml = "[problem]\nobjective = \"quadratic\"\ndim = " + std::to_string(d) +
                           "\n[noise]\nkind = \"" + noise + "\"\nnu = 1.5\n[agents]\ncount = 8\n" +
                           "[compressor]\nkind = \"" + compressor +
                           "\"\nk = " + std::to_string(d / 10) + "\n[method]\nkind = \"" + method +
                           "\"\nlr = 0.01\nsteps = 1\n";
  const Experiment e = parse_experiment(toml, "bench.toml").points[0].experiment;
  const Assembled a = assemble(e);
  MethodWorkspace ws;
  ws.resize(d, cols);
  Batch X = Batch::Ones(d, cols);
  RowVector h(cols);
  std::int64_t k = 0;
  for (auto _ : state) {
    a.method->step(X, k++, 1, 0, ws, h);
    benchmark::DoNotOptimize(X.data());
  }
  state.SetItemsProcessed(state.iterations() * cols);
  state.counters["coord/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * cols * d * 8), benchmark::Counter::kIsRate);
}

// The floor: only drawing the d x 16 x 8 standard normals one Gaussian step needs, from the same
// streams. method time / floor time is the overhead of everything else.
void BM_NormalFloor(benchmark::State& state) {
  const Index d = state.range(0);
  const Index cols = 16;
  Batch Z(d, cols);
  std::uint64_t k = 0;
  for (auto _ : state) {
    for (std::uint32_t agent = 0; agent < 8; ++agent) {
      for (Index c = 0; c < cols; ++c) {
        Philox rng(1, static_cast<std::uint64_t>(c), agent, Purpose::kNoise, k);
        rng.normals(Z.col(c).data(), d);
      }
    }
    ++k;
    benchmark::DoNotOptimize(Z.data());
  }
  state.SetItemsProcessed(state.iterations() * cols);
  state.counters["coord/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * cols * d * 8), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NormalFloor)->Arg(100)->Arg(10000);

BENCHMARK_CAPTURE(BM_MethodStep, dsgd_gaussian, "dsgd", "identity", "gaussian")
    ->Arg(100)
    ->Arg(10000);
BENCHMARK_CAPTURE(BM_MethodStep, dcsgd_randk_gaussian, "dcsgd", "rand_k", "gaussian")
    ->Arg(100)
    ->Arg(10000);
BENCHMARK_CAPTURE(BM_MethodStep, dcsgd_bernoulli_gaussian, "dcsgd", "bernoulli", "gaussian")
    ->Arg(100)
    ->Arg(10000);
BENCHMARK_CAPTURE(BM_MethodStep, dcsgd_qsgd_gaussian, "dcsgd", "qsgd", "gaussian")
    ->Arg(100)
    ->Arg(10000);
BENCHMARK_CAPTURE(BM_MethodStep, dsignsgd_student_t, "dsignsgd", "sign", "student_t")
    ->Arg(100)
    ->Arg(10000);
BENCHMARK_CAPTURE(BM_MethodStep, dsignsgd_gaussian, "dsignsgd", "sign", "gaussian")
    ->Arg(100)
    ->Arg(10000);
BENCHMARK_CAPTURE(BM_MethodStep, majority_vote_gaussian, "majority_vote", "sign", "gaussian")
    ->Arg(100);
BENCHMARK_CAPTURE(BM_MethodStep, nsgd_gaussian, "nsgd", "identity", "gaussian")->Arg(100);

}  // namespace
}  // namespace dcsde

BENCHMARK_MAIN();
