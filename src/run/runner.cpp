#include "dcsde/run/runner.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <limits>
#include <mutex>
#include <thread>

#include "dcsde/core/error.hpp"
#include "runner_state.hpp"

namespace dcsde {
using detail::BlockState;
using detail::FinalMetrics;
using detail::Moments;
using detail::RunnerState;
using detail::RunShape;
namespace {

// A recorded value beyond 1e150 (or NaN) marks its replica as diverged: the statistics square
// the values, and squares beyond ~1e308 would overflow into inf and NaN in the summary.
constexpr double kDivergedAbove = 1e150;
bool out_of_range(double v) { return !(std::abs(v) <= kDivergedAbove); }

std::vector<std::int64_t> record_steps(std::int64_t steps, std::int64_t every) {
  std::vector<std::int64_t> out;
  for (std::int64_t k = 0; k < steps; k += every) out.push_back(k);
  out.push_back(steps);
  return out;
}

// Reports progress from its own thread every `period`, so workers never block on output.
class ProgressTicker {
 public:
  ProgressTicker(const ProgressCallback& callback, std::int64_t total)
      : callback_(callback), total_(total) {
    if (callback_) thread_ = std::thread([this] { loop(); });
  }
  ~ProgressTicker() {
    if (!callback_) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    callback_(done_.load(), total_);
  }
  void add(std::int64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(200), [this] { return stop_; })) {
      callback_(done_.load(std::memory_order_relaxed), total_);
    }
  }
  ProgressCallback callback_;
  std::int64_t total_;
  std::atomic<std::int64_t> done_{0};
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kCompleted:
      return "completed";
    case RunStatus::kSomeDiverged:
      return "some_diverged";
    case RunStatus::kAllDiverged:
      return "all_diverged";
  }
  return "unknown";
}

std::string ProcessSummary::brief() const {
  std::string out = fmt::format("{}: {} replicas, {} diverged", process, replicas, diverged);
  if (final_loss_mean)
    out += fmt::format(", final loss {:.6g} +- {:.2g} (median {:.6g})", *final_loss_mean,
                       *final_loss_sem, *final_loss_median);
  if (asymptotic_loss_mean)
    out +=
        fmt::format(", asymptotic {:.6g} +- {:.2g}", *asymptotic_loss_mean, *asymptotic_loss_sem);
  return out;
}

namespace {

void save_state(const CheckpointFile& file, const RunnerState& s, Index d) {
  CheckpointWriter w(file.path, file.fingerprint);
  w.i64(s.step);
  w.u64(static_cast<std::uint64_t>(d));
  w.u64(s.blocks.size());
  w.u64(s.moments.size());
  w.u64(s.tail_mean.size());
  w.u64(s.losses.size());
  for (const BlockState& b : s.blocks) {
    w.u64(static_cast<std::uint64_t>(b.X.cols()));
    w.f64s(b.X.data(), static_cast<std::size_t>(b.X.size()));
    w.f64s(b.time.data(), static_cast<std::size_t>(b.time.size()));
    w.bytes(b.alive.data(), b.alive.size());
    w.i64(b.next_record);
  }
  for (const Moments& m : s.moments) {
    w.i64(m.n);
    for (double v : {m.mean, m.m2, m.sq_mean, m.sq_m2, m.grad_sum, m.time_sum}) w.f64(v);
  }
  w.f64s(s.tail_mean.data(), s.tail_mean.size());
  w.f64s(s.losses.data(), s.losses.size());
  for (std::int64_t k : s.died_at) w.i64(k);
  w.commit();
}

// Loads a checkpoint into `s`, whose sizes are those of this run; checks every size.
void load_state(const CheckpointFile& file, RunnerState& s, Index d, std::int64_t steps) {
  CheckpointReader r(file.path, file.fingerprint);
  s.step = r.i64("step");
  if (s.step < 0 || s.step > steps)
    throw IoError("checkpoint " + file.path.string() + ": step " + std::to_string(s.step) +
                  " is outside this run's 0.." + std::to_string(steps));
  r.expect(static_cast<std::uint64_t>(d), "dimension");
  r.expect(s.blocks.size(), "block count");
  r.expect(s.moments.size(), "record statistics count");
  r.expect(s.tail_mean.size(), "replica count");
  r.expect(s.losses.size(), "recorded loss count");
  for (BlockState& b : s.blocks) {
    r.expect(static_cast<std::uint64_t>(b.X.cols()), "block width");
    r.f64s(b.X.data(), static_cast<std::size_t>(b.X.size()), "replica states");
    r.f64s(b.time.data(), static_cast<std::size_t>(b.time.size()), "replica times");
    r.bytes(b.alive.data(), b.alive.size(), "alive flags");
    b.next_record = r.i64("next record");
  }
  for (Moments& m : s.moments) {
    m.n = r.i64("record statistics");
    for (double* v : {&m.mean, &m.m2, &m.sq_mean, &m.sq_m2, &m.grad_sum, &m.time_sum})
      *v = r.f64("record statistics");
  }
  r.f64s(s.tail_mean.data(), s.tail_mean.size(), "tail sums");
  r.f64s(s.losses.data(), s.losses.size(), "recorded losses");
  for (std::int64_t& k : s.died_at) k = r.i64("divergence steps");
  r.expect_end();
}

}  // namespace

