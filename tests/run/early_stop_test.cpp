// Early stop of threshold probes (run/growth.hpp, run/runner.hpp StopRule): a probe ends once its
// verdicts are decided by divergences, and gives the verdicts of the whole run. Each test runs
// the same search or trace both ways. Fixed seeds; no retries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "dcsde/config/threshold.hpp"
#include "threshold_oracles.hpp"

namespace dcsde {
namespace {

constexpr StabilityCriterion kMS = StabilityCriterion::kMeanSquare;
constexpr StabilityCriterion kAS = StabilityCriterion::kAlmostSure;

// The exact oracles of threshold_test.cpp (threshold_oracles.hpp). GD on a quadratic: limit
// 2/lambda_max = 0.5, and the bracket's top, 50, overflows within a few steps, so that probe
// stops early. GD on the quartic from x0 = 2: limit 0.5; past it |x| grows faster than
// geometrically and overflows, so most unstable probes stop early. DCSGD with Bernoulli(0.8):
// ten steps are too few to overflow anywhere in the bracket, so early stop must change nothing.
using testing_oracles::kDcsgd;
using testing_oracles::kGd;
using testing_oracles::kQuartic;

// A noisy quartic where replicas diverge one by one at different steps (runner_test.cpp):
// the probes that stop do so at a step set by a few replicas, the hard case for determinism.
const char* kNoisyQuartic = R"([experiment]
name = "noisy_quartic"
[problem]
objective = "quartic"
dim = 4
x0 = 1.2
[noise]
kind = "gaussian"
sigma = 0.45
[method]
kind = "dsgd"
lr = 0.9
steps = 64
[run]
replicas = 256
seed = 5
record_every = 4
)";

ThresholdReport search(const char* toml, bool early_stop, std::vector<StabilityCriterion> criteria,
                       std::vector<std::string> sets = {}, std::optional<double> low = {},
                       std::optional<double> high = {}) {
  ThresholdOptions o;
  o.key = "method.lr";
  o.criteria = std::move(criteria);
  o.low = low;
  o.high = high;
  o.early_stop = early_stop;
  return find_thresholds(toml, "early_stop.toml", sets, o);
}

std::int64_t steps_run(const ThresholdReport& r) {
  std::int64_t total = 0;
  for (const ProcessThreshold& p : r.processes)
    for (const ThresholdProbe& probe : p.probes) total += probe.steps_run;
  return total;
}

std::size_t stopped(const ThresholdReport& r) {
  std::size_t n = 0;
  for (const ProcessThreshold& p : r.processes)
    for (const ThresholdProbe& probe : p.probes) n += probe.stopped_early ? 1 : 0;
  return n;
}

// The two searches probed the same values with the same verdicts, hence the same brackets.
void expect_same_search(const ThresholdReport& early, const ThresholdReport& full) {
  ASSERT_EQ(early.processes.size(), full.processes.size());
  for (std::size_t i = 0; i < early.processes.size(); ++i) {
    const ProcessThreshold &e = early.processes[i], &f = full.processes[i];
    ASSERT_EQ(e.probes.size(), f.probes.size()) << e.process;
    for (std::size_t j = 0; j < e.probes.size(); ++j) {
      EXPECT_EQ(e.probes[j].value, f.probes[j].value);
      EXPECT_FALSE(f.probes[j].stopped_early);
      EXPECT_EQ(f.probes[j].steps_run, full.steps);
      ASSERT_EQ(e.probes[j].verdicts.size(), f.probes[j].verdicts.size());
      for (std::size_t c = 0; c < e.probes[j].verdicts.size(); ++c) {
        EXPECT_EQ(e.probes[j].verdicts[c].unstable, f.probes[j].verdicts[c].unstable)
            << e.process << " at " << e.probes[j].value << ": " << e.probes[j].verdicts[c].reason
            << " vs " << f.probes[j].verdicts[c].reason;
        if (e.probes[j].stopped_early) {
          EXPECT_LT(e.probes[j].steps_run, full.steps);
          EXPECT_FALSE(e.probes[j].verdicts[c].rate);
          EXPECT_NE(e.probes[j].verdicts[c].reason.find("stopped early"), std::string::npos);
        } else {
          EXPECT_EQ(e.probes[j].steps_run, full.steps);
          EXPECT_EQ(e.probes[j].verdicts[c].reason, f.probes[j].verdicts[c].reason);
        }
      }
    }
    ASSERT_EQ(e.results.size(), f.results.size());
    for (std::size_t c = 0; c < e.results.size(); ++c) {
      EXPECT_EQ(e.results[c].stable, f.results[c].stable);
      EXPECT_EQ(e.results[c].unstable, f.results[c].unstable);
      EXPECT_EQ(e.results[c].threshold, f.results[c].threshold);
    }
  }
}

TEST(EarlyStop, GdOnAQuadraticKeepsTwoOverLambdaMaxWithFewerSteps) {
  const ThresholdReport early = search(kGd, true, {kMS, kAS}, {}, 0.1, 50.0);
  const ThresholdReport full = search(kGd, false, {kMS, kAS}, {}, 0.1, 50.0);
  expect_same_search(early, full);
  for (const ThresholdResult& t : early.processes[0].results)
    EXPECT_NEAR(t.threshold, 0.5, 1e-3 * 0.5);
  EXPECT_GE(stopped(early), 1u);
  EXPECT_LT(steps_run(early), steps_run(full));
}

TEST(EarlyStop, GdOnTheQuarticKeepsEtaX0SquaredTwoWithFewerSteps) {
  const ThresholdReport early = search(kQuartic, true, {kMS});
  const ThresholdReport full = search(kQuartic, false, {kMS});
  expect_same_search(early, full);
  EXPECT_NEAR(early.processes[0].results[0].threshold, 0.5, 1e-3 * 0.5);
  // Every unstable probe but the nearest ones overflows long before step 300.
  EXPECT_GE(stopped(early), 3u);
  EXPECT_LT(steps_run(early), steps_run(full) * 3 / 4);
  std::printf("quartic: %lld of %lld steps run, %zu probes stopped early\n",
              static_cast<long long>(steps_run(early)), static_cast<long long>(steps_run(full)),
              stopped(early));
}

TEST(EarlyStop, DcsgdMeanSquareLimitIsUnchanged) {
  const ThresholdReport early = search(kDcsgd, true, {kMS});
  const ThresholdReport full = search(kDcsgd, false, {kMS});
  expect_same_search(early, full);
  const double exact = 2.0 * 4.0 / (4.0 + 0.25);
  EXPECT_GT(early.processes[0].results[0].threshold, exact - 0.005);
  EXPECT_LT(early.processes[0].results[0].threshold, exact + 0.03);
}

TEST(EarlyStop, PartialDivergencesStopOnlyWhereTheVerdictIsDecided) {
  // Mean square stops at the first divergence; with both criteria the run goes on until a
  // majority diverged, so it stops later or not at all, and the verdicts agree with full runs.
  const ThresholdReport ms_early = search(kNoisyQuartic, true, {kMS}, {}, 0.05, 1.2);
  const ThresholdReport ms_full = search(kNoisyQuartic, false, {kMS}, {}, 0.05, 1.2);
  expect_same_search(ms_early, ms_full);
  EXPECT_GE(stopped(ms_early), 1u);
  // Mean square alone stops at the first divergence: some probes stop with a minority diverged.
  bool minority = false;
  for (const ThresholdProbe& probe : ms_early.processes[0].probes)
    minority |= probe.stopped_early && 2 * probe.verdicts[0].diverged <= ms_early.replicas;
  EXPECT_TRUE(minority);
  const ThresholdReport both_early = search(kNoisyQuartic, true, {kMS, kAS}, {}, 0.05, 1.2);
  const ThresholdReport both_full = search(kNoisyQuartic, false, {kMS, kAS}, {}, 0.05, 1.2);
  expect_same_search(both_early, both_full);
  for (const ThresholdProbe& probe : both_early.processes[0].probes) {
    if (!probe.stopped_early) continue;
    EXPECT_GT(2 * probe.verdicts[0].diverged, both_early.replicas) << probe.value;
  }
  // A value probed by both searches stops no earlier with both criteria than with mean square.
  for (const ThresholdProbe& b : both_early.processes[0].probes)
    for (const ThresholdProbe& m : ms_early.processes[0].probes)
      if (b.value == m.value) {
        EXPECT_GE(b.steps_run, m.steps_run) << b.value;
      }
}

// The runs behind one probe: traced with and without the early stop, at several step sizes.
TEST(EarlyStop, StoppedTracesGiveTheVerdictsOfFullRunsForAnyThreadCount) {
  int stops = 0;
  for (double lr : {0.5, 0.8, 0.9, 1.0, 1.4}) {
    for (const std::vector<StabilityCriterion>& criteria :
         {std::vector{kMS}, std::vector{kAS}, std::vector{kMS, kAS}}) {
      std::vector<GrowthTrace> traces;
      for (int threads : {1, 3}) {
        const ExperimentPlan plan = parse_experiment(
            kNoisyQuartic, "t.toml",
            {"method.lr=" + std::to_string(lr), "run.threads=" + std::to_string(threads)});
        const Experiment& e = plan.points.front().experiment;
        const Assembled a = assemble(e);
        const OptimizerProcess process(*a.method);
        traces.push_back(traced_run(process, a.x0, e.run, criteria));
        if (threads == 1) traces.push_back(traced_run(process, a.x0, e.run));
      }
      const GrowthTrace &stop1 = traces[0], &full = traces[1], &stop3 = traces[2];
      EXPECT_FALSE(full.stopped_early);
      EXPECT_EQ(full.steps_run, 64);
      // Thread-independent: the same stop step and the same divergences.
      EXPECT_EQ(stop1.steps_run, stop3.steps_run) << lr;
      EXPECT_EQ(stop1.stopped_early, stop3.stopped_early) << lr;
      EXPECT_EQ(stop1.diverged, stop3.diverged) << lr;
      stops += stop1.stopped_early ? 1 : 0;
      if (!stop1.stopped_early) {
        EXPECT_EQ(stop1.diverged, full.diverged) << lr;
      }
      for (StabilityCriterion c : criteria) {
        const StabilityVerdict v1 = judge(stop1, c), v3 = judge(stop3, c), vf = judge(full, c);
        EXPECT_EQ(v1.unstable, vf.unstable) << lr << " " << to_string(c) << ": " << v1.reason;
        EXPECT_EQ(v1.reason, v3.reason);
        if (stop1.stopped_early) {
          EXPECT_TRUE(decided_by_divergences(c, v1.diverged, stop1.replicas));
          EXPECT_LE(v1.diverged, vf.diverged);
        }
      }
    }
  }
  EXPECT_GE(stops, 3);
}

TEST(EarlyStop, TheRunnerStopsAtTheFirstDecidedStretchAndSaysSo) {
  const ExperimentPlan plan = parse_experiment(kNoisyQuartic, "t.toml", {"method.lr=1.4"});
  const Experiment& e = plan.points.front().experiment;
  const Assembled a = assemble(e);
  const OptimizerProcess process(*a.method);
  const ProcessSummary full = run_process(process, a.x0, e.run);
  ASSERT_TRUE(full.first_divergence_step);
  EXPECT_EQ(full.steps_run, 64);
  EXPECT_FALSE(full.stopped_early);
  std::vector<std::int64_t> asked;
  const StopRule rule{.every = 5, .decided = [&](std::int64_t step, auto died_at) {
                        asked.push_back(step);
                        return std::any_of(died_at.begin(), died_at.end(),
                                           [](std::int64_t k) { return k >= 0; });
                      }};
  const ProcessSummary s = run_process(process, a.x0, e.run, {}, nullptr, &rule);
  EXPECT_TRUE(s.stopped_early);
  // Asked at 5, 10, ...; stopped at the first multiple of 5 at or after the first divergence.
  const std::int64_t expected = (*full.first_divergence_step + 4) / 5 * 5;
  EXPECT_EQ(s.steps_run, expected);
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked.back(), expected);
  EXPECT_EQ(asked.front(), 5);
  EXPECT_EQ(s.first_divergence_step, full.first_divergence_step);
  EXPECT_FALSE(s.final_loss_mean) << "the last step was not reached";
  EXPECT_NE(s.message.find("stopped early at step"), std::string::npos) << s.message;
  ASSERT_FALSE(s.curves.step.empty());
  EXPECT_LE(s.curves.step.back(), expected);
}

