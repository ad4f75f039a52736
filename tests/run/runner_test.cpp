// Runner: reproducibility for any thread count, divergence handling, records, aggregates.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "dcsde/config/experiment.hpp"
#include "dcsde/run/results.hpp"

namespace dcsde {
namespace {

ProcessSummary run_toml(const std::string& toml, const std::vector<std::string>& sets = {}) {
  const ExperimentPlan plan = parse_experiment(toml, "runner.toml", sets);
  const Experiment& e = plan.points.front().experiment;
  const Assembled a = assemble(e);
  OptimizerProcess process(*a.method);
  return run_process(process, e.initial_state(), e.run);
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

const char* kHeavyTailed = R"(
[problem]
objective = "quadratic"
dim = 30
eigen_min = 0.1
eigen_max = 5
[noise]
kind = "student_t"
nu = 1.5
sigma = [0.5, 1.0, 2.0]
[agents]
count = 3
[compressor]
kind = "rand_k"
k = 5
[method]
kind = "dcsgd"
lr = 0.02
steps = 300
[run]
replicas = 203
seed = 11
record_every = 7
)";

TEST(Runner, BitIdenticalForOneAndTwoThreads) {
  for (const char* method : {"dcsgd", "dsignsgd"}) {
    std::vector<std::string> sets = {std::string("method.kind=") + method};
    if (std::string(method) == "dsignsgd") sets.push_back("compressor.kind=sign");
    auto one = sets, two = sets;
    one.push_back("run.threads=1");
    two.push_back("run.threads=2");
    const ProcessSummary a = run_toml(kHeavyTailed, one);
    const ProcessSummary b = run_toml(kHeavyTailed, two);
    EXPECT_TRUE(same_bits(a.curves.loss_mean, b.curves.loss_mean)) << method;
    EXPECT_TRUE(same_bits(a.curves.loss_std, b.curves.loss_std)) << method;
    EXPECT_TRUE(same_bits(a.curves.grad_norm_mean, b.curves.grad_norm_mean)) << method;
    EXPECT_TRUE(same_bits(a.curves.time, b.curves.time)) << method;
    EXPECT_TRUE(same_bits(a.curves.loss_median, b.curves.loss_median)) << method;
    EXPECT_TRUE(same_bits(a.curves.loss_q05, b.curves.loss_q05)) << method;
    EXPECT_TRUE(same_bits(a.curves.loss_q95, b.curves.loss_q95)) << method;
    EXPECT_EQ(a.diverged, b.diverged);
    nlohmann::json ja = to_json(a), jb = to_json(b);
    for (const char* timing : {"wall_seconds", "cpu_seconds"}) {
      ja.erase(timing);
      jb.erase(timing);
    }
    EXPECT_EQ(ja.dump(), jb.dump()) << method;
  }
}

TEST(Runner, SameSeedSameBytesOtherSeedOtherNumbers) {
  const ProcessSummary a = run_toml(kHeavyTailed);
  const ProcessSummary b = run_toml(kHeavyTailed);
  const ProcessSummary c = run_toml(kHeavyTailed, {"run.seed=12"});
  EXPECT_TRUE(same_bits(a.curves.loss_mean, b.curves.loss_mean));
  EXPECT_FALSE(same_bits(a.curves.loss_mean, c.curves.loss_mean));
}

TEST(Runner, RecordsEveryKStepsAndTheLastStepWithTimeAsSumOfSteps) {
  const ProcessSummary s = run_toml(kHeavyTailed, {"method.schedule=\"inv_sqrt\""});
  ASSERT_EQ(s.curves.step.front(), 0);
  ASSERT_EQ(s.curves.step.back(), 300);
  ASSERT_EQ(s.curves.step[1], 7);
  // time(k) = sum_{j<k} lr / sqrt(j + 1), identical for every replica.
  double t = 0.0;
  for (std::int64_t j = 0; j < 300; ++j) t += 0.02 / std::sqrt(j + 1.0);
  EXPECT_NEAR(s.curves.time.back(), t, 1e-12);
  // The asymptotic loss averages the last 10% of the 44 records: 5 records.
  EXPECT_EQ(s.asymptotic_records, 5);
}

// A quartic with a large step diverges from large initial states: replicas are frozen, counted
// with their step, aggregates cover the live ones, and no NaN reaches the summary.
TEST(Runner, DivergingReplicasAreFrozenCountedAndExcluded) {
  const char* toml = R"(
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
steps = 200
[run]
replicas = 400
record_every = 1
)";
  const ProcessSummary s = run_toml(toml);
  EXPECT_GT(s.diverged, 0);
  EXPECT_LT(s.diverged, 400);
  EXPECT_EQ(s.status, RunStatus::kSomeDiverged);
  ASSERT_TRUE(s.first_divergence_step.has_value());
  EXPECT_GT(*s.first_divergence_step, 0);
  ASSERT_TRUE(s.final_loss_mean.has_value());
  EXPECT_TRUE(std::isfinite(*s.final_loss_mean));
  EXPECT_TRUE(std::isfinite(*s.asymptotic_loss_mean));
  EXPECT_EQ(s.curves.alive.back(), 400 - s.diverged);
  for (double v : s.curves.loss_mean) EXPECT_TRUE(std::isfinite(v));
  for (double v : s.curves.loss_median) EXPECT_TRUE(std::isfinite(v));
  ASSERT_TRUE(s.final_loss_median.has_value());
  ASSERT_TRUE(s.asymptotic_loss_median.has_value());
  EXPECT_EQ(static_cast<Index>(s.divergences.size()), s.diverged);
  const std::string json = to_json(s).dump();
  EXPECT_EQ(json.find("NaN"), std::string::npos);
  EXPECT_EQ(json.find("nan"), std::string::npos);
}

TEST(Runner, AllDivergedGivesNullAggregatesNotNaN) {
  const char* toml = R"(
[problem]
objective = "quadratic"
dim = 3
eigenvalues = [1, 2, 3]
[method]
kind = "dsgd"
lr = 1.0
steps = 3000
[run]
replicas = 20
)";
  // lr = 1 > 2/3: |1 - eta h| = 2 for h = 3, so every replica overflows deterministically.
  const ProcessSummary s = run_toml(toml);
  EXPECT_EQ(s.diverged, 20);
  EXPECT_EQ(s.status, RunStatus::kAllDiverged);
  EXPECT_FALSE(s.final_loss_mean.has_value());
  EXPECT_FALSE(s.asymptotic_loss_mean.has_value());
  const nlohmann::json j = to_json(s);
  EXPECT_TRUE(j["final"]["loss_mean"].is_null());
  EXPECT_TRUE(j["asymptotic_loss"]["mean"].is_null());
  for (const char* key : {"loss_median", "loss_q05", "loss_q95", "loss_median_ci95"})
    EXPECT_TRUE(j["final"][key].is_null()) << key;
  EXPECT_TRUE(j["asymptotic_loss"]["median"].is_null());
  // 2^k x0^2 h/2 overflows near k = 1020: the step is reported exactly and is the same for all.
  EXPECT_EQ(s.divergences.front().step, s.divergences.back().step);
}