namespace {

// Allocates block b's state (x0 in every column). Without checkpoints it is released when the
// block ends, so memory holds `threads` blocks, not all R replicas; with checkpoints every block
// lives for the whole run (d x R doubles), as the stretches need.
void start_block(RunnerState& state, Index b, const RunShape& shape, const Vector& x0) {
  BlockState& s = state.blocks[static_cast<std::size_t>(b)];
  const Index cols = std::min(shape.block, shape.replicas - b * shape.block);
  s.X = x0.replicate(1, cols);
  s.time = RowVector::Zero(cols);
  s.alive.assign(static_cast<std::size_t>(cols), 1);
}

// Advances block b from step `from` to `until`: records its statistics at the record steps,
// freezes the replicas that diverge, evaluates the final metrics at the last step.
void advance_block(const Process& process, const RunOptions& options, const RunShape& shape,
                   Index b, std::int64_t from, std::int64_t until, RunnerState& state,
                   FinalMetrics& final_metrics, ProgressTicker& ticker) {
  const Objective& objective = process.objective();
  BlockState& s = state.blocks[static_cast<std::size_t>(b)];
  Batch& X = s.X;
  const Index first = b * shape.block;
  const Index cols = X.cols();
  Batch G(shape.d, cols);
  RowVector loss(cols), grad_norm(cols), sq_norm(cols), h(cols);
  auto workspace = process.make_workspace(cols);
  auto freeze = [&](Index c, std::int64_t k) {
    s.alive[static_cast<std::size_t>(c)] = 0;
    state.died_at[static_cast<std::size_t>(first + c)] = k;
    X.col(c).setZero();  // a frozen column is excluded from every aggregate from now on
  };
  for (std::int64_t k = from;; ++k) {
    if (s.next_record < shape.n_rec &&
        k == shape.records[static_cast<std::size_t>(s.next_record)]) {
      objective.value(X, loss);
      objective.gradient(X, G);
      grad_norm = G.colwise().norm();
      sq_norm = X.colwise().squaredNorm();
      Moments& m = state.moments[static_cast<std::size_t>(b * shape.n_rec + s.next_record)];
      double* losses = state.losses.data() + s.next_record * shape.replicas + first;
      for (Index c = 0; c < cols; ++c) {
        if (!s.alive[static_cast<std::size_t>(c)]) continue;
        if (out_of_range(loss(c)) || out_of_range(grad_norm(c)) || out_of_range(sq_norm(c))) {
          freeze(c, k);
          continue;
        }
        m.add(loss(c), sq_norm(c), grad_norm(c), s.time(c));
        losses[c] = loss(c);
        if (s.next_record >= shape.tail_start)
          state.tail_mean[static_cast<std::size_t>(first + c)] += loss(c);
      }
      ++s.next_record;
    }
    if (k == options.steps) {
      for (Index c = 0; c < cols; ++c)
        if (s.alive[static_cast<std::size_t>(c)])
          final_metrics[static_cast<std::size_t>(first + c)] = objective.evaluate(X.col(c));
    }
    if (k == until) break;
    process.step(X, k, options.seed, static_cast<std::uint64_t>(first), *workspace, h);
    for (Index c = 0; c < cols; ++c) {
      if (!s.alive[static_cast<std::size_t>(c)]) continue;
      if (!std::isfinite(X.col(c).sum())) {
        freeze(c, k + 1);
      } else {
        s.time(c) += h(c);
      }
    }
    ticker.add(cols);
  }
}

}  // namespace

