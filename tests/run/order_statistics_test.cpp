// Order statistics (run/order_statistics.hpp): quantiles against hand-computed values of small
// arrays (numpy's "linear" definition) and against a full sort, and the order-statistic
// confidence interval of the median against binomial tables.
#include "dcsde/run/order_statistics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace dcsde {
namespace {

double q_of(std::vector<double> values, double q) { return quantile(values, q); }

TEST(Quantile, SingleValueIsEveryQuantile) {
  for (double q : {0.0, 0.05, 0.5, 0.95, 1.0}) EXPECT_EQ(q_of({3.5}, q), 3.5) << q;
}

// n = 5, sorted 1..5: h = 4q; Q(0.05) = 1 + 0.2 (2 - 1), Q(0.95) = 4 + 0.8 (5 - 4).
TEST(Quantile, OddCountByHand) {
  const std::vector<double> v = {5, 1, 4, 2, 3};
  EXPECT_EQ(q_of(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(q_of(v, 0.05), 1.2);
  EXPECT_EQ(q_of(v, 0.25), 2.0);
  EXPECT_EQ(q_of(v, 0.5), 3.0);
  EXPECT_EQ(q_of(v, 0.75), 4.0);
  EXPECT_DOUBLE_EQ(q_of(v, 0.95), 4.8);
  EXPECT_EQ(q_of(v, 1.0), 5.0);
}

// n = 4, sorted 10, 20, 30, 40: h = 3q; the median is the mean of the middle two.
TEST(Quantile, EvenCountByHand) {
  const std::vector<double> v = {10, 40, 20, 30};
  EXPECT_DOUBLE_EQ(q_of(v, 0.05), 11.5);  // h = 0.15
  EXPECT_DOUBLE_EQ(q_of(v, 0.25), 17.5);  // h = 0.75
  EXPECT_EQ(q_of(v, 0.5), 25.0);          // h = 1.5
  EXPECT_DOUBLE_EQ(q_of(v, 0.75), 32.5);  // h = 2.25
  EXPECT_DOUBLE_EQ(q_of(v, 0.95), 38.5);  // h = 2.85
}

// Ties: sorted 2, 2, 2, 7, 7; h = 4q.
TEST(Quantile, TiesByHand) {
  const std::vector<double> v = {7, 2, 2, 7, 2};
  EXPECT_EQ(q_of(v, 0.25), 2.0);          // h = 1: between two 2s
  EXPECT_EQ(q_of(v, 0.5), 2.0);           // h = 2
  EXPECT_DOUBLE_EQ(q_of(v, 0.6), 4.0);    // h = 2.4: 2 + 0.4 (7 - 2)
  EXPECT_EQ(q_of(v, 0.75), 7.0);          // h = 3
  EXPECT_EQ(q_of({4, 4, 4, 4}, 0.3), 4);  // all equal: no rounding in the interpolation
}

// Several levels in one call equal the formula applied to the sorted values, for many sizes;
// nothing depends on the order of the input.
TEST(Quantile, ManyLevelsEqualTheSortedFormula) {
  const double levels[] = {0.0, 0.05, 0.25, 0.5, 0.5, 0.75, 0.95, 1.0};
  std::mt19937_64 rng(7);
  for (Index n : {1, 2, 3, 4, 5, 10, 33, 128, 1001}) {
    std::vector<double> v(static_cast<std::size_t>(n));
    for (double& x : v) x = static_cast<double>(rng() % 50) / 4.0;  // many ties
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> reversed(sorted.rbegin(), sorted.rend());
    double got[std::size(levels)], got_reversed[std::size(levels)];
    quantiles(v, levels, got);
    quantiles(reversed, levels, got_reversed);
    for (std::size_t i = 0; i < std::size(levels); ++i) {
      const double h = static_cast<double>(n - 1) * levels[i];
      const auto j = static_cast<std::size_t>(std::floor(h));
      const double t = h - static_cast<double>(j);
      const double a = sorted[j], b = sorted[std::min(j + 1, sorted.size() - 1)];
      const double expected = t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
      EXPECT_EQ(got[i], expected) << "n = " << n << ", q = " << levels[i];
      EXPECT_EQ(got_reversed[i], got[i]) << "n = " << n << ", q = " << levels[i];
    }
  }
}

// Binomial(n, 1/2) tables: n = 10 -> x_(2), x_(9) in 1-based order statistics, P(B <= 1) =
// 11/1024; n = 20 -> x_(6), x_(15), P(B <= 5) = 21700/2^20; n = 6 -> min and max.
TEST(MedianInterval, OrderStatisticIndicesForSmallSamples) {
  EXPECT_FALSE(median_interval(1).has_value());
  EXPECT_FALSE(median_interval(5).has_value()) << "[min, max] covers with 1 - 2^-4 < 0.95 only";
  auto ci = median_interval(6);
  ASSERT_TRUE(ci.has_value());
  EXPECT_EQ(ci->lower, 0);
  EXPECT_EQ(ci->upper, 5);
  EXPECT_NEAR(ci->coverage, 1.0 - 2.0 / 64.0, 1e-14);
  ci = median_interval(10);
  ASSERT_TRUE(ci.has_value());
  EXPECT_EQ(ci->lower, 1);
  EXPECT_EQ(ci->upper, 8);
  EXPECT_NEAR(ci->coverage, 1.0 - 2.0 * 11.0 / 1024.0, 1e-14);
  ci = median_interval(20);
  ASSERT_TRUE(ci.has_value());
  EXPECT_EQ(ci->lower, 5);
  EXPECT_EQ(ci->upper, 14);
  EXPECT_NEAR(ci->coverage, 1.0 - 2.0 * 21700.0 / 1048576.0, 1e-14);
}

// Large n: the normal approximation n/2 -+ 1.96 sqrt(n)/2 within a couple of indices, the
// coverage at least 95% and barely more; no underflow of 2^-n for n > 1074.
TEST(MedianInterval, LargeSamplesFollowTheNormalApproximation) {
  for (Index n : {100, 2000, 100000}) {
    const auto ci = median_interval(n);
    ASSERT_TRUE(ci.has_value()) << n;
    const double half = 1.959964 * std::sqrt(static_cast<double>(n)) / 2.0;
    EXPECT_NEAR(static_cast<double>(ci->lower), static_cast<double>(n) / 2.0 - half, 2.0) << n;
    EXPECT_EQ(ci->upper, n - 1 - ci->lower);
    EXPECT_GE(ci->coverage, 0.95) << n;
    EXPECT_LT(ci->coverage, n >= 2000 ? 0.955 : 0.97) << n;
  }
}

TEST(OrderStatistic, SelectsTheKthSmallest) {
  std::vector<double> v = {9, 3, 7, 1, 5};
  EXPECT_EQ(order_statistic(v, 0), 1.0);
  EXPECT_EQ(order_statistic(v, 1), 3.0);
  EXPECT_EQ(order_statistic(v, 4), 9.0);
}

}  // namespace
}  // namespace dcsde
