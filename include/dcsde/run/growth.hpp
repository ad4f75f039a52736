// Growth of a run: is a process stable at its parameters? The verdicts behind `dcsde threshold`
// (docs/threshold.md).
//
// A traced run observes every replica's y_r(k) on a grid of steps over the last half of the run,
//   y = f(x) - f*   when the objective knows f*, else   y = ||x||^2,
// and fits growth rates of log y per step by least squares over that tail. Overflow alone would
// miss a run just past a limit (GD at eta = 2.01/lambda grows by 1 % per step: 1e150 is 35 000
// steps away), a fitted rate sees it within a few hundred.
//
// Two criteria, which differ under multiplicative (compression) noise:
//   mean square  (the papers' conditions bound E f):  m(k) = mean_r y_r(k); unstable iff the slope
//                of log m(k) exceeds z times its standard error (jackknife over 8 groups of
//                replicas), or any replica diverged (its y, hence E y, is unbounded).
//   almost sure  (what one run does):  s_r = the slope of log y_r(k); unstable iff the median of
//                s_r (a diverged replica counts +inf) exceeds z times its standard error
//                1.2533 sd(s)/sqrt(R), i.e. a majority of replicas grows.
// A decaying or stationary tail has slope <= 0 up to noise, hence stable; a run that is still
// rising towards a stationary level (from x0 below it) may look unstable: lengthen method.steps.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dcsde/core/kind.hpp"
#include "dcsde/core/types.hpp"
#include "dcsde/run/process.hpp"
#include "dcsde/run/runner.hpp"

namespace dcsde {

enum class StabilityCriterion { kMeanSquare, kAlmostSure };

// One criterion, declared once (core/kind.hpp): its name and the sentence that states it.
struct StabilityCriterionSpec {
  StabilityCriterion kind;
  std::string_view name, meaning;
};
std::span<const StabilityCriterionSpec> kind_specs(StabilityCriterion);
const char* to_string(StabilityCriterion criterion);  // "mean_square", "almost_sure"
// One sentence stating the criterion, for outputs.
const char* describe(StabilityCriterion criterion);

// Per-replica observations of the tail of a run.
struct GrowthTrace {
  std::string quantity;             // "f - f*" or "||x||^2"
  std::vector<std::int64_t> steps;  // observation steps, increasing, in [steps/2, steps]
  Index replicas = 0;
  std::vector<double> values;          // values[j * replicas + r] = y_r(steps[j])
  std::vector<std::uint8_t> diverged;  // per replica: frozen by the runner (ProcessSummary)
  ProcessSummary summary;              // the run's own summary
};

// Runs `process` as run_process does, observing the tail on up to 33 evenly spaced steps.
// options.steps must be >= 2 (DCSDE_ASSERT).
GrowthTrace traced_run(const Process& process, const Vector& x0, const RunOptions& options);

struct StabilityVerdict {
  bool unstable = false;
  // Per step: slope of log E y (mean square) or median slope (almost sure); absent when every
  // replica (mean square) or the median replica (almost sure) diverged.
  std::optional<double> rate;
  double noise = 0.0;               // standard error of `rate`
  double diverging_fraction = 0.0;  // replicas diverged or with a positive slope of log y
  Index diverged = 0;               // replicas frozen by the runner
  std::string reason;               // one line, e.g. "rate 0.012 +- 0.001 per step > 3 sigma"
};

// The verdict of `criterion` on a trace; z: how many standard errors make growth significant.
StabilityVerdict judge(const GrowthTrace& trace, StabilityCriterion criterion, double z = 3.0);

}  // namespace dcsde
