// Internal: the state of run_process (run/runner.hpp) between stretches of steps, what a
// checkpoint saves of it, and the pieces the runner is made of: one block's trajectory
// (runner.cpp) and the summary of all blocks (summary.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dcsde/run/runner.hpp"

namespace dcsde::detail {

// Running count, mean and sum of squared deviations (Welford), mergeable in a fixed order
// (Chan et al.) so that block-wise partial statistics combine to thread-independent totals.
struct Moments {
  Index n = 0;
  double mean = 0.0, m2 = 0.0;        // loss
  double sq_mean = 0.0, sq_m2 = 0.0;  // ||x||^2
  double grad_sum = 0.0, time_sum = 0.0;

  void add(double loss, double sq_norm, double grad_norm, double time) {
    ++n;
    const double inv = 1.0 / static_cast<double>(n);
    const double delta = loss - mean;
    mean += delta * inv;
    m2 += delta * (loss - mean);
    const double sq_delta = sq_norm - sq_mean;
    sq_mean += sq_delta * inv;
    sq_m2 += sq_delta * (sq_norm - sq_mean);
    grad_sum += grad_norm;
    time_sum += time;
  }
  void merge(const Moments& o) {
    if (o.n == 0) return;
    const double n1 = static_cast<double>(n), n2 = static_cast<double>(o.n);
    const double total = n1 + n2;
    const double delta = o.mean - mean;
    mean += delta * n2 / total;
    m2 += o.m2 + delta * delta * n1 * n2 / total;
    const double sq_delta = o.sq_mean - sq_mean;
    sq_mean += sq_delta * n2 / total;
    sq_m2 += o.sq_m2 + sq_delta * sq_delta * n1 * n2 / total;
    n += o.n;
    grad_sum += o.grad_sum;
    time_sum += o.time_sum;
  }
};

// The sizes of a run: replicas in blocks, the record steps, the tail of the asymptotic loss.
struct RunShape {
  Index d = 0, replicas = 0, block = 0, n_blocks = 0;
  std::vector<std::int64_t> records;  // steps 0, K, 2K, ... and the last
  Index n_rec = 0, tail = 0, tail_start = 0;
  RunShape(Index dim, const RunOptions& options);
};

// One block of replicas between stretches of steps: what a checkpoint saves of it.
struct BlockState {
  Batch X;
  RowVector time;
  std::vector<std::uint8_t> alive;
  Index next_record = 0;  // index of the next record step not yet recorded
};

// The fields of a checkpoint, in file order (run/checkpoint.hpp).
struct RunnerState {
  std::int64_t step = 0;  // every block has done this many steps
  std::vector<BlockState> blocks;
  std::vector<Moments> moments;
  // losses[r * replicas + i]: replica i's loss at record r, NaN where the replica was not live
  // there (a recorded loss is never NaN: it would have frozen the replica). Exact order
  // statistics (run/order_statistics.hpp) need every value, not a mergeable summary; each block
  // writes its own replicas, and summarize reads them in replica order.
  std::vector<double> losses;
  std::vector<double> tail_mean;
  std::vector<std::int64_t> died_at;
};

// Held-out metrics of each replica's final state (objectives with data, e.g. torch).
using FinalMetrics = std::vector<std::vector<std::pair<std::string, double>>>;

// The summary of a finished run: curves merged block by block in block order, divergences,
// final and asymptotic values over the live replicas, held-out metrics, status and message.
ProcessSummary summarize(const Process& process, const RunShape& shape, const RunnerState& state,
                         const FinalMetrics& final_metrics);

}  // namespace dcsde::detail
