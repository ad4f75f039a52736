// Scaling rules (papers.md 0, the poster's table; 7.6): one test per row of the poster's table,
// each at random positive inputs, then the level they keep, the DSignSGD rule and the errors.
#include "dcsde/theory/scaling.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace dcsde {
namespace {

constexpr std::uint64_t kSeed = 424242;

// Random positive factors and compressions: log-uniform in [1/10, 10] (omega in [1/100, 100]).
class Draw {
 public:
  double factor() { return std::exp(std::log(10.0) * (2.0 * u_(gen_) - 1.0)); }
  double omega() { return std::exp(2.0 * std::log(10.0) * (2.0 * u_(gen_) - 1.0)); }

 private:
  std::mt19937_64 gen_{kSeed};
  std::uniform_real_distribution<double> u_{0.0, 1.0};
};

constexpr int kDraws = 200;

void expect_solved(const ScalingRule& r, const char* solved, double want, double omega) {
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.solved, solved);
  EXPECT_NEAR(r.value, want, 1e-13 * want) << "omega = " << omega << ", seed " << kSeed;
}

// Row 1: alpha = 1 + beta omega (CR up => agents up). Uncompressed reference, kappa = delta = 1.
TEST(PosterScalingTable, Row1AgentsPayForCompression) {
  Draw draw;
  for (int n = 0; n < kDraws; ++n) {
    const double omega = draw.omega(), beta = draw.factor();
    const ScalingRule r = solve_dcsgd_scaling(omega, ScalingReference::kUncompressed,
                                              {.kappa = 1.0, .delta = 1.0, .beta = beta});
    expect_solved(r, "alpha", 1.0 + beta * omega, omega);
    EXPECT_EQ(r.formula, "alpha = kappa (1 + beta omega) / delta");
  }
}

// Row 2: alpha = kappa (1 + omega) (LR up => agents up). Uncompressed, delta = beta = 1.
TEST(PosterScalingTable, Row2AgentsPayForLearningRate) {
  Draw draw;
  for (int n = 0; n < kDraws; ++n) {
    const double omega = draw.omega(), kappa = draw.factor();
    const ScalingRule r = solve_dcsgd_scaling(omega, ScalingReference::kUncompressed,
                                              {.kappa = kappa, .delta = 1.0, .beta = 1.0});
    expect_solved(r, "alpha", kappa * (1.0 + omega), omega);
  }
}

// Row 3: alpha = (1 + omega)/(1 + b omega) (BS down => agents up). Uncompressed, kappa = beta = 1,
// the batch grown by delta = 1 + b omega only. Also the alternative reading: compressed reference
// at b omega, moved to omega (beta = 1/b), kappa = delta = 1.
TEST(PosterScalingTable, Row3AgentsPayForASmallerBatch) {
  Draw draw;
  for (int n = 0; n < kDraws; ++n) {
    const double omega = draw.omega(), b = draw.factor();
    const double want = (1.0 + omega) / (1.0 + b * omega);
    expect_solved(solve_dcsgd_scaling(omega, ScalingReference::kUncompressed,
                                      {.kappa = 1.0, .delta = 1.0 + b * omega, .beta = 1.0}),
                  "alpha", want, omega);
    expect_solved(solve_dcsgd_scaling(b * omega, ScalingReference::kCompressed,
                                      {.kappa = 1.0, .delta = 1.0, .beta = 1.0 / b}),
                  "alpha", want, omega);
  }
}

// Row 4: kappa = (1 + omega)/(1 + beta omega) (CR up => LR down). Compressed, alpha = delta = 1.
TEST(PosterScalingTable, Row4LearningRatePaysForCompression) {
  Draw draw;
  for (int n = 0; n < kDraws; ++n) {
    const double omega = draw.omega(), beta = draw.factor();
    const ScalingRule r = solve_dcsgd_scaling(omega, ScalingReference::kCompressed,
                                              {.delta = 1.0, .alpha = 1.0, .beta = beta});
    expect_solved(r, "kappa", (1.0 + omega) / (1.0 + beta * omega), omega);
    EXPECT_EQ(r.formula, "kappa = alpha delta (1 + omega) / (1 + beta omega)");
    EXPECT_EQ(r.rule, "kappa (1 + beta omega) = alpha delta (1 + omega)");
  }
}

