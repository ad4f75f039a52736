// Robust statistics of a run (run/runner.hpp Curves, ProcessSummary): the loss quantiles over
// the live replicas against an exact stationary law, against exactly known losses, independent
// of threads and block size, kept across a resume; and [output] statistic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numbers>
#include <stdexcept>

#include "../support/files.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/run/order_statistics.hpp"
#include "dcsde/run/results.hpp"

namespace dcsde {
namespace {

namespace fs = std::filesystem;

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// Every quantile column of the curves, for bit comparisons.
std::vector<const std::vector<double>*> quantile_columns(const Curves& c) {
  return {&c.loss_median, &c.loss_q05, &c.loss_q25, &c.loss_q75, &c.loss_q95};
}

nlohmann::json without_timing(const ProcessSummary& s) {
  nlohmann::json j = to_json(s);
  j.erase("wall_seconds");
  j.erase("cpu_seconds");
  return j;
}

ProcessSummary run_toml(const std::string& toml, const std::vector<std::string>& sets = {},
                        const CheckpointFile* checkpoint = nullptr) {
  const ExperimentPlan plan = parse_experiment(toml, "robust.toml", sets);
  const Experiment& e = plan.points.front().experiment;
  const Assembled a = assemble(e);
  OptimizerProcess process(*a.method);
  return run_process(process, e.initial_state(), e.run, {}, checkpoint);
}

// Phi^-1(p) by bisection on erfc: exact to ~1e-15, no table.
double normal_quantile(double p) {
  double lo = -10.0, hi = 10.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::numbers::sqrt2) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// DSGD with Gaussian noise on f = lambda/2 x^2, N agents, x0 = 0 (papers.md 9, and
// tests/method/stationary_test.cpp for the moments):
//   x_{k+1} = a x_k - eta sigma xi_k / sqrt(N),   a = 1 - eta lambda,   xi_k ~ N(0, 1),
// so x_k ~ N(0, s^2 (1 - a^{2k})) exactly, s^2 = eta sigma^2 / (N lambda (2 - eta lambda)).
// With eta lambda = 0.1 and k = 400 the transient factor a^{2k} = 0.9^800 < 1e-36: the law of
// the last step is the stationary one to double precision. Then f = (lambda s^2 / 2) chi^2_1:
//   Q_f(q) = c z^2,  z = Phi^-1((1 + q) / 2),  c = lambda s^2 / 2,
//   pdf_f(y) = exp(-y / (2c)) / sqrt(2 pi y c).
// Each sample quantile over the R independent replicas is asymptotically normal with standard
// deviation sqrt(q (1 - q) / R) / pdf_f(Q_f(q)); the test allows 4 of them.
TEST(RobustStatistics, QuantilesMatchTheExactStationaryChiSquareLaw) {
  const double lambda = 1.0, eta = 0.1, sigma = 1.0;
  const int agents = 4;
  const Index replicas = 4000;
  const ProcessSummary s = run_toml(R"(
[problem]
objective = "quadratic"
dim = 1
eigenvalues = [1.0]
x0 = 0.0
[noise]
kind = "gaussian"
sigma = 1.0
[agents]
count = 4
[method]
kind = "dsgd"
lr = 0.1
steps = 400
[run]
replicas = 4000
seed = 5
record_every = 100
)");
  ASSERT_EQ(s.diverged, 0);
  const double s2 = eta * sigma * sigma / (agents * lambda * (2.0 - eta * lambda));
  const double c = lambda * s2 / 2.0;
  const std::pair<double, std::optional<double>> cases[] = {{0.05, s.final_loss_q05},
                                                            {0.25, s.final_loss_q25},
                                                            {0.5, s.final_loss_median},
                                                            {0.75, s.final_loss_q75},
                                                            {0.95, s.final_loss_q95}};
  for (const auto& [q, got] : cases) {
    ASSERT_TRUE(got.has_value()) << q;
    const double z = normal_quantile((1.0 + q) / 2.0);
    const double exact = c * z * z;
    const double pdf = std::exp(-exact / (2.0 * c)) / std::sqrt(2.0 * std::numbers::pi * exact * c);
    const double sd = std::sqrt(q * (1.0 - q) / static_cast<double>(replicas)) / pdf;
    EXPECT_NEAR(*got, exact, 4.0 * sd) << "q = " << q << ", seed 5";
  }
  // The curves' last row is the summary's final value; the quantiles are ordered.
  EXPECT_EQ(s.curves.loss_median.back(), *s.final_loss_median);
  for (std::size_t r = 0; r < s.curves.step.size(); ++r) {
    EXPECT_LE(s.curves.loss_q05[r], s.curves.loss_q25[r]);
    EXPECT_LE(s.curves.loss_q25[r], s.curves.loss_median[r]);
    EXPECT_LE(s.curves.loss_median[r], s.curves.loss_q75[r]);
    EXPECT_LE(s.curves.loss_q75[r], s.curves.loss_q95[r]);
  }
  // At step 0 every replica is at x0 = 0.
  EXPECT_EQ(s.curves.loss_q05.front(), 0.0);
  EXPECT_EQ(s.curves.loss_q95.front(), 0.0);
  ASSERT_TRUE(s.final_loss_median_ci95.has_value());
  EXPECT_LT(s.final_loss_median_ci95->first, *s.final_loss_median);
  EXPECT_GT(s.final_loss_median_ci95->second, *s.final_loss_median);
  // Its width is about 2 x 1.96 standard deviations of the sample median.
  const double z = normal_quantile(0.75);
  const double pdf = std::exp(-z * z / 2.0) / std::sqrt(2.0 * std::numbers::pi * z * z * c * c);
  const double width = 2.0 * 1.96 * std::sqrt(0.25 / static_cast<double>(replicas)) / pdf;
  EXPECT_NEAR(s.final_loss_median_ci95->second - s.final_loss_median_ci95->first, width,
              0.25 * width);
  ASSERT_TRUE(s.asymptotic_loss_median.has_value());
}

// A process whose replicas jump to known states: replica i sits at x_i = ((7 i) mod R) + 1/2
// after the first step (f = x^2 with eigenvalue 2), except replica 3, which becomes NaN and is
// frozen. The statistics are those of the live replicas' known losses.
class KnownLosses final : public Process {
 public:
  explicit KnownLosses(Index replicas)
      : replicas_(replicas),
        objective_(
            make_objective({.kind = ObjectiveKind::kQuadratic, .dim = 1, .eigenvalues = {2.0}})) {}
  std::string name() const override { return "known"; }
  const Objective& objective() const override { return *objective_; }
  std::unique_ptr<ProcessWorkspace> make_workspace(Index) const override {
    return std::make_unique<ProcessWorkspace>();
  }
  void step(BatchRef X, std::int64_t, std::uint64_t, std::uint64_t first, ProcessWorkspace&,
            RowVectorRef step_sizes) const override {
    for (Index c = 0; c < X.cols(); ++c) {
      const Index i = static_cast<Index>(first) + c;
      X(0, c) = i == 3 ? std::nan("") : static_cast<double>((7 * i) % replicas_) + 0.5;
      step_sizes(c) = 1.0;
    }
  }
  // The live replicas' final losses, sorted.
  std::vector<double> final_losses() const {
    std::vector<double> out;
    for (Index i = 0; i < replicas_; ++i) {
      if (i == 3) continue;
      const double x = static_cast<double>((7 * i) % replicas_) + 0.5;
      out.push_back(x * x);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  Index replicas_;
  std::unique_ptr<Objective> objective_;
};

// 11 replicas, one frozen: the 10 live losses give the median CI x_(1), x_(8) (0-based; the
// binomial table's x_(2), x_(9) of n = 10), for any block size and thread count.
TEST(RobustStatistics, KnownLossesGiveExactQuantilesAndTheMedianInterval) {
  const Index replicas = 11;
  const KnownLosses process(replicas);
  const std::vector<double> sorted = process.final_losses();
  ASSERT_EQ(sorted.size(), 10u);
  ProcessSummary reference;
  for (const auto& [block, threads] : {std::pair<Index, int>{16, 1}, {3, 1}, {3, 3}, {1, 2}}) {
    const RunOptions options{.replicas = replicas,
                             .steps = 2,
                             .record_every = 1,
                             .seed = 1,
                             .threads = threads,
                             .block_size = block};
    const ProcessSummary s = run_process(process, Vector::Constant(1, 1.0), options);
    EXPECT_EQ(s.diverged, 1);
    ASSERT_EQ(s.curves.alive.back(), 10);
    // Record 0: every replica at x0 = 1, f = 1.
    EXPECT_EQ(s.curves.loss_median.front(), 1.0);
    EXPECT_EQ(s.curves.loss_q05.front(), 1.0);
    // The squares of 0.5, 1.5, ..., 9.5 (10.5 was replica 3's: (7 x 3) mod 11 = 10); numpy's
    // linear rule by hand on the sorted values, h = 9 q.
    std::vector<double> copy = sorted;
    EXPECT_EQ(*s.final_loss_median, 0.5 * (sorted[4] + sorted[5]));
    EXPECT_EQ(*s.final_loss_q25, quantile(copy, 0.25));
    EXPECT_EQ(*s.final_loss_q25, sorted[2] + 0.25 * (sorted[3] - sorted[2]));         // h = 2.25
    EXPECT_EQ(*s.final_loss_q75, sorted[6] + 0.75 * (sorted[7] - sorted[6]));         // h = 6.75
    EXPECT_DOUBLE_EQ(*s.final_loss_q05, sorted[0] + 0.45 * (sorted[1] - sorted[0]));  // 0.45
    EXPECT_EQ(*s.final_loss_q95, quantile(copy, 0.95));
    ASSERT_TRUE(s.final_loss_median_ci95.has_value());
    EXPECT_EQ(s.final_loss_median_ci95->first, sorted[1]);
    EXPECT_EQ(s.final_loss_median_ci95->second, sorted[8]);
    // One tail record (ceil(0.1 x 3)): each replica's tail mean is its final loss.
    EXPECT_EQ(*s.asymptotic_loss_median, *s.final_loss_median);
    if (reference.curves.step.empty()) {
      reference = s;
      continue;
    }
    for (std::size_t k = 0; k < 5; ++k)
      EXPECT_TRUE(same_bits(*quantile_columns(s.curves)[k], *quantile_columns(reference.curves)[k]))
          << "block " << block << ", threads " << threads;
    // The means are merged block by block (Chan), so block size moves their last bits; the
    // order statistics are values of the sample and do not move.
    const nlohmann::json j = to_json(s), r = to_json(reference);
    for (const char* key :
         {"loss_median", "loss_q05", "loss_q25", "loss_q75", "loss_q95", "loss_median_ci95"})
      EXPECT_EQ(j["final"][key], r["final"][key]) << key << ", block " << block;
    EXPECT_EQ(j["asymptotic_loss"]["median"], r["asymptotic_loss"]["median"]);
  }
}

// Fewer than 6 live replicas: no order-statistic interval reaches 95%, and the summary says so
// with null, never with an interval of lower coverage.
TEST(RobustStatistics, FewReplicasHaveNoMedianInterval) {
  const KnownLosses process(5);
  const ProcessSummary s = run_process(process, Vector::Constant(1, 1.0),
                                       {.replicas = 5, .steps = 2, .record_every = 1});
  ASSERT_TRUE(s.final_loss_median.has_value());
  EXPECT_FALSE(s.final_loss_median_ci95.has_value());
  EXPECT_TRUE(to_json(s)["final"]["loss_median_ci95"].is_null());
}

const char* kCauchy = R"(
[problem]
objective = "quadratic"
dim = 10
eigen_min = 0.1
eigen_max = 5
[noise]
kind = "student_t"
nu = 1.0
sigma = [0.5, 1.0, 2.0]
[agents]
count = 3
[compressor]
kind = "rand_k"
k = 3
[method]
kind = "dcsgd"
lr = 0.02
steps = 240
[run]
replicas = 150
seed = 11
record_every = 7
)";

// Heavy tails (Cauchy noise): the quantiles are bit-identical for 1 and 3 threads.
TEST(RobustStatistics, QuantilesAreBitIdenticalForAnyThreadCount) {
  const ProcessSummary a = run_toml(kCauchy, {"run.threads=1"});
  const ProcessSummary b = run_toml(kCauchy, {"run.threads=3"});
  ASSERT_FALSE(a.curves.loss_median.empty());
  for (std::size_t k = 0; k < 5; ++k)
    EXPECT_TRUE(same_bits(*quantile_columns(a.curves)[k], *quantile_columns(b.curves)[k])) << k;
  EXPECT_EQ(without_timing(a).dump(), without_timing(b).dump());
  EXPECT_TRUE(without_timing(a)["final"]["loss_median_ci95"].is_array());
}

class RobustResume : public dcsde::testing::TempDirTest {
 protected:
  RobustResume() : TempDirTest("robust_resume") {}
};

// A run stopped after its second checkpoint (the `saved` hook throws) and resumed from the file
// ends with the same quantiles, to the bit, as an uninterrupted run.
TEST_F(RobustResume, ResumedRunHasBitIdenticalQuantiles) {
  const ProcessSummary reference = run_toml(kCauchy, {"run.threads=2"});
  struct Stop : std::runtime_error {
    Stop() : std::runtime_error("stop") {}
  };
  int saves = 0;
  CheckpointFile file{dir_ / "run.ckpt", 42, [&] {
                        if (++saves == 2) throw Stop();
                      }};
  const std::vector<std::string> sets = {"run.threads=2", "run.checkpoint_every=50"};
  EXPECT_THROW(run_toml(kCauchy, sets, &file), Stop);
  ASSERT_TRUE(fs::exists(file.path));
  file.saved = {};
  const ProcessSummary resumed = run_toml(kCauchy, sets, &file);
  for (std::size_t k = 0; k < 5; ++k)
    EXPECT_TRUE(
        same_bits(*quantile_columns(reference.curves)[k], *quantile_columns(resumed.curves)[k]))
        << k;
  EXPECT_EQ(without_timing(reference).dump(), without_timing(resumed).dump());
}

// [output] statistic: validated by name; its default follows the noise's variance.
TEST(OutputStatistic, DefaultFollowsTheNoiseAndBadValuesNameTheKey) {
  auto statistic = [](const std::vector<std::string>& sets) {
    return parse_experiment(kCauchy, "robust.toml", sets).points.front().experiment.statistic;
  };
  EXPECT_EQ(statistic({}), Statistic::kMedian) << "Student-t, nu = 1: no finite variance";
  EXPECT_EQ(statistic({"noise.nu=2"}), Statistic::kMedian);
  EXPECT_EQ(statistic({"noise.nu=2.5"}), Statistic::kMean);
  EXPECT_EQ(statistic({"noise.kind=\"gaussian\""}), Statistic::kMean);
  EXPECT_EQ(statistic({"noise.kind=\"affine_student_t\""}), Statistic::kMedian);
  EXPECT_EQ(statistic({"output.statistic=\"mean\""}), Statistic::kMean) << "given: kept";
  EXPECT_EQ(statistic({"noise.kind=\"gaussian\"", "output.statistic=\"median\""}),
            Statistic::kMedian);
  try {
    statistic({"output.statistic=\"average\""});
    ADD_FAILURE() << "accepted output.statistic = average";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "output.statistic = \"average\". Violated constraint: one of mean, median."),
              std::string::npos)
        << e.what();
  }
  // The resolved config names it, and reads back the same.
  const Experiment e = parse_experiment(kCauchy, "robust.toml").points.front().experiment;
  EXPECT_NE(to_toml(e).find("statistic = "), std::string::npos) << to_toml(e);
  EXPECT_EQ(parse_experiment(to_toml(e), "config.toml").points.front().experiment.statistic,
            Statistic::kMedian);
}

}  // namespace
}  // namespace dcsde
