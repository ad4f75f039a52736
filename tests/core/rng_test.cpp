// Philox streams, the laws: uniforms, normals and Student-t values against their exact CDFs
// (Kolmogorov-Smirnov) and moments, with tolerances from the sample size; stream separation.
// The kernels' bits (every SIMD path, splits, random access) are rng_kernels_test.cpp's.
#include "dcsde/core/rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <functional>
#include <numbers>
#include <set>
#include <vector>

namespace dcsde {
namespace {

constexpr Index kDraws = 1'000'000;

// Kolmogorov-Smirnov statistic sqrt(n) sup |F_n - F| of a sample (sorted in place).
double ks_statistic(std::vector<double>& x, const std::function<double(double)>& cdf) {
  std::sort(x.begin(), x.end());
  const auto n = static_cast<double>(x.size());
  double d = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(x[i]);
    d = std::max({d, (static_cast<double>(i) + 1.0) / n - f, f - static_cast<double>(i) / n});
  }
  return std::sqrt(n) * d;
}
// P(sqrt(n) D_n > 2.5) -> 2 sum (-1)^(k-1) exp(-2 k^2 2.5^2) = 7.5e-6 under the null hypothesis.
constexpr double kKsCritical = 2.5;

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

std::vector<double> draw_normals(std::uint64_t seed, Index n) {
  std::vector<double> z(static_cast<std::size_t>(n));
  Philox rng(seed, 0, 0, Purpose::kTest, 0);
  rng.normals(z.data(), n);
  return z;
}

TEST(Philox, UniformsAreUniformOnTheOpenInterval) {
  std::vector<double> u(kDraws);
  Philox rng(1, 0, 0, Purpose::kTest, 0);
  rng.uniforms(u.data(), kDraws);
  double sum = 0.0;
  for (double x : u) {
    ASSERT_GT(x, 0.0);
    ASSERT_LT(x, 1.0);
    sum += x;
  }
  EXPECT_NEAR(sum / kDraws, 0.5, 5.0 / std::sqrt(12.0 * kDraws));  // sd of U(0,1) = 1/sqrt(12)
  EXPECT_LT(ks_statistic(u, [](double x) { return x; }), kKsCritical);
}

TEST(Philox, NormalsHaveTheMomentsOfTheNormalLaw) {
  const std::vector<double> z = draw_normals(2, kDraws);
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0, zmax = 0;
  for (double x : z) {
    m1 += x;
    m2 += x * x;
    m3 += x * x * x;
    m4 += x * x * x * x;
    zmax = std::max(zmax, std::abs(x));
  }
  const double n = kDraws;
  // Var z = 1, Var z^2 = 2, Var z^3 = 15, Var z^4 = 105 - 9 = 96.
  EXPECT_NEAR(m1 / n, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(m2 / n, 1.0, 5.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(m3 / n, 0.0, 5.0 * std::sqrt(15.0 / n));
  EXPECT_NEAR(m4 / n, 3.0, 5.0 * std::sqrt(96.0 / n));  // kurtosis 3
  // |z| <= sqrt(-2 log 2^-53) = 8.57 by construction (rng.hpp); a million draws reach about 5.
  EXPECT_LT(zmax, 8.58);
  EXPECT_GT(zmax, 4.0);
}

TEST(Philox, NormalsPassKolmogorovSmirnovAgainstThePhiCdf) {
  for (std::uint64_t seed : {3, 4}) {
    std::vector<double> z = draw_normals(seed, kDraws);
    EXPECT_LT(ks_statistic(z, normal_cdf), kKsCritical) << "seed " << seed;
  }
}

// Box-Muller pairs: (z0, z1) = rho (cos phi, sin phi) with rho^2/2 ~ Exp(1) and phi uniform,
// independent. Tests the radius, the angle (all eight octant mirrorings of rng.hpp) and the
// independence of the two halves of a pair, which the marginal KS test cannot see.
TEST(Philox, NormalPairsHaveAnExponentialRadiusAndAUniformAngle) {
  const std::vector<double> z = draw_normals(5, kDraws);
  const std::size_t pairs = z.size() / 2;
  std::vector<double> radius(pairs), angle(pairs);
  double cross = 0.0, cross_sq = 0.0;
  for (std::size_t p = 0; p < pairs; ++p) {
    const double a = z[2 * p], b = z[2 * p + 1];
    radius[p] = std::exp(-0.5 * (a * a + b * b));  // U(0, 1) if rho^2 / 2 ~ Exp(1)
    angle[p] = (std::atan2(b, a) + std::numbers::pi) / (2.0 * std::numbers::pi);
    cross += a * b;
    cross_sq += a * a * b * b;
  }
  const auto uniform_cdf = [](double x) { return x; };
  EXPECT_LT(ks_statistic(radius, uniform_cdf), kKsCritical);
  EXPECT_LT(ks_statistic(angle, uniform_cdf), kKsCritical);
  const double n = static_cast<double>(pairs);
  EXPECT_NEAR(cross / n, 0.0, 5.0 / std::sqrt(n));           // Var(z0 z1) = 1
  EXPECT_NEAR(cross_sq / n, 1.0, 5.0 * std::sqrt(8.0 / n));  // E z0^2 z1^2 = 1, Var = 8
  // Consecutive pairs are independent too: correlation of z1 of pair p with z0 of pair p + 1.
  double next = 0.0;
  for (std::size_t p = 0; p + 1 < pairs; ++p) next += z[2 * p + 1] * z[2 * p + 2];
  EXPECT_NEAR(next / n, 0.0, 5.0 / std::sqrt(n));
}

// Student-t by Bailey's method: KS against Boost's exact CDF, for the infinite-mean Cauchy
// (nu = 1), the infinite-variance nu = 1.5 of workload (b), nu = 3 and the near-normal nu = 30,
// through the bulk call and through the one-at-a-time call.
TEST(Philox, StudentTPassesKolmogorovSmirnovAgainstTheExactCdf) {
  for (double nu : {1.0, 1.5, 3.0, 30.0}) {
    const boost::math::students_t law(nu);
    const auto cdf = [&law](double t) { return boost::math::cdf(law, t); };
    // Boost's CDF costs microseconds: 300k + 100k draws keep the test at a few seconds.
    std::vector<double> bulk(300'000);
    Philox rng(6, 0, 0, Purpose::kTest, 0);
    rng.student_ts(bulk.data(), static_cast<Index>(bulk.size()), nu);
    EXPECT_LT(ks_statistic(bulk, cdf), kKsCritical) << "nu = " << nu;
    std::vector<double> single(100'000);
    Philox one(7, 0, 0, Purpose::kTest, 0);
    for (double& t : single) t = one.student_t(nu);
    EXPECT_LT(ks_statistic(single, cdf), kKsCritical) << "nu = " << nu << ", student_t()";
  }
}

// Consecutive Student-t values are independent: P(t_i > 0, t_i+1 > 0) = 1/4, and the tails
// P(|t| > 10) match the CDF (Cauchy: 2 (1 - F(10)) = 0.0635) within 5 binomial standard errors.
TEST(Philox, StudentTValuesAreIndependentWithExactTails) {
  for (double nu : {1.0, 1.5}) {
    std::vector<double> t(kDraws);
    Philox rng(8, 3, 1, Purpose::kNoise, 9);
    rng.student_ts(t.data(), kDraws, nu);
    double both = 0.0, far = 0.0;
    for (Index i = 0; i + 1 < kDraws; i += 2) both += (t[i] > 0.0 && t[i + 1] > 0.0) ? 1.0 : 0.0;
    for (double x : t) far += std::abs(x) > 10.0 ? 1.0 : 0.0;
    const double pairs = kDraws / 2.0;
    EXPECT_NEAR(both / pairs, 0.25, 5.0 * std::sqrt(0.25 * 0.75 / pairs)) << "nu = " << nu;
    const double p = 2.0 * boost::math::cdf(boost::math::students_t(nu), -10.0);
    EXPECT_NEAR(far / kDraws, p, 5.0 * std::sqrt(p * (1.0 - p) / kDraws)) << "nu = " << nu;
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
      first(1, 0, 0, Purpose::kNoise, 0),          first(2, 0, 0, Purpose::kNoise, 0),
      first(1, 1, 0, Purpose::kNoise, 0),          first(1, 0, 1, Purpose::kNoise, 0),
      first(1, 0, 0, Purpose::kCompression, 0),    first(1, 0, 0, Purpose::kNoise, 1),
      first(1, 1ULL << 32, 0, Purpose::kNoise, 0), first(1, 0, 0, Purpose::kNoise, 1ULL << 32)};
  EXPECT_EQ(seen.size(), 8u);
  EXPECT_EQ(first(1, 2, 3, Purpose::kBrownian, 4), first(1, 2, 3, Purpose::kBrownian, 4));
  // The three sequences of one stream are different numbers.
  Philox a(5, 1, 2, Purpose::kTest, 3), b(5, 1, 2, Purpose::kTest, 3);
  EXPECT_NE(a.normal(), b.student_t(1000.0));
}

// Neighbouring streams (replicas r, r + 1 of one step; steps k, k + 1 of one replica) are
// uncorrelated: the runner's columns and steps must not share structure.
TEST(Philox, NeighbouringStreamsAreUncorrelated) {
  const Index n = 200'000, d = 4;
  double by_replica = 0.0, by_step = 0.0;
  double z[d], w[d], u[d], v[d];
  for (Index r = 0; r < n; ++r) {
    const auto i = static_cast<std::uint64_t>(r);
    Philox(9, i, 0, Purpose::kNoise, 0).normals(z, d);
    Philox(9, i + 1, 0, Purpose::kNoise, 0).normals(w, d);
    Philox(9, 0, 0, Purpose::kNoise, i).normals(u, d);
    Philox(9, 0, 0, Purpose::kNoise, i + 1).normals(v, d);
    by_replica += z[0] * w[0];
    by_step += u[1] * v[1];
  }
  EXPECT_NEAR(by_replica / n, 0.0, 5.0 / std::sqrt(static_cast<double>(n)));
  EXPECT_NEAR(by_step / n, 0.0, 5.0 / std::sqrt(static_cast<double>(n)));
}

}  // namespace
}  // namespace dcsde
