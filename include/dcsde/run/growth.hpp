// Growth of a run: is a process stable at its parameters? The verdicts behind `dcsde threshold`
// (docs/threshold.md).
//
// A traced run observes every replica's y_r(k) on a grid of steps over the last half of the run,
//   y = f(x) - f*   when the objective knows f*, else   y = f(x),
// and fits growth rates of log y per step by least squares over that tail. The objectives without
// a known minimum (logistic, the networks' cross-entropy) are losses >= 0, so f grows when the run
// diverges and decays or levels off when it does not; ||x||^2 would not do: a network's weights
// drift from their initialisation while it trains, and that drift reads as growth. Overflow alone
// would miss a run just past a limit (GD at eta = 2.01/lambda grows by 1 % per step: 1e150 is
// 35000 steps away), a fitted rate sees it within a few hundred.
//
// Two criteria, which differ under multiplicative (compression) noise:
//   mean square  (the papers' conditions bound E f):  m(k) = mean_r y_r(k); unstable iff the slope
//                of log m(k) exceeds z times its standard error (jackknife over 8 groups of
//                replicas), or any replica diverged (its y, hence E y, is unbounded).
//   almost sure  (what one run does):  s_r = the slope of log y_r(k); unstable iff the median of
//                s_r (a diverged replica counts +inf) exceeds z times its standard error
//                1.2533 sd(s)/sqrt(R), i.e. a majority of replicas grows.
// Statistics: mean square uses the sample mean over replicas of y, which needs E y < inf: true
// for DSignSGD even under Cauchy noise (a step moves each coordinate by eta at most, and its SDE
// has bounded drift and diffusion), false for DCSGD under Student-t noise with nu <= 2 (there E y
// is infinite at every step size: use almost_sure). Almost sure uses the median over replicas of
// the per-replica slopes, which exists for any law.
// A decaying or stationary tail has slope <= 0 up to noise, hence stable; a run that is still
// rising towards a stationary level (from x0 below it) may look unstable: lengthen method.steps.
//
// Early stop. A replica that diverged stays diverged, so some verdicts are certain before the end:
// mean square is unstable from the first divergence on, almost sure once more than half of the
// replicas diverged (the median slope is then +inf), both once all did. traced_run can stop there
// (a StopRule, run/runner.hpp, asked every ceil(steps/16) steps), and judge() then returns those
// verdicts without the tail the run did not reach: the verdicts the whole run would give.
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
  std::string quantity;             // "f - f*" or "f"
  std::vector<std::int64_t> steps;  // observation steps, increasing, in [steps/2, steps]
  Index replicas = 0;
  std::vector<double> values;          // values[j * replicas + r] = y_r(steps[j])
  std::vector<std::uint8_t> diverged;  // per replica: frozen by the runner (ProcessSummary)
  ProcessSummary summary;              // the run's own summary
  // The run's length (options.steps) and the steps it ran: fewer when it stopped early, decided
  // (then `values` past steps_run were never observed and judge() does not read them).
  std::int64_t steps_planned = 0, steps_run = 0;
  bool stopped_early = false;
};

// Whether the divergences alone decide `criterion`'s verdict, unstable, however the rest of the
// run goes (a diverged replica stays diverged): mean square once any replica diverged, almost sure
// once more than half of them did.
bool decided_by_divergences(StabilityCriterion criterion, Index diverged, Index replicas);

// Runs `process` as run_process does, observing the tail on up to 33 evenly spaced steps.
// options.steps must be >= 2 (DCSDE_ASSERT). With `stop_when_decided` non-empty the run stops
// early once every listed criterion is decided_by_divergences (checked every ceil(steps/16) steps,
// so the stop step depends on the divergences only, not on threads or blocks); judge() answers
// those criteria on such a trace, and no other.
GrowthTrace traced_run(const Process& process, const Vector& x0, const RunOptions& options,
                       std::span<const StabilityCriterion> stop_when_decided = {});

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
// On a trace that stopped early: unstable, with no rate (the tail was not run), for a criterion
// decided_by_divergences (DCSDE_ASSERT).
StabilityVerdict judge(const GrowthTrace& trace, StabilityCriterion criterion, double z = 3.0);

}  // namespace dcsde
