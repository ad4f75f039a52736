// Philox streams: ranges, moments (CLT tolerances), stream separation, determinism.
#include "dcsde/core/rng.hpp"

#include <gtest/gtest.h>

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <set>
#include <vector>

namespace dcsde {
namespace {

constexpr int kDraws = 200000;

TEST(Philox, UniformIsInOpenUnitIntervalWithMeanHalf) {
  Philox rng(1, 0, 0, Purpose::kTest, 0);
  double sum = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.uniform();
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  // sd of U(0,1) = 1/sqrt(12)
  EXPECT_NEAR(sum / kDraws, 0.5, 5.0 / std::sqrt(12.0 * kDraws));
}

TEST(Philox, NormalHasUnitMomentsAndTails) {
  Philox rng(2, 0, 0, Purpose::kTest, 0);
  std::vector<double> z(kDraws);
  rng.normals(z.data(), kDraws);
  double m1 = 0, m2 = 0, m4 = 0;
  int beyond2 = 0;
  for (double x : z) {
    m1 += x;
    m2 += x * x;
    m4 += x * x * x * x;
    beyond2 += std::abs(x) > 2.0;
  }
  EXPECT_NEAR(m1 / kDraws, 0.0, 5.0 / std::sqrt(kDraws));
  EXPECT_NEAR(m2 / kDraws, 1.0, 5.0 * std::sqrt(2.0 / kDraws));   // Var(z^2) = 2
  EXPECT_NEAR(m4 / kDraws, 3.0, 5.0 * std::sqrt(96.0 / kDraws));  // Var(z^4) = 105 - 9
  const double p = std::erfc(2.0 / std::sqrt(2.0));
  EXPECT_NEAR(static_cast<double>(beyond2) / kDraws, p, 5.0 * std::sqrt(p * (1 - p) / kDraws));
}

// Student-t by Bailey's polar method: the empirical CDF at several points matches Boost's CDF
// within 5 binomial standard errors, for nu = 1 (Cauchy), 1.5, 3 and 30.
TEST(Philox, StudentTMatchesTheCdf) {
  for (double nu : {1.0, 1.5, 3.0, 30.0}) {
    Philox rng(3, 0, 0, Purpose::kTest, 0);
    boost::math::students_t dist(nu);
    const std::vector<double> points = {-3.0, -1.0, -0.3, 0.0, 0.5, 2.0, 10.0};
    std::vector<int> below(points.size(), 0);
    for (int i = 0; i < kDraws; ++i) {
      const double t = rng.student_t(nu);
      for (std::size_t j = 0; j < points.size(); ++j) below[j] += t <= points[j];
    }
    for (std::size_t j = 0; j < points.size(); ++j) {
      const double p = boost::math::cdf(dist, points[j]);
      EXPECT_NEAR(static_cast<double>(below[j]) / kDraws, p, 5.0 * std::sqrt(p * (1 - p) / kDraws))
          << "nu = " << nu << ", t = " << points[j];
    }
  }
}

TEST(Philox, BelowIsUniformOverItsRange) {
  Philox rng(4, 0, 0, Purpose::kTest, 0);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    const auto v = rng.below(7);
    ASSERT_LT(v, 7u);
    ++counts[v];
  }
  // Chi-square with 6 degrees of freedom: the 0.9999 quantile is 27.9.
  double chi2 = 0;
  for (int c : counts) chi2 += (c - 10000.0) * (c - 10000.0) / 10000.0;
  EXPECT_LT(chi2, 27.9);
}

TEST(Philox, StreamsAreNamedByEveryComponent) {
  auto first = [](std::uint64_t seed, std::uint64_t replica, std::uint32_t agent, Purpose p,
                  std::uint64_t step) { return Philox(seed, replica, agent, p, step).next_u64(); };
  std::set<std::uint64_t> seen = {
      first(1, 0, 0, Purpose::kNoise, 0),       first(2, 0, 0, Purpose::kNoise, 0),
      first(1, 1, 0, Purpose::kNoise, 0),       first(1, 0, 1, Purpose::kNoise, 0),
      first(1, 0, 0, Purpose::kCompression, 0), first(1, 0, 0, Purpose::kNoise, 1)};
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(first(1, 2, 3, Purpose::kBrownian, 4), first(1, 2, 3, Purpose::kBrownian, 4));
  // A stream's sequence does not depend on how it is consumed: normals() == repeated normal().
  Philox a(5, 1, 2, Purpose::kTest, 3), b(5, 1, 2, Purpose::kTest, 3);
  double buf[6];
  a.normals(buf, 6);
  for (double x : buf) EXPECT_EQ(x, b.normal());
}

}  // namespace
}  // namespace dcsde
