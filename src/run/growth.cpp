#include "dcsde/run/growth.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

// y below this counts as this: log 0 = -inf would poison the fits; an exactly converged replica
// (GD at eta = 1/lambda lands on 0) then has slope 0, stable.
constexpr double kFloor = 1e-300;
// A fitted rate must also exceed this (per step): rounding makes a 2-cycle's slope +-1e-17.
constexpr double kMinRate = 1e-9;
constexpr std::size_t kMaxObservations = 33;
constexpr Index kJackknifeGroups = 8;
// An early stop is asked about this many times per run at most: a stopped probe runs at most
// steps/16 steps past its decision, and the lockstep stretches cost little.
constexpr std::int64_t kStopChecks = 16;

struct TracedWorkspace final : ProcessWorkspace {
  std::unique_ptr<ProcessWorkspace> inner;
  RowVector y;
};

// The process with an observer: after each step that lands on an observation step, y of every
// column goes to values[j * R + replica]. Blocks own disjoint replicas, so the writes never race.
class TracedProcess final : public Process {
 public:
  TracedProcess(const Process& inner, GrowthTrace& trace)
      : inner_(inner), trace_(trace), f_star_(inner.objective().constants().f_star) {}
  std::string name() const override { return inner_.name(); }
  const Objective& objective() const override { return inner_.objective(); }
  std::unique_ptr<ProcessWorkspace> make_workspace(Index cols) const override {
    auto ws = std::make_unique<TracedWorkspace>();
    ws->inner = inner_.make_workspace(cols);
    ws->y.resize(cols);
    return ws;
  }
  void step(BatchRef X, std::int64_t k, std::uint64_t seed, std::uint64_t first_replica,
            ProcessWorkspace& workspace, RowVectorRef step_sizes) const override {
    auto& ws = static_cast<TracedWorkspace&>(workspace);
    inner_.step(X, k, seed, first_replica, *ws.inner, step_sizes);
    const auto& steps = trace_.steps;
    const auto it = std::lower_bound(steps.begin(), steps.end(), k + 1);
    if (it == steps.end() || *it != k + 1) return;
    RowVector& y = ws.y;
    inner_.objective().value(X, y);
    if (f_star_) y.array() -= *f_star_;
    const std::size_t row =
        static_cast<std::size_t>(it - steps.begin()) * static_cast<std::size_t>(trace_.replicas);
    for (Index c = 0; c < X.cols(); ++c)
      trace_.values[row + first_replica + static_cast<std::size_t>(c)] = y(c);
  }
  double bits_per_agent_per_step() const override { return inner_.bits_per_agent_per_step(); }

 private:
  const Process& inner_;
  GrowthTrace& trace_;
  std::optional<double> f_star_;
};

double log_of(double y) { return std::log(std::max(y, kFloor)); }

// Least-squares slope of ys against xs.
double slope(const std::vector<double>& xs, const std::vector<double>& ys) {
  const double n = static_cast<double>(xs.size());
  double mx = 0.0, my = 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i) mx += xs[i] / n, my += ys[i] / n;
  double sxy = 0.0, sxx = 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) * (xs[i] - mx);
  }
  return sxx > 0.0 ? sxy / sxx : 0.0;
}

// Slope of log(mean over `members` of y) against the observation steps.
double mean_log_slope(const GrowthTrace& t, const std::vector<Index>& members,
                      const std::vector<double>& xs) {
  std::vector<double> ys(t.steps.size());
  for (std::size_t j = 0; j < t.steps.size(); ++j) {
    double sum = 0.0;
    for (Index r : members) sum += t.values[j * static_cast<std::size_t>(t.replicas) + r];
    ys[j] = log_of(sum / static_cast<double>(members.size()));
  }
  return slope(xs, ys);
}

}  // namespace

