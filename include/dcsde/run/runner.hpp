// Runner: R replicas of a Process for a number of steps, batched, threaded and reproducible
// (DESIGN.md "Runner"; odeint's integrate driver, ensmallen's Optimize).
//
// Replicas are cut into fixed-size column blocks (`block_size`, independent of the thread
// count). Each block runs its whole trajectory with its state resident in cache; OpenMP
// distributes blocks over threads. Every random draw is named by (seed, replica, agent,
// purpose, step), and per-record statistics are merged block by block in block order, so the
// results are bit-identical for any number of threads. The loss quantiles are order statistics
// of every live replica's loss, kept per record (R x records doubles) and selected at the end
// (run/order_statistics.hpp): they depend on neither the threads nor the block size.
//
// A replica whose state (or loss) becomes non-finite, or whose recorded loss, gradient norm or
// ||x||^2 exceeds 1e150 (their squares would overflow the statistics), is frozen at that step: it
// is counted as diverged, its step is reported, and every aggregate afterwards covers the live
// replicas only and says how many they are (`alive`). Nothing in a summary is NaN: an aggregate
// over zero live replicas is absent.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dcsde/core/kind.hpp"
#include "dcsde/core/types.hpp"
#include "dcsde/run/checkpoint.hpp"
#include "dcsde/run/process.hpp"

namespace dcsde {

struct RunOptions {
  Index replicas = 100;
  std::int64_t steps = 1000;
  std::int64_t record_every = 10;  // record steps 0, K, 2K, ... and the last step
  std::uint64_t seed = 0;
  int threads = 0;        // 0: all cores
  Index block_size = 16;  // replicas per block; part of the numbers' identity, not a tuning knob
  double tail_fraction = 0.1;  // asymptotic loss = mean over the last 10% of records
  // Save the runner's state every K steps (0: never) to the CheckpointFile given to run_process.
  std::int64_t checkpoint_every = 0;
};

// What a table and a plot show of the loss over the live replicas: the mean (with its standard
// error) or the median (with its inter-quartile range), [output] statistic.
enum class Statistic { kMean, kMedian };
struct StatisticSpec {
  Statistic kind;
  std::string_view name, meaning;
};
std::span<const StatisticSpec> kind_specs(Statistic);

// One row per recorded step, over the replicas alive at that step.
struct Curves {
  std::vector<std::int64_t> step;
  std::vector<double> time;  // mean over live replicas of sum_{j<k} h_j
  std::vector<double> loss_mean, loss_std, grad_norm_mean;
  std::vector<double> sq_norm_mean,
      sq_norm_std;  // ||x||^2, the second test function of the weak error
  std::vector<Index> alive;
  // Quantiles of the loss over the live replicas (run/order_statistics.hpp: numpy's "linear"
  // definition): q = 0.5, 0.05, 0.25, 0.75, 0.95. Unlike the mean they exist for any law, e.g.
  // under Student-t noise with nu <= 2.
  std::vector<double> loss_median, loss_q05, loss_q25, loss_q75, loss_q95;
};

enum class RunStatus { kCompleted, kSomeDiverged, kAllDiverged };
const char* to_string(RunStatus status);

struct Divergence {
  Index replica;
  std::int64_t step;  // first step at which the state or loss was non-finite
};

struct ProcessSummary {
  std::string process;
  RunStatus status = RunStatus::kCompleted;
  std::string message;
  Index replicas = 0;
  Index diverged = 0;
  std::optional<std::int64_t> first_divergence_step;
  std::vector<Divergence> divergences;  // sorted by replica
  // At the last recorded step, over live replicas (absent when none is alive).
  std::optional<double> final_loss_mean, final_loss_std, final_loss_sem, final_grad_norm_mean;
  std::optional<double> final_loss_median, final_loss_q05, final_loss_q25, final_loss_q75,
      final_loss_q95;
  // The distribution-free 95% interval of the median from two order statistics
  // (order_statistics.hpp median_interval); absent with fewer than 6 live replicas.
  std::optional<std::pair<double, double>> final_loss_median_ci95;
  // Mean over the tail records of each live replica, then mean and standard error over replicas,
  // and the median over replicas of the same per-replica tail means.
  std::optional<double> asymptotic_loss_mean, asymptotic_loss_sem, asymptotic_loss_median;
  std::int64_t asymptotic_records = 0;
  // Objective::evaluate at the last step (test_loss, test_accuracy, ...), mean over the live
  // replicas; empty for objectives without held-out data or when none is alive.
  std::vector<std::pair<std::string, double>> final_metrics;
  double bits_per_agent_per_step = 0.0;
  double wall_seconds = 0.0;
  // CPU time of the process during the run, all threads (std::clock): unlike wall_seconds, not
  // inflated when other programs share the cores (bench/compare_reference.py compares it).
  double cpu_seconds = 0.0;
  Curves curves;
  // Steps run: options.steps, or fewer when a StopRule ended the run early (stopped_early); the
  // curves then end at the last record step reached, and the final and asymptotic values, which
  // belong to the last step, are absent.
  std::int64_t steps_run = 0;
  bool stopped_early = false;

  std::string brief() const;  // one line, e.g. for logs
};

// Progress callback: (replica-steps done, replica-steps total). Called from a helper thread.
using ProgressCallback = std::function<void(std::int64_t done, std::int64_t total)>;

// Asks a run whether it can end before options.steps (an observer with a Stop answer; odeint's
// integrate_* checks, Ceres' CALLBACK_RETURN_TYPE). All blocks advance in lockstep stretches of
// `every` steps (as with checkpoints); after each stretch, `decided(step, died_at)` gets the steps
// done and, per replica, the step at which it diverged (-1: still live), and true ends the run
// there. The divergences of a replica do not depend on which thread or block ran it, so neither
// does the step at which the run stops. `dcsde threshold` stops a probe once its verdict is
// certain (run/growth.hpp).
struct StopRule {
  std::int64_t every = 1;  // steps between questions, >= 1
  std::function<bool(std::int64_t step, std::span<const std::int64_t> died_at)> decided;
};

// Runs `options.replicas` copies of `process` from x0.
//
// With a `checkpoint` and options.checkpoint_every = K > 0, all blocks advance together K steps
// at a time and the state is saved to checkpoint->path after each stretch (run/checkpoint.hpp);
// if that file exists when the call starts, the run resumes from it and the summary is
// bit-identical to that of an uninterrupted run (wall_seconds aside). Throws IoError for an
// unreadable or foreign checkpoint; otherwise only on programmer error.
//
// With a `stop` rule the run may end before options.steps (summary.stopped_early, steps_run);
// with checkpoints too, the state is still saved every checkpoint_every steps.
ProcessSummary run_process(const Process& process, const Vector& x0, const RunOptions& options,
                           const ProgressCallback& progress = {},
                           const CheckpointFile* checkpoint = nullptr,
                           const StopRule* stop = nullptr);

}  // namespace dcsde
