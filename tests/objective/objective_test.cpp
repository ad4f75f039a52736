// The contract of objective.hpp, checked for every registered kind: derivatives against central
// differences, bit-for-bit column independence, and the declared constants at random points.
#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>

#include "objective_test_util.hpp"

namespace dcsde::testing {
namespace {

constexpr double kScales[] = {0.1, 1.0, 2.5};  // near the minimum, unit scale, large curvature
constexpr Index kCols = 6;                     // columns per evaluated block

class ObjectiveContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    options_ = test_options(GetParam());
    f_ = make_objective(options_);
  }

  RowVector values(const Batch& X) const {
    RowVector v(X.cols());
    f_->value(X, v);
    return v;
  }
  Batch gradient(const Batch& X) const {
    Batch G(X.rows(), X.cols());
    f_->gradient(X, G);
    return G;
  }
  Batch hvp(const Batch& X, const Batch& V) const {
    Batch HV(X.rows(), X.cols());
    f_->hvp(X, V, HV);
    return HV;
  }

  // min f by Newton's method from 0, for PL checks of a kind without a known f*.
  double minimum_by_newton() const {
    Vector x = Vector::Zero(f_->dim());
    for (int it = 0; it < 100; ++it) {
      const Vector g = gradient(x);
      if (g.norm() < 1e-15) break;
      x -= hessian_at(*f_, x).ldlt().solve(g);
    }
    return values(x)(0);
  }

  ObjectiveOptions options_;
  std::unique_ptr<Objective> f_;
};

TEST_P(ObjectiveContract, NameAndDimensionMatchTheOptions) {
  EXPECT_EQ(f_->name(), GetParam());
  EXPECT_EQ(f_->dim(), kDim);
}

TEST_P(ObjectiveContract, GradientMatchesCentralDifferencesOfValue) {
  constexpr double h = 1e-5;
  std::uint64_t stream = 0;
  for (double scale : kScales) {
    const Batch X = random_block(kDim, kCols, scale, stream++);
    const Batch G = gradient(X);
    Batch fd(kDim, kCols);
    for (Index k = 0; k < kDim; ++k) {  // coordinate k of every column at once
      Batch Xp = X, Xm = X;
      Xp.row(k).array() += h;
      Xm.row(k).array() -= h;
      fd.row(k) = (values(Xp) - values(Xm)) / (2.0 * h);
    }
    for (Index r = 0; r < kCols; ++r) {
      const double g = G.col(r).norm();
      EXPECT_LE((fd.col(r) - G.col(r)).norm(), 1e-6 * std::max(1.0, g))
          << "seed " << kSeed << ", scale " << scale << ", column " << r
          << "\nx = " << X.col(r).transpose() << "\ngrad = " << G.col(r).transpose()
          << "\ncentral differences = " << fd.col(r).transpose();
    }
  }
}

TEST_P(ObjectiveContract, HvpMatchesCentralDifferencesOfGradient) {
  constexpr double h = 1e-5;
  std::uint64_t stream = 10;
  for (double scale : kScales) {
    const Batch X = random_block(kDim, kCols, scale, stream++);
    const Batch V = random_block(kDim, kCols, 1.0, stream++);
    const Batch HV = hvp(X, V);
    const Batch fd = (gradient(X + h * V) - gradient(X - h * V)) / (2.0 * h);
    for (Index r = 0; r < kCols; ++r) {
      EXPECT_LE((fd.col(r) - HV.col(r)).norm(), 1e-6 * std::max(1.0, HV.col(r).norm()))
          << "seed " << kSeed << ", scale " << scale << ", column " << r
          << "\nx = " << X.col(r).transpose() << "\nhvp = " << HV.col(r).transpose()
          << "\ncentral differences = " << fd.col(r).transpose();
    }
  }
}

// A column's outputs do not depend on the block it is evaluated in (objective_test_util.hpp).
TEST_P(ObjectiveContract, ColumnsAreIndependentBitForBit) { expect_columns_independent(*f_); }

// Calls are const and thread-safe: blocks evaluated concurrently (as the runner does, with the
// dense kinds' thread-local scratch) give the bits of one call on the whole batch.
TEST_P(ObjectiveContract, ConcurrentBlocksMatchOneCall) {
  constexpr Index R = 64, kWidth = 5;
  const Batch X = random_block(kDim, R, 1.0, 25);
  const Batch G = gradient(X);
  const RowVector v = values(X);
  Batch Gp(kDim, R);
  RowVector vp(R);
#pragma omp parallel for num_threads(4) schedule(dynamic, 1)
  for (Index first = 0; first < R; first += kWidth) {
    const Index width = std::min(kWidth, R - first);
    f_->gradient(X.middleCols(first, width), Gp.middleCols(first, width));
    f_->value(X.middleCols(first, width), vp.middleCols(first, width));
  }
  EXPECT_TRUE(same_bits(Gp, G));
  EXPECT_TRUE(same_bits(vp, v));
}

// Every declared constant is checked at random points of three scales and at the origin:
//   ||Hess||_2 <= L,  ||Hess||_2 <= L0 + L1 ||grad||,  tr Hess <= trace_hessian_max,
//   f >= f*,  ||grad||^2 >= 2 mu (f - f*)  (f* from Newton's method where it is not declared).
TEST_P(ObjectiveContract, DeclaredConstantsHoldAtRandomPoints) {
  const ObjectiveConstants c = f_->constants();
  EXPECT_EQ(c.L0.has_value(), c.L1.has_value()) << "L0 and L1 come together";
  if (c.L) {
    EXPECT_TRUE(c.L0 && *c.L1 == 0.0 && *c.L0 == *c.L) << "L-smooth means (L, 0)-smooth";
  }
  // f* where declared, else (for a PL kind) from Newton's method; 0 and unused otherwise.
  const bool has_f_star = c.f_star || c.mu;
  const double f_star = c.f_star ? *c.f_star : (c.mu ? minimum_by_newton() : 0.0);
  constexpr double kRel = 1e-12;  // rounding slack of the checks
  std::uint64_t stream = 30;
  for (double scale : kScales) {
    Batch X = random_block(kDim, 8, scale, stream++);
    X.col(0).setZero();
    const RowVector fx = values(X);
    const Batch G = gradient(X);
    for (Index r = 0; r < X.cols(); ++r) {
      const Vector x = X.col(r);
      const Eigen::MatrixXd H = hessian_at(*f_, x);
      const double hess_norm = hessian_norm(*f_, x);
      const double g = G.col(r).norm();
      SCOPED_TRACE(::testing::Message()
                   << "seed " << kSeed << ", scale " << scale << ", x = " << x.transpose()
                   << ", f = " << fx(r) << ", |grad| = " << g << ", ||Hess|| = " << hess_norm);
      ASSERT_TRUE(std::isfinite(fx(r)));
      if (c.L) {
        EXPECT_LE(hess_norm, *c.L * (1 + kRel));
      }
      if (c.L0) {
        EXPECT_LE(hess_norm, (*c.L0 + *c.L1 * g) * (1 + kRel));
      }
      if (c.trace_hessian_max) {
        EXPECT_LE(H.trace(), *c.trace_hessian_max * (1 + kRel));
      }
      if (has_f_star) {
        EXPECT_GE(fx(r), f_star - 1e-12 * (1 + std::abs(f_star)));
      }
      if (c.mu) {
        EXPECT_GE(g * g, 2.0 * *c.mu * (fx(r) - f_star) * (1 - 1e-9) - 1e-12);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllKinds, ObjectiveContract, ::testing::ValuesIn(analytic_kind_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dcsde::testing
