// dist_exchange: the cost of one step's exchange over MPI, per method, against the fp32
// MPI_Allreduce that uncompressed data-parallel SGD would do. Run it under mpirun
// (bench/dist_exchange.sh runs 2 and 4 ranks and prints docs/distributed.md's table).
//
// One agent per rank and one replica column, gradient g ~ N(0, I_d). Each row times, per step,
//   collective: the MPI calls alone (what dcsde reports as comm_seconds);
//   exchange:   encode this rank's message + collective + decode every message + sum
//               (a barrier, not timed, separates encoding from the collective, so that the
//               collective does not include waiting for a slower rank's encoder),
// with the code the DistributedOptimizerProcess runs (SegmentWriter, allgather_known or
// allgather_segments, decode_and_sum). Each repetition starts after a barrier; a repetition's
// time is the largest over ranks, and the table shows the median over repetitions.
//
// Usage: mpirun -np R dist_exchange [--dims 100000,1000000,10000000] [--reps N]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dcsde/compress/compressor.hpp"
#include "dcsde/dist/messages.hpp"
#include "dcsde/dist/session.hpp"

namespace {

using dcsde::Batch;
using dcsde::Index;
namespace dist = dcsde::dist;

struct Timing {
  double collective = 0.0, exchange = 0.0;
};

// Median over repetitions of the slowest rank's time.
Timing measure(const dist::Session& session, int reps, const std::function<Timing()>& once) {
  std::vector<double> collective, exchange;
  once();  // warm-up: buffers, first-touch pages, connections
  for (int i = 0; i < reps; ++i) {
    dist::barrier(session);
    const Timing t = once();
    collective.push_back(session.max_over_ranks(t.collective));
    exchange.push_back(session.max_over_ranks(t.exchange));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return {median(collective), median(exchange)};
}

void row(const dist::Session& session, const std::string& method, Index d, double bytes,
         Index d_fp32, const Timing& t) {
  if (session.rank() != 0) return;
  std::printf("| %-26s | %9lld | %5d | %16.0f | %8.4f | %10.3f | %10.3f |\n", method.c_str(),
              static_cast<long long>(d), session.size(), bytes,
              bytes / (4.0 * static_cast<double>(d_fp32)), 1e3 * t.collective, 1e3 * t.exchange);
  std::fflush(stdout);
}

std::vector<Index> parse_dims(const std::string& text) {
  std::vector<Index> dims;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t comma = text.find(',', at);
    dims.push_back(std::stoll(text.substr(at, comma - at)));
    at = comma == std::string::npos ? text.size() : comma + 1;
  }
  return dims;
}

void bench_dimension(const dist::Session& session, Index d, int reps) {
  const int ranks = session.size();
  const int rank = session.rank();
  // This rank's gradient; every rank draws its own agent's stream.
  dcsde::Vector g(d);
  dcsde::Philox rng(7, 0, static_cast<std::uint32_t>(rank), dcsde::Purpose::kTest, 0);
  rng.normals(g.data(), d);

  {  // The reference: DSGD's fp32 allreduce.
    std::vector<float> buffer(static_cast<std::size_t>(d));
    const Timing t = measure(session, reps, [&] {
      std::transform(g.data(), g.data() + d, buffer.begin(),
                     [](double x) { return static_cast<float>(x); });
      const double t0 = dist::wall_time();
      dist::allreduce_sum(session, std::span<float>(buffer));
      const double t1 = dist::wall_time();
      return Timing{t1 - t0, t1 - t0};
    });
    row(session, "dsgd fp32 allreduce (ref)", d, 4.0 * static_cast<double>(d), d, t);
  }
  {  // --exchange allreduce: fp64 partial sums.
    dcsde::Vector buffer(d);
    const Timing t = measure(session, reps, [&] {
      buffer = g;
      const double t0 = dist::wall_time();
      dist::allreduce_sum(session, std::span<double>(buffer.data(), static_cast<std::size_t>(d)));
      const double t1 = dist::wall_time();
      return Timing{t1 - t0, t1 - t0};
    });
    row(session, "dsgd fp64 allreduce", d, 8.0 * static_cast<double>(d), d, t);
  }

  struct Kind {
    std::string label;
    dcsde::CompressorOptions options;
  };
  using dcsde::CompressorKind;
  const std::vector<Kind> kinds = {
      {"dsgd identity gather", {.kind = CompressorKind::kIdentity}},
      {"sign (dsignsgd)", {.kind = CompressorKind::kSign}},
      {"rand_k k=d/100 (dcsgd)",
       {.kind = CompressorKind::kRandK, .k = std::max<Index>(1, d / 100)}},
      {"qsgd s=1 (dcsgd)", {.kind = CompressorKind::kQsgd, .levels = 1}},
  };
  const dist::AgentPartition partition{ranks, ranks};
  std::vector<std::uint8_t> segment, overflow, all, overflow_all;
  std::vector<std::uint64_t> offsets, sizes(static_cast<std::size_t>(ranks));
  const std::vector<std::uint64_t> no_overflow(static_cast<std::size_t>(ranks) + 1, 0);
  Batch scratch(d, 1), direction(d, 1);
  for (const Kind& kind : kinds) {
    const auto compressor = dcsde::make_compressor(kind.options, d);
    const std::uint64_t fixed =
        compressor->fixed_size()
            ? static_cast<std::uint64_t>((compressor->message_bits(d) + 7.0) / 8.0)
            : 0;
    std::uint64_t payload = 0;
    const Timing t = measure(session, reps, [&] {
      const double t0 = dist::wall_time();
      {
        dist::SegmentWriter writer(segment, overflow, 1, fixed);
        writer.add(*compressor, g, dcsde::DrawContext{7, 0, static_cast<std::uint32_t>(rank), 0},
                   0);
      }
      const double t1_encoded = dist::wall_time();
      // Not timed: without it the collective would include waiting for a slower encoder.
      dist::barrier(session);
      const double t1 = dist::wall_time();
      if (fixed > 0) {
        for (int r = 0; r < ranks; ++r)
          sizes[static_cast<std::size_t>(r)] = dist::fixed_segment_bytes(partition, r, 1, fixed);
        dist::allgather_known(session, segment, sizes, all, offsets);
      } else {
        dist::allgather_segments(session, segment, all, offsets);
      }
      const double t2 = dist::wall_time();
      const dist::SegmentTotals totals =
          dist::decode_and_sum(*compressor, {all, offsets, overflow_all, no_overflow}, partition,
                               {0, 0, 1}, scratch, direction);
      const double t3 = dist::wall_time();
      payload = totals.payload_bytes / static_cast<std::uint64_t>(ranks);
      return Timing{t2 - t1, (t1_encoded - t0) + (t3 - t1)};
    });
    row(session, kind.label, d, static_cast<double>(payload), d, t);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Index> dims = {100000, 1000000, 10000000};
  int reps = 0;  // 0: by dimension
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--dims") {
      dims = parse_dims(argv[i + 1]);
    } else if (flag == "--reps") {
      reps = std::atoi(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: dist_exchange [--dims d1,d2,...] [--reps N]\n");
      return 2;
    }
  }
  dist::Session session;
  if (session.rank() == 0) {
    std::printf(
        "| method                     |         d | ranks | bytes/agent/step |   / fp32 | "
        "coll. (ms) | exch. (ms) |\n|---|---:|---:|---:|---:|---:|---:|\n");
  }
  for (Index d : dims) {
    const int n = reps > 0 ? reps : (d <= 100000 ? 30 : d <= 1000000 ? 10 : 5);
    bench_dimension(session, d, n);
  }
  return 0;
}