TEST(EarlyStop, ThresholdJsonAndTextSayWhichProbesStopped) {
  const ThresholdReport r = search(kQuartic, true, {kMS});
  const std::string json = threshold_json(r);
  EXPECT_NE(json.find("\"stopped_early\": true"), std::string::npos);
  EXPECT_NE(json.find("\"steps_run\""), std::string::npos);
  EXPECT_NE(json.find("\"early_stop\": true"), std::string::npos);
  const std::string line = early_stop_summary(r);
  EXPECT_NE(line.find(std::to_string(stopped(r)) + " of " +
                      std::to_string(r.processes[0].probes.size()) + " probes stopped"),
            std::string::npos)
      << line;
  EXPECT_NE(early_stop_summary(search(kQuartic, false, {kMS})).find("off"), std::string::npos);
}

// Without a known f*, y is f itself: logistic regression on separable data (more coordinates than
// samples) at a small step has f falling towards 0 while ||x||^2 keeps growing, so the run is
// stable; measured on ||x||^2 (the former quantity) it would have been called unstable.
TEST(EarlyStop, ObjectivesWithoutFStarAreJudgedOnTheirLoss) {
  const char* toml = R"([experiment]
name = "logistic"
[problem]
objective = "logistic"
dim = 20
samples = 10
l2 = 0.0
x0 = 0.0
[method]
kind = "dsgd"
lr = 0.5
steps = 200
[run]
replicas = 4
)";
  const ExperimentPlan plan = parse_experiment(toml, "t.toml", {});
  const Experiment& e = plan.points.front().experiment;
  const Assembled a = assemble(e);
  const OptimizerProcess process(*a.method);
  const GrowthTrace trace = traced_run(process, a.x0, e.run);
  EXPECT_EQ(trace.quantity, "f");
  const StabilityVerdict v = judge(trace, kMS);
  EXPECT_FALSE(v.unstable) << v.reason;
  ASSERT_TRUE(v.rate);
  EXPECT_LT(*v.rate, 0.0);
  const ProcessSummary& s = trace.summary;
  ASSERT_GE(s.curves.sq_norm_mean.size(), 2u);
  const std::size_t n = s.curves.sq_norm_mean.size();
  EXPECT_GT(s.curves.sq_norm_mean[n - 1], s.curves.sq_norm_mean[n / 2]) << "||x||^2 grows";
}

}  // namespace
}  // namespace dcsde
