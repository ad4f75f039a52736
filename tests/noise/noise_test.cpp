// NoiseModel: the sampled law matches papers.md 4 (CLT tolerances), per agent and per batch.
#include <gtest/gtest.h>

#include <boost/math/distributions/students_t.hpp>
#include <cmath>

#include "dcsde/noise/noise_model.hpp"

namespace dcsde {
namespace {

constexpr Index kReplicas = 20000;

// Draws agent `agent`'s stochastic gradient at G (the same column in every replica).
Batch draw(const NoiseModel& noise, const Vector& g, std::uint32_t agent) {
  Batch G = g.replicate(1, kReplicas), out(g.size(), kReplicas);
  noise.sample(G, DrawContext{9, 0, agent, 0}, out);
  return out;
}

TEST(Noise, NoneReturnsTheGradient) {
  NoiseModel noise(NoiseOptions{.kind = NoiseKind::kNone}, 1, 3);
  const Vector g = Vector::LinSpaced(3, -1, 1);
  EXPECT_EQ(draw(noise, g, 0), g.replicate(1, kReplicas));
}

TEST(Noise, GaussianHasMeanGradientAndVarianceSigmaSquaredOverBatchPerAgent) {
  NoiseOptions options{.kind = NoiseKind::kGaussian,
                       .sigma = {0.5, 2.0},
                       .coordinate_scale = {1.0, 3.0},
                       .batch = 4};
  NoiseModel noise(options, 2, 2);
  const Vector g = Vector::Constant(2, 1.5);
  for (std::uint32_t agent : {0u, 1u}) {
    const Batch out = draw(noise, g, agent);
    for (Index j = 0; j < 2; ++j) {
      const double sd = options.sigma[agent] * options.coordinate_scale[j] / 2.0;
      const Eigen::ArrayXd z = out.row(j).array() - 1.5;
      EXPECT_NEAR(z.mean(), 0.0, 5.0 * sd / std::sqrt(kReplicas));
      EXPECT_NEAR((z * z).mean(), sd * sd, 5.0 * sd * sd * std::sqrt(2.0 / kReplicas));
    }
  }
}

TEST(Noise, AffineGaussianVarianceGrowsWithTheGradientNorm) {
  NoiseModel noise(
      NoiseOptions{.kind = NoiseKind::kAffineGaussian, .sigma0 = {0.3}, .sigma1 = {0.5}}, 1, 4);
  const Vector g = Vector::Constant(4, 2.0);  // ||g|| = 4
  const double var = 0.3 * 0.3 + 0.25 * 16.0;
  const Batch out = draw(noise, g, 0);
  const Eigen::ArrayXd z = out.row(2).array() - 2.0;
  EXPECT_NEAR((z * z).mean(), var, 5.0 * var * std::sqrt(2.0 / kReplicas));
  Vector s(4);
  noise.scale(g, 0, s);
  EXPECT_DOUBLE_EQ(s[0], std::sqrt(var));
}

// Student-t: the sign probability P(g + s T > 0) = F_nu(g/s) is what DSignSGD's SDE uses;
// check it, with nu = 1 (Cauchy, no mean) included, and the affine scale s0 + s1 ||g||.
TEST(Noise, StudentTSignProbabilityIsTheCdfOfTheSignalToScaleRatio) {
  for (const NoiseKind kind : {NoiseKind::kStudentT, NoiseKind::kAffineStudentT}) {
    for (double nu : {1.0, 2.5}) {
      NoiseOptions options{
          .kind = kind, .sigma = {0.8}, .sigma0 = {0.2}, .sigma1 = {0.5}, .nu = nu};
      NoiseModel noise(options, 1, 2);
      Vector g(2);
      g << 0.4, -0.3;
      const double scale = kind == NoiseKind::kStudentT ? 0.8 : 0.2 + 0.5 * g.norm();
      const Batch out = draw(noise, g, 0);
      boost::math::students_t dist(nu);
      for (Index j = 0; j < 2; ++j) {
        const double p = boost::math::cdf(dist, g[j] / scale);
        const double positive = (out.row(j).array() > 0.0).cast<double>().mean();
        EXPECT_NEAR(positive, p, 5.0 * std::sqrt(p * (1 - p) / kReplicas)) << kind << " nu=" << nu;
      }
      EXPECT_EQ(noise.finite_variance(), nu > 2.0);
    }
  }
}

TEST(Noise, AgentsDrawIndependentStreams) {
  NoiseModel noise(NoiseOptions{.kind = NoiseKind::kGaussian, .sigma = {1.0}}, 2, 1);
  const Vector g = Vector::Zero(1);
  const Batch a = draw(noise, g, 0), b = draw(noise, g, 1);
  const double corr = (a.array() * b.array()).mean();
  EXPECT_NEAR(corr, 0.0, 5.0 / std::sqrt(kReplicas));
}

}  // namespace
}  // namespace dcsde
