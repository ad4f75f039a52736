// The floor of the three workloads of docs/performance.md (issue 8, target 2): the time this
// build takes, on one thread, just to draw the random numbers a workload needs, from the same
// streams and through the same calls as the run, and nothing else.
//   (a) DCSGD rand-k: per replica, step and agent, the k kept coordinates (a partial Fisher-Yates
//       shuffle: k bounded integers) and the k Gaussian noise values there (method.hpp's sparse
//       path draws no others).
//   (b) DSignSGD, Student-t, signs drawn from their law (method.sign_draw = "law"): per replica,
//       step and agent, d 32-bit words (d/2 words of the stream; noise/sign_law.hpp).
//   (B) The same with the noise drawn (sign_draw = "noise"): per replica, step and agent, d
//       Student-t values (nu = 1.5).
//   (c) The Euler-Maruyama SDE of (a): per replica and step, 2d standard normals.
// Usage: workload_floor {a,b,B,c} [replicas] [steps]; prints one JSON line. The sizes are those of
// bench/workloads/*.toml (d = 100, N = 8, k = 10).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/core/rng.hpp"

int main(int argc, char** argv) {
  using namespace dcsde;
  if (argc < 2 || std::strlen(argv[1]) != 1 || std::strchr("abBc", argv[1][0]) == nullptr) {
    std::fprintf(stderr, "usage: workload_floor {a,b,B,c} [replicas] [steps]\n");
    return 2;
  }
  const char workload = argv[1][0];
  const std::uint64_t replicas = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  const std::uint64_t steps = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 2000;
  const Index d = 100, k = 10, block = 16;  // block: the runner's columns per block
  const std::uint32_t agents = 8;
  const std::uint64_t seed = 1;
  const RandKCompressor rand_k(k);
  std::vector<double> values(static_cast<std::size_t>(block * 2 * d));
  std::vector<std::uint64_t> words(static_cast<std::size_t>(d));
  std::vector<std::uint32_t> kept(static_cast<std::size_t>(block * d)), column(kept.size());
  std::vector<Index> count(static_cast<std::size_t>(block));
  double sink = 0.0;
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  for (std::uint64_t first = 0; first < replicas; first += block) {
    const auto cols = static_cast<Index>(std::min<std::uint64_t>(block, replicas - first));
    for (std::uint64_t step = 0; step < steps; ++step) {
      if (workload == 'c') {
        for (Index c = 0; c < cols; ++c) {
          Philox(seed, first + static_cast<std::uint64_t>(c), 0, Purpose::kBrownian, step)
              .normals(values.data(), 2 * d);
          sink += values[0];
        }
        continue;
      }
      for (std::uint32_t a = 0; a < agents; ++a) {
        const DrawContext ctx{.seed = seed, .first_replica = first, .agent = a, .step = step};
        if (workload == 'a') {  // as Method::step's sparse path: subsets, then one noise draw
          rand_k.kept_coordinates(d, ctx, 0, cols, kept.data(), count.data());
          const Index n = cols * k;
          for (Index i = 0; i < n; ++i)
            column[static_cast<std::size_t>(i)] = static_cast<std::uint32_t>(i / k);
          ctx.normals_at(Purpose::kNoise, column.data(), kept.data(), n, values.data());
        } else if (workload == 'b') {
          for (Index c = 0; c < cols; ++c)
            ctx.stream(c, Purpose::kNoise).words(words.data(), (d + 1) / 2);
          sink += static_cast<double>(words[0] & 1);
        } else {
          for (Index c = 0; c < cols; ++c)
            ctx.stream(c, Purpose::kNoise).student_ts(values.data(), d, 1.5);
        }
        sink += values[0];
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  std::printf(
      "{\"workload\": \"%c\", \"replicas\": %llu, \"steps\": %llu, \"seconds\": %.6f, "
      "\"cpu_seconds\": %.6f, "
      "\"kernels\": \"%s\", \"checksum\": %.17g}\n",
      workload, static_cast<unsigned long long>(replicas), static_cast<unsigned long long>(steps),
      seconds, cpu_seconds, detail::rng_kernels().name, sink);
  return 0;
}