// Row 5: delta = 1 + beta omega (CR up => BS up). Uncompressed, kappa = alpha = 1.
TEST(PosterScalingTable, Row5BatchPaysForCompression) {
  Draw draw;
  for (int n = 0; n < kDraws; ++n) {
    const double omega = draw.omega(), beta = draw.factor();
    const ScalingRule r = solve_dcsgd_scaling(omega, ScalingReference::kUncompressed,
                                              {.kappa = 1.0, .alpha = 1.0, .beta = beta});
    expect_solved(r, "delta", 1.0 + beta * omega, omega);
  }
}

// Row 6: kappa = delta/(1 + omega) (BS up => LR up). Uncompressed, alpha = beta = 1.
TEST(PosterScalingTable, Row6BatchBuysLearningRate) {
  Draw draw;
  for (int n = 0; n < kDraws; ++n) {
    const double omega = draw.omega(), delta = draw.factor();
    const ScalingRule r = solve_dcsgd_scaling(omega, ScalingReference::kUncompressed,
                                              {.delta = delta, .alpha = 1.0, .beta = 1.0});
    expect_solved(r, "kappa", delta / (1.0 + omega), omega);
  }
}

// Whatever the unknown, applying the rule keeps the reference's level eta (1 + omega)/(N B).
TEST(DcsgdScaling, AppliedRuleKeepsTheReferenceLevel) {
  Draw draw;
  for (int n = 0; n < kDraws; ++n) {
    const Hyperparameters base{.eta = 0.01 * draw.factor(),
                               .B = 16.0 * draw.factor(),
                               .N = 8.0 * draw.factor(),
                               .omega = draw.omega()};
    const double k = draw.factor(), dl = draw.factor(), a = draw.factor(), b = draw.factor();
    const DcsgdScalingFactors cases[] = {{.delta = dl, .alpha = a, .beta = b},
                                         {.kappa = k, .alpha = a, .beta = b},
                                         {.kappa = k, .delta = dl, .beta = b},
                                         {.kappa = k, .delta = dl, .alpha = a}};
    for (ScalingReference ref : {ScalingReference::kUncompressed, ScalingReference::kCompressed}) {
      Hyperparameters reference = base;
      if (ref == ScalingReference::kUncompressed) reference.omega = 0.0;
      for (const DcsgdScalingFactors& given : cases) {
        const ScalingRule r = solve_dcsgd_scaling(base.omega, ref, given);
        if (!r.ok) {  // only beta can come out non-positive
          EXPECT_EQ(r.solved, "");
          EXPECT_NE(r.reason.find("beta = "), std::string::npos) << r.reason;
          continue;
        }
        const Hyperparameters scaled = apply_scaling(base, r);
        EXPECT_NEAR(dcsgd_level(scaled), dcsgd_level(reference), 1e-12 * dcsgd_level(reference));
        EXPECT_NEAR(
            r.kappa * (1.0 + r.beta * base.omega),
            r.alpha * r.delta * (ref == ScalingReference::kCompressed ? 1.0 + base.omega : 1.0),
            1e-12 * r.kappa * (1.0 + r.beta * base.omega));
      }
    }
  }
}