namespace {

// The names and meanings are string literals: to_string and describe return them as C strings.
const StabilityCriterionSpec kCriteria[] = {
    {StabilityCriterion::kMeanSquare, "mean_square",
     "mean square: unstable when E y = mean over replicas of y grows (the slope of log "
     "E y over the last half of the run exceeds 3 standard errors) or any replica "
     "diverges; y = f - f* (or f where f* is unknown: a loss >= 0)"},
    {StabilityCriterion::kAlmostSure, "almost_sure",
     "almost sure: unstable when a majority of replicas grows (the median over "
     "replicas of the slope of log y over the last half of the run exceeds 3 standard "
     "errors; a diverged replica grows); y = f - f* (or f where f* is unknown: a loss >= 0)"},
};

}  // namespace

std::span<const StabilityCriterionSpec> kind_specs(StabilityCriterion) { return kCriteria; }

const char* to_string(StabilityCriterion criterion) { return spec_of(criterion).name.data(); }

const char* describe(StabilityCriterion criterion) { return spec_of(criterion).meaning.data(); }

bool decided_by_divergences(StabilityCriterion criterion, Index diverged, Index replicas) {
  if (criterion == StabilityCriterion::kMeanSquare) return diverged > 0;
  return 2 * diverged > replicas;  // the median slope is +inf
}

GrowthTrace traced_run(const Process& process, const Vector& x0, const RunOptions& options,
                       std::span<const StabilityCriterion> stop_when_decided) {
  DCSDE_ASSERT(options.steps >= 2, "traced_run: steps >= 2");
  GrowthTrace trace;
  trace.replicas = options.replicas;
  trace.quantity = process.objective().constants().f_star ? "f - f*" : "f";
  const std::int64_t first = options.steps / 2, span = options.steps - first;
  const std::int64_t n = std::min<std::int64_t>(kMaxObservations, span + 1);
  for (std::int64_t j = 0; j < n; ++j) trace.steps.push_back(first + j * span / (n - 1));
  trace.steps.erase(std::unique(trace.steps.begin(), trace.steps.end()), trace.steps.end());
  trace.values.assign(trace.steps.size() * static_cast<std::size_t>(trace.replicas), 0.0);
  const TracedProcess traced(process, trace);
  StopRule stop{.every = std::max<std::int64_t>(1, (options.steps + kStopChecks - 1) / kStopChecks),
                .decided = [&](std::int64_t, std::span<const std::int64_t> died_at) {
                  const auto diverged = static_cast<Index>(
                      std::count_if(died_at.begin(), died_at.end(), [](auto k) { return k >= 0; }));
                  return std::all_of(stop_when_decided.begin(), stop_when_decided.end(),
                                     [&](StabilityCriterion c) {
                                       return decided_by_divergences(c, diverged, trace.replicas);
                                     });
                }};
  trace.summary =
      run_process(traced, x0, options, {}, nullptr, stop_when_decided.empty() ? nullptr : &stop);
  trace.steps_planned = options.steps;
  trace.steps_run = trace.summary.steps_run;
  trace.stopped_early = trace.summary.stopped_early;
  trace.diverged.assign(static_cast<std::size_t>(trace.replicas), 0);
  for (const Divergence& d : trace.summary.divergences)
    trace.diverged[static_cast<std::size_t>(d.replica)] = 1;
  return trace;
}

