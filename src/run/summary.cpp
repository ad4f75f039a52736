#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "runner_state.hpp"

namespace dcsde::detail {

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
  return summary;
}

}  // namespace dcsde::detail