detail::RunShape::RunShape(Index dim, const RunOptions& options)
    : d(dim),
      replicas(options.replicas),
      block(options.block_size),
      n_blocks((options.replicas + options.block_size - 1) / options.block_size),
      records(record_steps(options.steps, options.record_every)),
      n_rec(static_cast<Index>(records.size())),
      tail(std::max<Index>(
          1, static_cast<Index>(std::ceil(options.tail_fraction * static_cast<double>(n_rec))))),
      tail_start(n_rec - tail) {}

ProcessSummary run_process(const Process& process, const Vector& x0, const RunOptions& options,
                           const ProgressCallback& progress, const CheckpointFile* checkpoint,
                           const StopRule* stop) {
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  const RunShape shape(process.objective().dim(), options);
  RunnerState state;
  state.moments.resize(static_cast<std::size_t>(shape.n_blocks * shape.n_rec));
  state.tail_mean.assign(static_cast<std::size_t>(shape.replicas), 0.0);
  state.losses.assign(static_cast<std::size_t>(shape.n_rec * shape.replicas),
                      std::numeric_limits<double>::quiet_NaN());
  state.died_at.assign(static_cast<std::size_t>(shape.replicas), -1);
  state.blocks.resize(static_cast<std::size_t>(shape.n_blocks));
  const bool checkpointing = checkpoint != nullptr && options.checkpoint_every > 0;
  if (checkpointing && std::filesystem::exists(checkpoint->path)) {
    for (Index b = 0; b < shape.n_blocks; ++b)
      start_block(state, b, shape, x0);  // the sizes the file must match
    load_state(*checkpoint, state, shape.d, options.steps);
  }
  FinalMetrics final_metrics(static_cast<std::size_t>(shape.replicas));
  const int threads = options.threads > 0 ? options.threads : omp_get_num_procs();
  ProgressTicker ticker(progress,
                        static_cast<std::int64_t>(shape.replicas) * (options.steps - state.step));

  const bool stopping = stop != nullptr && static_cast<bool>(stop->decided);
  DCSDE_ASSERT(!stopping || stop->every >= 1, "StopRule::every >= 1");
  // All blocks advance to `until`, the next multiple of checkpoint_every (then the state is
  // saved) or of stop->every (then the rule is asked). Without either there is one stretch, and
  // each block runs its whole trajectory in one go.
  const bool stretches = checkpointing || stopping;
  auto next_multiple = [](std::int64_t from, std::int64_t every) {
    return (from / every + 1) * every;
  };
  bool stopped = false;
  for (;;) {
    const std::int64_t from = state.step;
    std::int64_t until = options.steps;
    if (checkpointing) until = std::min(until, next_multiple(from, options.checkpoint_every));
    if (stopping) until = std::min(until, next_multiple(from, stop->every));
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (Index b = 0; b < shape.n_blocks; ++b) {
      BlockState& s = state.blocks[static_cast<std::size_t>(b)];
      if (s.alive.empty()) start_block(state, b, shape, x0);
      advance_block(process, options, shape, b, from, until, state, final_metrics, ticker);
      if (!stretches) {  // done with this block: keep only its alive flags
        s.X = Batch();
        s.time = RowVector();
      }
    }
    state.step = until;
    if (checkpointing && (until % options.checkpoint_every == 0 || until == options.steps)) {
      save_state(*checkpoint, state, shape.d);
      if (checkpoint->saved) checkpoint->saved();
    }
    if (until == options.steps) break;
    // Every block has reached `until`: died_at is complete up to it, whatever the threads did.
    if (stopping && stop->decided(until, state.died_at)) {
      stopped = true;
      break;
    }
  }
  ProcessSummary summary = detail::summarize(process, shape, state, final_metrics);
  summary.steps_run = state.step;
  summary.stopped_early = stopped;
  if (stopped)
    summary.message += fmt::format("; stopped early at step {} of {}", state.step, options.steps);
  summary.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  summary.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace dcsde