TEST(DcsgdScaling, Errors) {
  ScalingRule r =
      solve_dcsgd_scaling(3.0, ScalingReference::kUncompressed, {.kappa = 1.0, .delta = 1.0});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "give exactly 3 of kappa, delta, alpha, beta (got 2: kappa, delta)");
  r = solve_dcsgd_scaling(3.0, ScalingReference::kCompressed,
                          {.kappa = 1.0, .delta = 1.0, .alpha = 1.0, .beta = 1.0});
  EXPECT_EQ(r.reason,
            "give exactly 3 of kappa, delta, alpha, beta (got 4: kappa, delta, alpha, beta)");
  r = solve_dcsgd_scaling(0.0, ScalingReference::kUncompressed,
                          {.kappa = 1.0, .delta = 2.0, .alpha = 1.0});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("beta cannot be solved for with omega = 0"), std::string::npos)
      << r.reason;
  r = solve_dcsgd_scaling(0.0, ScalingReference::kCompressed,
                          {.kappa = 1.0, .delta = 2.0, .alpha = 1.0});
  EXPECT_FALSE(r.ok);
  // alpha delta < kappa: the reference level cannot be reached by compressing.
  r = solve_dcsgd_scaling(3.0, ScalingReference::kUncompressed,
                          {.kappa = 1.0, .delta = 0.5, .alpha = 1.0});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("not positive"), std::string::npos) << r.reason;
  r = solve_dcsgd_scaling(3.0, ScalingReference::kUncompressed,
                          {.kappa = -1.0, .delta = 1.0, .alpha = 1.0});
  EXPECT_EQ(r.reason, "kappa = -1. Violated constraint: 0 < kappa < inf.");
  r = solve_dcsgd_scaling(-1.0, ScalingReference::kUncompressed,
                          {.kappa = 1.0, .delta = 1.0, .alpha = 1.0});
  EXPECT_EQ(r.reason, "omega = -1. Violated constraint: 0 <= omega < inf.");
  // beta is solvable when positive: twice the agents carry 1 + beta omega = 2.
  r = solve_dcsgd_scaling(4.0, ScalingReference::kUncompressed,
                          {.kappa = 1.0, .delta = 1.0, .alpha = 2.0});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_DOUBLE_EQ(r.beta, 0.25);
  EXPECT_EQ(r.formula, "beta = (alpha delta / kappa - 1) / omega");
}

// papers.md 7.6: doubling the agents allows doubling eta; 4x batch allows 2x eta.
TEST(DsignsgdScaling, KeepsKappaOverAlphaSqrtDelta) {
  ScalingRule r = solve_dsignsgd_scaling({.delta = 1.0, .alpha = 2.0});
  ASSERT_TRUE(r.ok) << r.reason;
  EXPECT_DOUBLE_EQ(r.kappa, 2.0);
  r = solve_dsignsgd_scaling({.delta = 4.0, .alpha = 1.0});
  EXPECT_DOUBLE_EQ(r.kappa, 2.0);
  Draw draw;
  for (int n = 0; n < kDraws; ++n) {
    const double k = draw.factor(), dl = draw.factor(), a = draw.factor();
    const DsignsgdScalingFactors cases[] = {
        {.delta = dl, .alpha = a}, {.kappa = k, .alpha = a}, {.kappa = k, .delta = dl}};
    for (const DsignsgdScalingFactors& given : cases) {
      r = solve_dsignsgd_scaling(given);
      ASSERT_TRUE(r.ok) << r.reason;
      EXPECT_NEAR(r.kappa / (r.alpha * std::sqrt(r.delta)), 1.0, 1e-13);
      EXPECT_EQ(r.beta, 1.0);
      const Hyperparameters base{.eta = 0.1, .B = 8.0, .N = 4.0, .omega = 0.0};
      EXPECT_NEAR(dsignsgd_level(apply_scaling(base, r)), dsignsgd_level(base), 1e-13);
    }
  }
  r = solve_dsignsgd_scaling({.kappa = 1.0});
  EXPECT_EQ(r.reason, "give exactly 2 of kappa, delta, alpha (got 1: kappa)");
  r = solve_dsignsgd_scaling({.kappa = 1.0, .delta = 0.0});
  EXPECT_EQ(r.reason, "delta = 0. Violated constraint: 0 < delta < inf.");
}

}  // namespace
}  // namespace dcsde
