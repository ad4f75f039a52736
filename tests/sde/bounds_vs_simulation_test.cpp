// The poster's bounds (Thm 3 for DCSGD, Thm 4 for DSignSGD, papers.md 0) against simulation on
// a PL quadratic: at every record, the simulated mean loss is below the bound up to 3 standard
// errors, for a grid of (sigma, omega, N, B) (and nu for Thm 4) where the assumptions hold.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "dcsde/config/bound.hpp"

namespace dcsde {
namespace {

struct Check {
  int points = 0, records = 0;
  double worst_ratio = 0.0;  // max over records of simulated mean / bound
};

void expect_below_bound(const std::string& toml, const std::vector<std::string>& sets,
                        Check& check) {
  const Experiment e = parse_experiment(toml, "bound.toml", sets).points[0].experiment;
  const ExperimentBound b = experiment_bound(e);
  ASSERT_TRUE(b.bound.holds) << b.bound.reason;
  const Assembled a = assemble(e);
  OptimizerProcess optimizer(*a.method);
  const ProcessSummary s = run_process(optimizer, e.initial_state(), e.run);
  ASSERT_EQ(s.diverged, 0);
  ++check.points;
  for (std::size_t r = 0; r < s.curves.step.size(); ++r) {
    const double t = e.method.lr * static_cast<double>(s.curves.step[r]);
    const double sem = s.curves.loss_std[r] / std::sqrt(static_cast<double>(s.curves.alive[r]));
    const double bound = b.bound.at(t);
    EXPECT_LE(s.curves.loss_mean[r], bound + 3.0 * sem)
        << b.theorem << " " << ::testing::PrintToString(sets) << " step " << s.curves.step[r];
    check.worst_ratio = std::max(check.worst_ratio, s.curves.loss_mean[r] / bound);
    ++check.records;
  }
}

const char* kQuadratic = R"(
[problem]
objective = "quadratic"
dim = 10
eigen_min = 0.5
eigen_max = 2.0
x0 = 0.3
[noise]
kind = "gaussian"
sigma = 1.0
[agents]
count = 1
[method]
kind = "dcsgd"
lr = 0.01
steps = 800
[compressor]
kind = "rand_k"
k = 10
[run]
replicas = 100
record_every = 20
seed = 8
)";

TEST(BoundsVsSimulation, Theorem3BoundsDcsgdOnAGrid) {
  Check check;
  for (const char* sigma : {"0.5", "2.0"})
    for (const char* k : {"10", "3"})  // omega = 0 and 7/3
      for (const char* n : {"1", "4"})
        for (const char* batch : {"1", "4"})
          expect_below_bound(
              kQuadratic,
              {std::string("noise.sigma=") + sigma, std::string("compressor.k=") + k,
               std::string("agents.count=") + n, std::string("noise.batch=") + batch},
              check);
  std::printf("  Thm 3: %d points, %d records, max simulated/bound = %.3f\n", check.points,
              check.records, check.worst_ratio);
}

TEST(BoundsVsSimulation, Theorem4BoundsDsignsgdOnAGrid) {
  Check check;
  for (const char* sigma : {"0.5", "2.0"})
    for (const char* noise : {"kind = \"student_t\"\nnu = 1.0", "kind = \"student_t\"\nnu = 3.0",
                              "kind = \"gaussian\""})
      for (const char* n : {"1", "4"})
        for (const char* batch : {"1", "4"}) {
          std::string toml = kQuadratic;
          toml.replace(toml.find("kind = \"gaussian\""), 17, noise);
          expect_below_bound(
              toml,
              {std::string("noise.sigma=") + sigma, "method.kind=dsignsgd", "compressor.kind=sign",
               std::string("agents.count=") + n, std::string("noise.batch=") + batch},
              check);
        }
  std::printf("  Thm 4: %d points, %d records, max simulated/bound = %.3f\n", check.points,
              check.records, check.worst_ratio);
}

}  // namespace
}  // namespace dcsde
