#include "dcsde/run/runner.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

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

ProcessSummary run_process(const Process& process, const Vector& x0, const RunOptions& options,
                           const ProgressCallback& progress) {
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

  std::vector<Moments> moments(static_cast<std::size_t>(n_blocks * n_rec));
  std::vector<double> tail_mean(static_cast<std::size_t>(replicas), 0.0);
  std::vector<std::int64_t> died_at(static_cast<std::size_t>(replicas), -1);
  // Held-out metrics of each replica's final state (objectives with data, e.g. torch).
  std::vector<std::vector<std::pair<std::string, double>>> final_metrics(
      static_cast<std::size_t>(replicas));

  const int threads = options.threads > 0 ? options.threads : omp_get_num_procs();
  ProgressTicker ticker(progress, static_cast<std::int64_t>(replicas) * options.steps);

#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (Index b = 0; b < n_blocks; ++b) {
    const Index first = b * block;
    const Index cols = std::min(block, replicas - first);
    Batch X = x0.replicate(1, cols);
    Batch G(d, cols);
    RowVector loss(cols), grad_norm(cols), sq_norm(cols), time = RowVector::Zero(cols), h(cols);
    std::vector<bool> alive(static_cast<std::size_t>(cols), true);
    auto workspace = process.make_workspace(cols);
    Index next_record = 0;
    auto freeze = [&](Index c, std::int64_t k) {
      alive[static_cast<std::size_t>(c)] = false;
      died_at[static_cast<std::size_t>(first + c)] = k;
      X.col(c).setZero();  // a frozen column is excluded from every aggregate from now on
    };
    for (std::int64_t k = 0;; ++k) {
      if (k == records[static_cast<std::size_t>(next_record)]) {
        objective.value(X, loss);
        objective.gradient(X, G);
        grad_norm = G.colwise().norm();
        sq_norm = X.colwise().squaredNorm();
        Moments& m = moments[static_cast<std::size_t>(b * n_rec + next_record)];
        for (Index c = 0; c < cols; ++c) {
          if (!alive[static_cast<std::size_t>(c)]) continue;
          if (!std::isfinite(loss(c)) || !std::isfinite(grad_norm(c)) ||
              !std::isfinite(sq_norm(c))) {
            freeze(c, k);
            continue;
          }
          m.add(loss(c), sq_norm(c), grad_norm(c), time(c));
          if (next_record >= tail_start) tail_mean[static_cast<std::size_t>(first + c)] += loss(c);
        }
        ++next_record;
      }
      if (k == options.steps) {
        for (Index c = 0; c < cols; ++c)
          if (alive[static_cast<std::size_t>(c)])
            final_metrics[static_cast<std::size_t>(first + c)] = objective.evaluate(X.col(c));
        break;
      }
      process.step(X, k, options.seed, static_cast<std::uint64_t>(first), *workspace, h);
      for (Index c = 0; c < cols; ++c) {
        if (!alive[static_cast<std::size_t>(c)]) continue;
        if (!std::isfinite(X.col(c).sum())) {
          freeze(c, k + 1);
        } else {
          time(c) += h(c);
        }
      }
      ticker.add(cols);
    }
  }

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