StabilityVerdict judge(const GrowthTrace& t, StabilityCriterion criterion, double z) {
  DCSDE_ASSERT(t.steps.size() >= 2 && t.replicas >= 1, "judge: an empty trace");
  const std::vector<double> xs(t.steps.begin(), t.steps.end());
  std::vector<Index> live;
  for (Index r = 0; r < t.replicas; ++r)
    if (!t.diverged[static_cast<std::size_t>(r)]) live.push_back(r);
  StabilityVerdict v;
  v.diverged = t.replicas - static_cast<Index>(live.size());
  if (t.stopped_early) {
    // The verdict the whole run would give: its diverged replicas stay diverged.
    DCSDE_ASSERT(decided_by_divergences(criterion, v.diverged, t.replicas),
                 "judge: the run stopped before this criterion was decided");
    v.unstable = true;
    v.diverging_fraction = static_cast<double>(v.diverged) / static_cast<double>(t.replicas);
    v.reason = fmt::format("{}/{} replicas diverged by step {} of {}: decided, stopped early",
                           v.diverged, t.replicas, t.steps_run, t.steps_planned);
    return v;
  }
  // Per-replica slopes: the almost-sure rate, and the diverging fraction of both criteria.
  std::vector<double> slopes(static_cast<std::size_t>(t.replicas),
                             std::numeric_limits<double>::infinity());
  std::vector<double> ys(t.steps.size());
  Index growing = v.diverged;
  for (Index r : live) {
    for (std::size_t j = 0; j < t.steps.size(); ++j)
      ys[j] = log_of(t.values[j * static_cast<std::size_t>(t.replicas) + r]);
    slopes[static_cast<std::size_t>(r)] = slope(xs, ys);
    if (slopes[static_cast<std::size_t>(r)] > kMinRate) ++growing;
  }
  v.diverging_fraction = static_cast<double>(growing) / static_cast<double>(t.replicas);

  if (criterion == StabilityCriterion::kMeanSquare) {
    if (live.empty()) {
      v.unstable = true;
      v.reason = fmt::format("all {} replicas diverged", t.replicas);
      return v;
    }
    v.rate = mean_log_slope(t, live, xs);
    // Jackknife over groups of live replicas: the spread of the leave-one-group-out slopes.
    const Index groups = std::min<Index>(kJackknifeGroups, static_cast<Index>(live.size()));
    if (groups >= 2) {
      std::vector<double> theta;
      for (Index g = 0; g < groups; ++g) {
        std::vector<Index> rest;
        for (std::size_t i = 0; i < live.size(); ++i)
          if (static_cast<Index>(i) * groups / static_cast<Index>(live.size()) != g)
            rest.push_back(live[i]);
        theta.push_back(mean_log_slope(t, rest, xs));
      }
      double mean = 0.0, ss = 0.0;
      for (double th : theta) mean += th / static_cast<double>(groups);
      for (double th : theta) ss += (th - mean) * (th - mean);
      v.noise = std::sqrt(ss * static_cast<double>(groups - 1) / static_cast<double>(groups));
    }
    const bool grows = *v.rate > z * v.noise + kMinRate;
    v.unstable = grows || v.diverged > 0;
    v.reason = fmt::format("E {} {}: log-slope {:.4g} +- {:.2g} per step", t.quantity,
                           grows ? "grows" : "does not grow", *v.rate, v.noise);
    if (v.diverged > 0)
      v.reason += fmt::format("; {}/{} replicas diverged", v.diverged, t.replicas);
    return v;
  }

  std::vector<double> sorted = slopes;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t R = sorted.size();
  const double median = R % 2 ? sorted[R / 2] : 0.5 * (sorted[R / 2 - 1] + sorted[R / 2]);
  double mean = 0.0, ss = 0.0;
  for (double s : sorted) mean += std::isfinite(s) ? s / static_cast<double>(live.size()) : 0.0;
  for (double s : sorted) ss += std::isfinite(s) ? (s - mean) * (s - mean) : 0.0;
  const double sd = live.size() > 1 ? std::sqrt(ss / static_cast<double>(live.size() - 1)) : 0.0;
  // Standard error of a median: sqrt(pi/2) sd / sqrt(R) for a normal spread.
  v.noise = 1.2533 * sd / std::sqrt(static_cast<double>(R));
  if (std::isfinite(median)) v.rate = median;
  v.unstable = median > z * v.noise + kMinRate;
  v.reason = fmt::format("{:.0f}% of replicas grow or diverged; median log-slope of {} {} per step",
                         100.0 * v.diverging_fraction, t.quantity,
                         std::isfinite(median) ? fmt::format("{:.4g} +- {:.2g}", median, v.noise)
                                               : std::string("+inf (diverged)"));
  return v;
}

}  // namespace dcsde
