// Throughput of every registered compressor: apply, encode and decode of one vector at d = 1e4,
// 1e6 and 1e7, reported as bytes of input (8 d) per second. A memcpy of the same 8 d bytes runs
// beside them as the memory-bandwidth reference (at 1e7, 80 MB: beyond the last-level cache).
// bench/compress_bandwidth.py runs sign, rand_k and qsgd and prints the ratios (issue 8).
//
//   ./build/bench/compress_bench --benchmark_filter=1000000
//
// Options: rand_k and top_k keep k = d/100, bernoulli p = 0.01, qsgd s = 15 (4-bit levels),
// natural_dithering s = 8.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>
#include <vector>

#include "dcsde/compress/compressor.hpp"

namespace dcsde {
namespace {

CompressorOptions bench_options(const std::string& kind, Index d) {
  return {.kind = *kind_named<CompressorKind>(kind),
          .k = d / 100,
          .p = 0.01,
          .levels = kind == "qsgd" ? 15 : 8};
}

Vector input(Index d) {
  Philox g(1, 0, 0, Purpose::kTest, 0);
  Vector v(d);
  g.normals(v.data(), d);
  return v;
}

void set_bytes(benchmark::State& state, Index d) {
  state.SetBytesProcessed(state.iterations() * d * static_cast<std::int64_t>(sizeof(double)));
}

void bm_apply(benchmark::State& state, const std::string& kind, Index d) {
  const auto c = make_compressor(bench_options(kind, d), d);
  const Batch V = input(d);
  Batch out(d, 1);
  DrawContext ctx{7, 0, 0, 0};
  for (auto _ : state) {
    c->apply(V, ctx, out);
    ++ctx.step;
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, d);
}

void bm_encode(benchmark::State& state, const std::string& kind, Index d) {
  const auto c = make_compressor(bench_options(kind, d), d);
  const Vector v = input(d);
  std::vector<std::uint8_t> bytes;
  DrawContext ctx{7, 0, 0, 0};
  for (auto _ : state) {
    bytes.clear();
    Philox rng = ctx.stream(0, Purpose::kCompression);
    c->encode(v, rng, bytes);
    ++ctx.step;
    benchmark::DoNotOptimize(bytes.data());
    benchmark::ClobberMemory();
  }
  state.counters["msg_bytes"] = static_cast<double>(bytes.size());
  set_bytes(state, d);
}

void bm_decode(benchmark::State& state, const std::string& kind, Index d) {
  const auto c = make_compressor(bench_options(kind, d), d);
  std::vector<std::uint8_t> bytes;
  Philox rng(7, 0, 0, Purpose::kCompression, 0);
  c->encode(input(d), rng, bytes);
  Vector out(d);
  for (auto _ : state) {
    c->decode(bytes, d, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, d);
}

void bm_memcpy(benchmark::State& state, Index d) {
  const Vector v = input(d);
  Vector out(d);
  for (auto _ : state) {
    std::memcpy(out.data(), v.data(), static_cast<std::size_t>(d) * sizeof(double));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state, d);
}

void register_all() {
  for (const Index d : {Index{10000}, Index{1000000}, Index{10000000}}) {
    const std::string n = std::to_string(d);
    benchmark::RegisterBenchmark(("reference/memcpy/" + n).c_str(), bm_memcpy, d);
    for (const CompressorSpec& spec : kind_specs(CompressorKind{})) {
      const std::string kind(spec.name);
      benchmark::RegisterBenchmark((kind + "/apply/" + n).c_str(), bm_apply, kind, d);
      benchmark::RegisterBenchmark((kind + "/encode/" + n).c_str(), bm_encode, kind, d);
      benchmark::RegisterBenchmark((kind + "/decode/" + n).c_str(), bm_decode, kind, d);
    }
  }
}

}  // namespace
}  // namespace dcsde

int main(int argc, char** argv) {
  dcsde::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
