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
#include <mutex>
#include <thread>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

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
    out += fmt::format(", final loss {:.6g} +- {:.2g}", *final_loss_mean, *final_loss_sem);
  if (asymptotic_loss_mean)
    out +=
        fmt::format(", asymptotic {:.6g} +- {:.2g}", *asymptotic_loss_mean, *asymptotic_loss_sem);
  return out;
}

namespace {

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
  std::vector<double> tail_mean;
  std::vector<std::int64_t> died_at;
};

void save_state(const CheckpointFile& file, const RunnerState& s, Index d) {
  CheckpointWriter w(file.path, file.fingerprint);
  w.i64(s.step);
  w.u64(static_cast<std::uint64_t>(d));
  w.u64(s.blocks.size());
  w.u64(s.moments.size());
  w.u64(s.tail_mean.size());
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
  for (std::int64_t& k : s.died_at) k = r.i64("divergence steps");
  r.expect_end();
}

}  // namespace

ProcessSummary run_process(const Process& process, const Vector& x0, const RunOptions& options,
                           const ProgressCallback& progress, const CheckpointFile* checkpoint) {
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  const Objective& objective = process.objective();
  const Index d = objective.dim();
  const Index replicas = options.replicas;
  const Index block = options.block_size;
  const Index n_blocks = (replicas + block - 1) / block;
  const std::vector<std::int64_t> records = record_steps(options.steps, options.record_every);
  const auto n_rec = static_cast<Index>(records.size());
  const Index tail = std::max<Index>(
      1, static_cast<Index>(std::ceil(options.tail_fraction * static_cast<double>(n_rec))));
  const Index tail_start = n_rec - tail;

  RunnerState state;
  state.moments.resize(static_cast<std::size_t>(n_blocks * n_rec));
  state.tail_mean.assign(static_cast<std::size_t>(replicas), 0.0);
  state.died_at.assign(static_cast<std::size_t>(replicas), -1);
  state.blocks.resize(static_cast<std::size_t>(n_blocks));
  // A block's state is allocated when the block starts. Without checkpoints it is released when
  // the block ends, so memory holds `threads` blocks, not all R replicas; with checkpoints every
  // block lives for the whole run (d x R doubles), as the stretches need.
  auto start_block = [&](Index b) {
    BlockState& s = state.blocks[static_cast<std::size_t>(b)];
    const Index cols = std::min(block, replicas - b * block);
    s.X = x0.replicate(1, cols);
    s.time = RowVector::Zero(cols);
    s.alive.assign(static_cast<std::size_t>(cols), 1);
  };
  const bool checkpointing = checkpoint != nullptr && options.checkpoint_every > 0;
  if (checkpointing && std::filesystem::exists(checkpoint->path)) {
    for (Index b = 0; b < n_blocks; ++b) start_block(b);  // the sizes the file must match
    load_state(*checkpoint, state, d, options.steps);
  }
  // Held-out metrics of each replica's final state (objectives with data, e.g. torch).
  std::vector<std::vector<std::pair<std::string, double>>> final_metrics(
      static_cast<std::size_t>(replicas));

  const int threads = options.threads > 0 ? options.threads : omp_get_num_procs();
  ProgressTicker ticker(progress,
                        static_cast<std::int64_t>(replicas) * (options.steps - state.step));

  // All blocks advance to `until`; then the state is saved. Without checkpoints there is one
  // stretch, and each block runs its whole trajectory in one go.
  for (;;) {
    const std::int64_t from = state.step;
    const std::int64_t until =
        checkpointing ? std::min(options.steps, from + options.checkpoint_every) : options.steps;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (Index b = 0; b < n_blocks; ++b) {
      BlockState& s = state.blocks[static_cast<std::size_t>(b)];
      if (s.alive.empty()) start_block(b);
      Batch& X = s.X;
      const Index first = b * block;
      const Index cols = X.cols();
      Batch G(d, cols);
      RowVector loss(cols), grad_norm(cols), sq_norm(cols), h(cols);
      auto workspace = process.make_workspace(cols);
      auto freeze = [&](Index c, std::int64_t k) {
        s.alive[static_cast<std::size_t>(c)] = 0;
        state.died_at[static_cast<std::size_t>(first + c)] = k;
        X.col(c).setZero();  // a frozen column is excluded from every aggregate from now on
      };
      for (std::int64_t k = from;; ++k) {
        if (s.next_record < n_rec && k == records[static_cast<std::size_t>(s.next_record)]) {
          objective.value(X, loss);
          objective.gradient(X, G);
          grad_norm = G.colwise().norm();
          sq_norm = X.colwise().squaredNorm();
          Moments& m = state.moments[static_cast<std::size_t>(b * n_rec + s.next_record)];
          for (Index c = 0; c < cols; ++c) {
            if (!s.alive[static_cast<std::size_t>(c)]) continue;
            if (out_of_range(loss(c)) || out_of_range(grad_norm(c)) || out_of_range(sq_norm(c))) {
              freeze(c, k);
              continue;
            }
            m.add(loss(c), sq_norm(c), grad_norm(c), s.time(c));
            if (s.next_record >= tail_start)
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
      if (!checkpointing) {  // done with this block: keep only its alive flags
        s.X = Batch();
        s.time = RowVector();
      }
    }
    state.step = until;
    if (checkpointing) {
      save_state(*checkpoint, state, d);
      if (checkpoint->saved) checkpoint->saved();
    }
    if (until == options.steps) break;
  }
  const std::vector<double>& tail_mean = state.tail_mean;
  const std::vector<std::int64_t>& died_at = state.died_at;
  const std::vector<Moments>& moments = state.moments;

  ProcessSummary summary;
  summary.process = process.name();
  summary.replicas = replicas;
  summary.bits_per_agent_per_step = process.bits_per_agent_per_step();
  Curves& curves = summary.curves;
  for (Index r = 0; r < n_rec; ++r) {
    Moments total;
    for (Index b = 0; b < n_blocks; ++b)
      total.merge(moments[static_cast<std::size_t>(b * n_rec + r)]);
    if (total.n == 0) break;  // every replica has diverged: the curve ends here
    const double n = static_cast<double>(total.n);
    curves.step.push_back(records[static_cast<std::size_t>(r)]);
    curves.time.push_back(total.time_sum / n);
    curves.loss_mean.push_back(total.mean);
    curves.loss_std.push_back(total.n > 1 ? std::sqrt(total.m2 / (n - 1.0)) : 0.0);
    curves.grad_norm_mean.push_back(total.grad_sum / n);
    curves.sq_norm_mean.push_back(total.sq_mean);
    curves.sq_norm_std.push_back(total.n > 1 ? std::sqrt(total.sq_m2 / (n - 1.0)) : 0.0);
    curves.alive.push_back(total.n);
  }

  for (Index i = 0; i < replicas; ++i) {
    const std::int64_t k = died_at[static_cast<std::size_t>(i)];
    if (k < 0) continue;
    summary.divergences.push_back({i, k});
    if (!summary.first_divergence_step || k < *summary.first_divergence_step)
      summary.first_divergence_step = k;
  }
  summary.diverged = static_cast<Index>(summary.divergences.size());
  const Index live = replicas - summary.diverged;

  if (live > 0 && static_cast<Index>(curves.step.size()) == n_rec) {
    const std::size_t last = curves.step.size() - 1;
    summary.final_loss_mean = curves.loss_mean[last];
    summary.final_loss_std = curves.loss_std[last];
    summary.final_loss_sem = curves.loss_std[last] / std::sqrt(static_cast<double>(live));
    summary.final_grad_norm_mean = curves.grad_norm_mean[last];
    Moments tail_moments;
    for (Index i = 0; i < replicas; ++i) {
      if (died_at[static_cast<std::size_t>(i)] >= 0) continue;
      tail_moments.add(tail_mean[static_cast<std::size_t>(i)] / static_cast<double>(tail), 0.0, 0.0,
                       0.0);
    }
    summary.asymptotic_loss_mean = tail_moments.mean;
    summary.asymptotic_loss_sem =
        live > 1
            ? std::sqrt(tail_moments.m2 / static_cast<double>(live - 1) / static_cast<double>(live))
            : 0.0;
  }
  summary.asymptotic_records = tail;
  // Mean of each metric over the live replicas, in replica order (thread-independent).
  Index evaluated = 0;
  for (Index i = 0; i < replicas; ++i) {
    const auto& metrics = final_metrics[static_cast<std::size_t>(i)];
    if (metrics.empty() || died_at[static_cast<std::size_t>(i)] >= 0) continue;
    if (evaluated++ == 0) {
      summary.final_metrics = metrics;
    } else {
      for (std::size_t m = 0; m < metrics.size(); ++m)
        summary.final_metrics[m].second += metrics[m].second;
    }
  }
  for (auto& metric : summary.final_metrics) metric.second /= static_cast<double>(evaluated);

  if (summary.diverged == 0) {
    summary.status = RunStatus::kCompleted;
    summary.message = "all replicas stayed finite";
  } else if (live > 0) {
    summary.status = RunStatus::kSomeDiverged;
    summary.message = fmt::format(
        "{} of {} replicas diverged (first at step {}); aggregates cover the {} live replicas",
        summary.diverged, replicas, *summary.first_divergence_step, live);
  } else {
    summary.status = RunStatus::kAllDiverged;
    summary.message =
        fmt::format("all {} replicas diverged (first at step {}, last at step {})", replicas,
                    *summary.first_divergence_step,
                    std::max_element(summary.divergences.begin(), summary.divergences.end(),
                                     [](auto& a, auto& b) { return a.step < b.step; })
                        ->step);
  }
  summary.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  summary.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace dcsde
