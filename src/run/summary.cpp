#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <vector>

#include "dcsde/core/error.hpp"
#include "dcsde/run/order_statistics.hpp"
#include "runner_state.hpp"

namespace dcsde {
namespace {

const StatisticSpec kStatistics[] = {
    {Statistic::kMean, "mean", "the mean over live replicas, +- its standard error"},
    {Statistic::kMedian, "median",
     "the median over live replicas, with its inter-quartile range [q25, q75]"},
};

}  // namespace

std::span<const StatisticSpec> kind_specs(Statistic) { return kStatistics; }

}  // namespace dcsde

namespace dcsde::detail {
namespace {

// The levels of Curves' quantiles, ascending (order_statistics.hpp quantiles).
constexpr double kLevels[] = {0.05, 0.25, 0.5, 0.75, 0.95};

// The live replicas' losses at record r, in replica order, into `out`.
void live_losses(const RunnerState& state, Index replicas, Index r, std::vector<double>& out) {
  out.clear();
  const double* row = state.losses.data() + r * replicas;
  for (Index i = 0; i < replicas; ++i)
    if (!std::isnan(row[i])) out.push_back(row[i]);
}

}  // namespace

ProcessSummary summarize(const Process& process, const RunShape& shape, const RunnerState& state,
                         const FinalMetrics& final_metrics) {
  const Index replicas = shape.replicas, n_blocks = shape.n_blocks, n_rec = shape.n_rec;
  const Index tail = shape.tail;
  const std::vector<std::int64_t>& records = shape.records;
  const std::vector<double>& tail_mean = state.tail_mean;
  const std::vector<std::int64_t>& died_at = state.died_at;
  const std::vector<Moments>& moments = state.moments;

  ProcessSummary summary;
  summary.process = process.name();
  summary.replicas = replicas;
  summary.bits_per_agent_per_step = process.bits_per_agent_per_step();
  Curves& curves = summary.curves;
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(replicas));
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
    live_losses(state, replicas, r, values);
    DCSDE_ASSERT(static_cast<Index>(values.size()) == total.n,
                 "the recorded losses are the live replicas'");
    double q[std::size(kLevels)];
    quantiles(values, kLevels, q);
    curves.loss_q05.push_back(q[0]);
    curves.loss_q25.push_back(q[1]);
    curves.loss_median.push_back(q[2]);
    curves.loss_q75.push_back(q[3]);
    curves.loss_q95.push_back(q[4]);
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
    summary.final_loss_median = curves.loss_median[last];
    summary.final_loss_q05 = curves.loss_q05[last];
    summary.final_loss_q25 = curves.loss_q25[last];
    summary.final_loss_q75 = curves.loss_q75[last];
    summary.final_loss_q95 = curves.loss_q95[last];
    live_losses(state, replicas, n_rec - 1, values);
    if (const auto ci = median_interval(static_cast<Index>(values.size()), 0.95)) {
      const double lo = order_statistic(values, ci->lower);
      const double hi = order_statistic(values, ci->upper);
      summary.final_loss_median_ci95 = std::pair{lo, hi};
    }
    Moments tail_moments;
    values.clear();
    for (Index i = 0; i < replicas; ++i) {
      if (died_at[static_cast<std::size_t>(i)] >= 0) continue;
      const double mean_i = tail_mean[static_cast<std::size_t>(i)] / static_cast<double>(tail);
      tail_moments.add(mean_i, 0.0, 0.0, 0.0);
      values.push_back(mean_i);
    }
    summary.asymptotic_loss_median = quantile(values, 0.5);
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
  return summary;
}

}  // namespace dcsde::detail