// Gradient descent with eta = 0.25 on h = 10 multiplies the loss by 2.25 a step: recorded every
// step, it passes through 1e150..1e308, where the squares inside the statistics overflow. Such a
// replica is diverged there, and no curve value or aggregate is NaN or infinite.
TEST(Runner, HugeFiniteLossesCountAsDivergedWithoutNanInTheStatistics) {
  const ProcessSummary s = run_toml(R"(
[problem]
objective = "quadratic"
dim = 4
eigenvalues = [10.0, 10.0, 10.0, 10.0]
[noise]
kind = "gaussian"
sigma = 0.1
[method]
kind = "dsgd"
lr = 0.25
steps = 1000
[run]
replicas = 8
seed = 3
record_every = 1
)");
  EXPECT_EQ(s.diverged, 8);
  ASSERT_TRUE(s.first_divergence_step.has_value());
  EXPECT_LT(*s.first_divergence_step, 500) << "diverged before the loss overflowed to inf";
  for (const auto* column :
       {&s.curves.loss_mean, &s.curves.loss_std, &s.curves.sq_norm_mean, &s.curves.sq_norm_std,
        &s.curves.grad_norm_mean, &s.curves.loss_median, &s.curves.loss_q95})
    for (double v : *column) EXPECT_TRUE(std::isfinite(v)) << v;
  EXPECT_FALSE(s.final_loss_mean.has_value());
}

}  // namespace
}  // namespace dcsde
