// What is particular to one kind: the registry, the quadratic spectrum and rotation, the logistic
// dataset and its constants, and the numerically delicate ranges of cosh and log_cosh.
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "dcsde/core/error.hpp"
#include "dcsde/objective/objectives.hpp"
#include "objective_test_util.hpp"

namespace dcsde::testing {
namespace {

TEST(ObjectiveRegistry, SevenDistinctKindsEachBuildsItself) {
  const auto kinds = kind_specs(ObjectiveKind{});
  EXPECT_GE(kinds.size(), 7u);  // a new kind passes this suite unchanged
  std::set<std::string> names;
  for (const ObjectiveSpec& info : kinds) {
    const std::string name(info.name);
    EXPECT_TRUE(names.insert(name).second) << name;
    EXPECT_FALSE(info.meaning.empty());
    if (info.keys & kObjectiveNetwork) continue;  // below
    EXPECT_EQ(make_objective(test_options(name))->name(), name);
  }
}

TEST(ObjectiveRegistry, TorchWithoutLibTorchSaysWhatToInstall) {
  // This test binary does not link the torch module, so no network factory is installed.
  ASSERT_EQ(network_factory(), nullptr);
  try {
    make_objective({.kind = ObjectiveKind::kTorch});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("libtorch-dev"), std::string::npos) << e.what();
  }
}

TEST(Quadratic, LogSpacedSpectrumHasExactEndpointsAndAGeometricRatio) {
  const ObjectiveOptions o{
      .kind = ObjectiveKind::kQuadratic, .dim = 6, .eigen_min = 0.1, .eigen_max = 10.0};
  const Vector h = spectrum(o);
  ASSERT_EQ(h.size(), 6);
  EXPECT_EQ(h[0], 0.1);
  EXPECT_EQ(h[5], 10.0);
  const double ratio = std::pow(100.0, 1.0 / 5.0);
  for (Index j = 0; j + 1 < h.size(); ++j) EXPECT_NEAR(h[j + 1] / h[j], ratio, 1e-14 * ratio);

  const auto f = make_objective(o);
  const auto& q = dynamic_cast<const DiagonalQuadratic&>(*f);
  EXPECT_EQ(q.eigenvalues(), h);
  const ObjectiveConstants c = f->constants();
  EXPECT_EQ(*c.L, 10.0);
  EXPECT_EQ(*c.mu, 0.1);
  EXPECT_EQ(*c.L1, 0.0);
  EXPECT_DOUBLE_EQ(*c.trace_hessian_max, h.sum());
  EXPECT_EQ(*c.f_star, 0.0);
}

TEST(Quadratic, DegenerateRangesAndExplicitSpectrum) {
  // d = 1 takes eigen_min; eigen_min = eigen_max gives a flat spectrum, exactly.
  EXPECT_EQ(spectrum({.dim = 1, .eigen_min = 0.5, .eigen_max = 4.0}), Vector::Constant(1, 0.5));
  EXPECT_EQ(spectrum({.dim = 5, .eigen_min = 0.3, .eigen_max = 0.3}), Vector::Constant(5, 0.3));
  // An explicit list is used verbatim, in its order, and overrides the range.
  const Vector h = spectrum({.dim = 3, .eigenvalues = {2.0, 0.5, 7.0}, .eigen_min = 9.0});
  EXPECT_EQ(h, (Vector(3) << 2.0, 0.5, 7.0).finished());
  const auto f =
      make_objective({.kind = ObjectiveKind::kQuadratic, .dim = 3, .eigenvalues = {2.0, 0.5, 7.0}});
  EXPECT_EQ(*f->constants().L, 7.0);
  EXPECT_EQ(*f->constants().mu, 0.5);
  Batch x(3, 1);
  x << 1.0, 2.0, -1.0;
  RowVector v(1);
  f->value(x, v);
  EXPECT_EQ(v(0), 0.5 * (2.0 + 0.5 * 4.0 + 7.0));
}

TEST(QuadraticRotated, RotationIsOrthogonalAndKeepsTheSpectrum) {
  const ObjectiveOptions o = test_options("quadratic_rotated", 12);
  const auto f = make_objective(o);
  const auto& q = dynamic_cast<const RotatedQuadratic&>(*f);
  const Index d = o.dim;
  EXPECT_LE((q.rotation().transpose() * q.rotation() - Eigen::MatrixXd::Identity(d, d))
                .cwiseAbs()
                .maxCoeff(),
            1e-12);
  EXPECT_EQ(q.hessian(), q.hessian().transpose()) << "H is exactly symmetric";
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(q.hessian(), Eigen::EigenvaluesOnly);
  Vector h = spectrum(o);
  std::sort(h.begin(), h.end());
  EXPECT_LE((eig.eigenvalues() - h).cwiseAbs().maxCoeff(), 1e-12 * h.maxCoeff());
  EXPECT_EQ(q.eigenvalues(), spectrum(o));
  // Not accidentally diagonal.
  EXPECT_GT((q.hessian() - Eigen::MatrixXd(q.hessian().diagonal().asDiagonal())).norm(), 1.0);
}

TEST(QuadraticRotated, SameSeedSameHessianDifferentSeedDifferentHessian) {
  ObjectiveOptions o = test_options("quadratic_rotated", 9);
  const RotatedQuadratic a(spectrum(o), o.seed), b(spectrum(o), o.seed);
  const RotatedQuadratic c(spectrum(o), o.seed + 1);
  EXPECT_TRUE(same_bits(a.hessian(), b.hessian()));
  EXPECT_TRUE(same_bits(a.rotation(), b.rotation()));
  EXPECT_GT((a.hessian() - c.hessian()).norm(), 0.1);
}

// Without the sign fix Householder QR returns R_00 of sign opposite to G_00, so Q_00 would be
// almost always of one sign; Haar Q has E Q_00 = 0 (sd 1/sqrt(d) per draw).
TEST(QuadraticRotated, HaarSignFixMakesTheFirstEntrySymmetric) {
  constexpr int kDraws = 400;
  constexpr Index d = 3;
  double sum = 0.0;
  for (int s = 0; s < kDraws; ++s) {
    sum += RotatedQuadratic(Vector::Ones(d), static_cast<std::uint64_t>(s)).rotation()(0, 0);
  }
  const double sd = 1.0 / std::sqrt(static_cast<double>(d) * kDraws);
  EXPECT_LE(std::abs(sum / kDraws), 4.0 * sd);
}

// At d = 300 Eigen's GEMM already sums a column differently depending on the block width, even
// without FMA; the dense kinds' ordered product must not.
TEST(DenseKinds, ColumnsAreIndependentBitForBitAtLargeDimension) {
  expect_columns_independent(RotatedQuadratic(Vector::LinSpaced(300, 0.1, 10.0), kSeed), 13);
  expect_columns_independent(Logistic(300, 600, 0.01, kSeed), 13);
}

TEST(Logistic, SameSeedSameDataAndPrefixesDoNotDependOnSamples) {
  const Logistic a(kDim, 200, 0.01, kSeed), b(kDim, 200, 0.01, kSeed);
  const Logistic c(kDim, 200, 0.01, kSeed + 1), shorter(kDim, 50, 0.01, kSeed);
  EXPECT_TRUE(same_bits(a.signed_data(), b.signed_data()));
  EXPECT_TRUE(same_bits(a.labels(), b.labels()));
  EXPECT_TRUE(same_bits(a.planted(), b.planted()));
  EXPECT_FALSE(same_bits(a.signed_data(), c.signed_data()));
  EXPECT_TRUE(same_bits(shorter.signed_data(), a.signed_data().topRows(50)));
  EXPECT_EQ(*a.constants().L, *b.constants().L);
}

TEST(Logistic, LabelsFollowThePlantedModel) {
  const Logistic f(kDim, 2000, 0.0, kSeed);
  // Row i of the signed data is y_i a_i, so y_i a_i^T w* > 0 when the label agrees with w*.
  const Vector agree = (f.signed_data() * f.planted()).array().sign();
  const double fraction = (agree.array() > 0).cast<double>().mean();
  EXPECT_GT(fraction, 0.7);   // E sigmoid(|a^T w*|) ~ 0.85 for ||w*||^2 ~ d = 7
  EXPECT_LT(fraction, 0.97);  // labels are random, not the sign of the margin
  EXPECT_TRUE(((f.labels().array() == 1.0) || (f.labels().array() == -1.0)).all());
}

TEST(Logistic, ValueAtZeroIsLog2AndLIsTheHessianNormThere) {
  const Logistic f(kDim, 300, 0.05, kSeed);
  const Batch zero = Batch::Zero(kDim, 1);
  RowVector v(1);
  f.value(zero, v);
  EXPECT_NEAR(v(0), std::log(2.0), 1e-14);  // a mean of n roundings of log 2
  // s(1 - s) = 1/4 at every margin when x = 0, so the bound L is attained there.
  const double L = *f.constants().L;
  EXPECT_NEAR(hessian_norm(f, Vector::Zero(kDim)), L, 1e-12 * L);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(
      f.signed_data().transpose() * f.signed_data(), Eigen::EigenvaluesOnly);
  EXPECT_NEAR(L, eig.eigenvalues().maxCoeff() / (4.0 * 300) + 0.05, 1e-12 * L);
  for (double scale : {0.3, 1.0, 5.0}) {
    const Batch X = random_block(kDim, 10, scale, 40);
    for (Index r = 0; r < X.cols(); ++r) EXPECT_LE(hessian_norm(f, X.col(r)), L * (1 + 1e-12));
  }
  EXPECT_EQ(*f.constants().mu, 0.05);
  EXPECT_FALSE(f.constants().f_star.has_value());
  EXPECT_FALSE(Logistic(kDim, 10, 0.0, kSeed).constants().mu.has_value()) << "l2 = 0: not PL";
}

TEST(Logistic, FiniteAtHugeMargins) {
  const Logistic f(kDim, 100, 0.0, kSeed);
  const Batch X = random_block(kDim, 4, 1e4, 50);
  RowVector v(4);
  Batch G(kDim, 4), HV(kDim, 4);
  f.value(X, v);
  f.gradient(X, G);
  f.hvp(X, X, HV);
  EXPECT_TRUE(v.allFinite());
  EXPECT_TRUE(G.allFinite());
  EXPECT_TRUE(HV.allFinite());
  EXPECT_GT(v.minCoeff(), 0.0);
}

TEST(LogCosh, FiniteAndExactAtOneMillion) {
  const LogCosh f(2);
  Batch X(2, 1);
  X << 1e6, -1e6;
  RowVector v(1);
  Batch G(2, 1), HV(2, 1);
  f.value(X, v);
  f.gradient(X, G);
  f.hvp(X, Batch::Ones(2, 1), HV);
  EXPECT_DOUBLE_EQ(v(0), 2.0 * (1e6 - std::log(2.0)));
  EXPECT_EQ(G(0), 1.0);
  EXPECT_EQ(G(1), -1.0);
  EXPECT_EQ(HV(0), 0.0);
  EXPECT_EQ(HV(1), 0.0);
  // And accurate near the minimum: log cosh t = t^2/2 - t^4/12 + ..., no cancellation.
  X << 1e-5, 0.0;
  f.value(X, v);
  EXPECT_NEAR(v(0), 0.5e-10 - 1e-20 / 12.0, 1e-25);
  X << 0.9, 1.1;  // both sides of the switch of formulas, against the naive one
  f.value(X, v);
  EXPECT_NEAR(v(0), std::log(std::cosh(0.9)) + std::log(std::cosh(1.1)), 1e-15);
}

TEST(Cosh, ValueHasNoCancellationNearZero) {
  const Cosh f(1);
  Batch X(1, 2);
  X << 1e-8, -3e-9;
  RowVector v(2);
  f.value(X, v);
  EXPECT_NEAR(v(0), 0.5e-16, 1e-30);  // cosh(1e-8) - 1 rounds to 0 in double
  EXPECT_NEAR(v(1), 4.5e-18, 1e-32);
}

}  // namespace
}  // namespace dcsde::testing
