// Stability limits found by bisection (config/threshold.hpp) against exact ones, and the growth
// verdicts behind them (run/growth.hpp). Fixed seeds; no retries.
#include "dcsde/config/threshold.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "dcsde/core/error.hpp"
#include "threshold_oracles.hpp"

namespace dcsde {
namespace {

using testing_oracles::kDcsgd;
using testing_oracles::kGd;
using testing_oracles::kQuartic;

ThresholdReport search(const char* toml, const std::string& key,
                       std::vector<StabilityCriterion> criteria = {StabilityCriterion::kMeanSquare},
                       std::vector<std::string> sets = {}, std::vector<SdeModel> sde = {}) {
  ThresholdOptions o;
  o.key = key;
  o.criteria = std::move(criteria);
  o.sde_models = std::move(sde);
  return find_thresholds(toml, "test.toml", sets, o);
}

// The exact limit lies in the final bracket, up to the tolerance; the bracket is narrow.
void expect_bracketed(const ThresholdResult& r, double exact, double tolerance = 1e-3) {
  EXPECT_LE(std::abs(r.stable - r.unstable), tolerance * std::abs(r.unstable) + 1e-15);
  EXPECT_NEAR(r.threshold, exact, tolerance * exact)
      << "bracket [" << r.stable << ", " << r.unstable << "]";
  EXPECT_GE(exact, std::min(r.stable, r.unstable) - 1e-12);
  EXPECT_LE(exact, std::max(r.stable, r.unstable) + 1e-12);
}

TEST(Threshold, GdOnAQuadraticStopsAtTwoOverLambdaMax) {
  const ThresholdReport r =
      search(kGd, "method.lr", {StabilityCriterion::kMeanSquare, StabilityCriterion::kAlmostSure});
  ASSERT_EQ(r.processes.size(), 1u);
  for (const ThresholdResult& t : r.processes[0].results) {
    expect_bracketed(t, 0.5);
    EXPECT_LT(t.stable, t.unstable) << "a larger step is the unstable side";
    EXPECT_EQ(t.prediction.kind, "exact");
    ASSERT_TRUE(t.prediction.value);
    EXPECT_NEAR(*t.prediction.value, 0.5, 1e-9);
  }
  EXPECT_EQ(r.quantity, "f - f*");
}

TEST(Threshold, EulerStepsOfTheSdesHaveTheirOwnLimits) {
  // With dt = eta (substeps = 1), on lambda_max = 4 with c = 4 eta: the first-order SDE is GD
  // (c < 2), the stable one x' = (1 - c + c^2/2) x (c < 2), the modified one
  // x' = (1 - c - c^2/2) x (c < sqrt(5) - 1).
  const ThresholdReport r = search(kGd, "method.lr", {StabilityCriterion::kMeanSquare}, {},
                                   {SdeModel::kStable, SdeModel::kModified});
  ASSERT_EQ(r.processes.size(), 3u);
  expect_bracketed(r.processes[1].results[0], 0.5);
  expect_bracketed(r.processes[2].results[0], (std::sqrt(5.0) - 1.0) / 4.0);
  // Continuous time: the stable SDE's limit is GD's 2/lambda; the modified one has none.
  ASSERT_TRUE(r.processes[1].results[0].prediction.value);
  EXPECT_NEAR(*r.processes[1].results[0].prediction.value, 0.5, 1e-9);
  EXPECT_FALSE(r.processes[2].results[0].prediction.value);
}

TEST(Threshold, GdOnTheQuarticStopsWhereEtaX0SquaredIsTwo) {
  expect_bracketed(search(kQuartic, "method.lr").processes[0].results[0], 0.5);
  const ThresholdReport x0 = search(kQuartic, "problem.x0", {StabilityCriterion::kAlmostSure});
  expect_bracketed(x0.processes[0].results[0], std::sqrt(2.0 / 0.1));
  EXPECT_EQ(x0.processes[0].results[0].prediction.kind, "exact");
}

TEST(Threshold, DcsgdMeanSquareLimitIsTwoNOverNPlusOmega) {
  const double exact = 2.0 * 4.0 / (4.0 + 0.25);
  const ThresholdReport r = search(kDcsgd, "method.lr");
  const ThresholdResult& t = r.processes[0].results[0];
  ASSERT_TRUE(t.prediction.value);
  EXPECT_NEAR(*t.prediction.value, exact, 1e-9);
  // Tolerance from R = 16384 replicas: over the 5-step tail the jackknife standard error of the
  // log-growth rate of E x^2 is sigma ~ 0.01 per step near eta*, and a probe is called unstable
  // once the true rate log A(eta) ~ 2 (eta - eta*) exceeds 3 sigma: the measured limit lies above
  // eta* by up to 3 sigma / 2 ~ 0.015 plus the bisection width, below it only by a false alarm
  // (< 0.3 % per probe). A sample mean of heavy-tailed products also underestimates E x^2 (its
  // fourth moment grows as (E m^4)^k = 1.5^k), which is why the run is short (10 steps).
  EXPECT_GT(t.threshold, exact - 0.005);
  EXPECT_LT(t.threshold, exact + 0.03);
}

TEST(Threshold, DcsgdAlmostSureLimitIsTheLyapunovExponentsZero) {
  // The median replica grows iff E log|1 - eta S/(N p)| > 0, S ~ Binomial(4, 0.8): a larger limit
  // than the mean-square one (2.1205 > 1.8824). 4096 replicas over 40 steps: the median slope's
  // standard error is ~0.005 per step where the exponent's slope in eta is ~1.
  const ThresholdReport r = search(kDcsgd, "method.lr", {StabilityCriterion::kAlmostSure},
                                   {"method.steps=40", "run.replicas=4096"});
  const ThresholdResult& t = r.processes[0].results[0];
  ASSERT_TRUE(t.prediction.value);
  EXPECT_NEAR(*t.prediction.value, 2.1205, 1e-3);
  EXPECT_NEAR(t.threshold, *t.prediction.value, 0.02);
}

TEST(Threshold, IntegerKeysBisectToAdjacentIntegers) {
  // More agents stabilise: the stable end is the larger one. Almost sure, Bernoulli(0.5), eta 1.6.
  const ThresholdReport r =
      search(kDcsgd, "agents.count", {StabilityCriterion::kAlmostSure},
             {"method.steps=40", "run.replicas=4096", "compressor.p=0.5", "method.lr=1.6"});
  ASSERT_TRUE(r.integer);
  const ThresholdResult& t = r.processes[0].results[0];
  EXPECT_EQ(t.stable - t.unstable, 1.0);
  EXPECT_EQ(t.threshold, t.stable);
  ASSERT_TRUE(t.prediction.value);
  EXPECT_NEAR(t.threshold, *t.prediction.value, 1.0);
}

TEST(Threshold, GrowthVerdictsCallAStationaryNoisyRunStable) {
  // Additive noise at eta = 0.3 < 0.5: by step 200 every mode has settled to its noise floor (the
  // slowest one contracts by 0.85 per step), so the tail's slope is ~ 0: stable by both criteria.
  const ExperimentPlan plan = parse_experiment(
      kGd, "test.toml",
      {"noise.kind=\"gaussian\"", "noise.sigma=0.3", "run.replicas=256", "method.lr=0.3"});
  const Experiment& e = plan.points.front().experiment;
  const Assembled a = assemble(e);
  const OptimizerProcess process(*a.method);
  const GrowthTrace trace = traced_run(process, a.x0, e.run);
  for (StabilityCriterion c : {StabilityCriterion::kMeanSquare, StabilityCriterion::kAlmostSure}) {
    const StabilityVerdict v = judge(trace, c);
    EXPECT_FALSE(v.unstable) << to_string(c) << ": " << v.reason;
    ASSERT_TRUE(v.rate);
    EXPECT_LT(std::abs(*v.rate), 4.0 * v.noise + 1e-3) << v.reason;
  }
  // With the noise, from x0 = 10 (far above the floors, so the tail decays below the limit), the
  // bisection still finds 2/lambda_max.
  ThresholdOptions o;
  o.key = "method.lr";
  o.criteria = {StabilityCriterion::kMeanSquare, StabilityCriterion::kAlmostSure};
  o.low = 0.45;
  o.high = 0.53;
  const ThresholdReport r = find_thresholds(
      kGd, "test.toml",
      {"noise.kind=\"gaussian\"", "noise.sigma=0.3", "run.replicas=64", "problem.x0=10.0"}, o);
  for (const ThresholdResult& t : r.processes[0].results) expect_bracketed(t, 0.5, 2e-3);
}

TEST(Threshold, BadInputIsAConfigErrorBeforeAnyRun) {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([] { search(kGd, "method.kind"); }).find("not a number"), std::string::npos);
  EXPECT_NE(message([] { search(kGd, "method.lrr"); }).find("unknown key"), std::string::npos);
  EXPECT_NE(message([] { search(kGd, "run.seed"); }).find("not its dynamics"), std::string::npos);
  ThresholdOptions o;
  o.key = "method.lr";
  o.low = 0.1;
  o.high = 0.3;
  EXPECT_NE(message([&] {
              find_thresholds(kGd, "t.toml", {}, o);
            }).find("stable at both ends of [0.1, 0.3]"),
            std::string::npos);
  o.low = 0.6;
  o.high = 0.9;
  EXPECT_NE(message([&] { find_thresholds(kGd, "t.toml", {}, o); }).find("unstable at both ends"),
            std::string::npos);
  EXPECT_NE(message([] {
              search(kGd, "noise.sigma", {StabilityCriterion::kMeanSquare},
                     {"method.lr=0.6", "noise.kind=\"gaussian\""});
            }).find("diverges everywhere"),
            std::string::npos);
  const std::string sweep = std::string(kGd) + "[sweep]\n\"method.lr\" = [0.1, 0.2]\n";
  EXPECT_NE(message([&] { search(sweep.c_str(), "method.lr"); }).find("remove [sweep]"),
            std::string::npos);
}

}  // namespace
}  // namespace dcsde
