// Shared fixtures of the objective tests: options per kind, random points, Hessians via hvp,
// bitwise comparison.
#pragma once

#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <bit>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dcsde/core/rng.hpp"
#include "dcsde/objective/objective.hpp"

namespace dcsde::testing {

inline constexpr std::uint64_t kSeed = 0x0b1e'c71e'2025ULL;  // printed by failing tests
inline constexpr Index kDim = 7;  // odd, so the columns of a block sit at mixed alignments

// Options that exercise `kind` at dimension d (a small dataset and a visible ridge for logistic).
inline ObjectiveOptions test_options(const std::string& kind, Index d = kDim) {
  return {.kind = *kind_named<ObjectiveKind>(kind),
          .dim = d,
          .samples = 300,
          .l2 = 0.05,
          .seed = kSeed};
}

// The analytic kinds; networks (torch) run the same contract in tests/torch.
inline std::vector<std::string> analytic_kind_names() {
  std::vector<std::string> names;
  for (const ObjectiveSpec& k : kind_specs(ObjectiveKind{}))
    if (!(k.keys & kObjectiveNetwork)) names.emplace_back(k.name);
  return names;
}

// A d x R block of N(0, scale^2) coordinates from test stream `stream`.
inline Batch random_block(Index d, Index R, double scale, std::uint64_t stream) {
  Batch X(d, R);
  Philox rng(kSeed, stream, 0, Purpose::kTest, 0);
  rng.normals(X.data(), X.size());
  return scale * X;
}

// The full Hessian at x, one batched hvp with V = I (column j = Hess e_j), symmetrised.
inline Eigen::MatrixXd hessian_at(const Objective& f, const Vector& x) {
  const Index d = f.dim();
  const Batch X = x.replicate(1, d);
  const Batch I = Batch::Identity(d, d);
  Batch H(d, d);
  f.hvp(X, I, H);
  return 0.5 * (H + H.transpose());
}

// ||Hess f(x)||_2 = max |eigenvalue| of the symmetric Hessian.
inline double hessian_norm(const Objective& f, const Vector& x) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(hessian_at(f, x),
                                                           Eigen::EigenvaluesOnly);
  return eig.eigenvalues().cwiseAbs().maxCoeff();
}

// True when a and b hold the same bits (so +0 != -0 and NaN == NaN of the same payload).
template <class A, class B>
bool same_bits(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  for (Index j = 0; j < a.cols(); ++j) {
    for (Index i = 0; i < a.rows(); ++i) {
      if (std::bit_cast<std::uint64_t>(static_cast<double>(a(i, j))) !=
          std::bit_cast<std::uint64_t>(static_cast<double>(b(i, j)))) {
        return false;
      }
    }
  }
  return true;
}

// A column's outputs must not depend on the block it is evaluated in: alone (a fresh, aligned
// d x 1 block) or at any offset and width of a larger block (misaligned columns, the 4-column
// groups and the remainders of the dense kernels), value, gradient and hvp give the same bits.
inline void expect_columns_independent(const Objective& f, Index R = 11) {
  const Index d = f.dim();
  const Batch X = random_block(d, R, 1.0, 20);
  const Batch V = random_block(d, R, 1.0, 21);
  RowVector v(R);
  Batch G(d, R), HV(d, R);
  f.value(X, v);
  f.gradient(X, G);
  f.hvp(X, V, HV);
  const std::pair<Index, Index> blocks[] = {{1, 4}, {2, 5}, {3, 8}, {0, 9}, {5, 6}, {7, 1}};
  std::vector<std::pair<Index, Index>> all(std::begin(blocks), std::end(blocks));
  for (Index r = 0; r < R; ++r) all.emplace_back(r, 1);
  for (const auto& [first, width] : all) {
    if (first + width > R) continue;
    SCOPED_TRACE(::testing::Message() << f.name() << ", d = " << d << ", columns " << first << ".."
                                      << first + width - 1 << " of " << R);
    RowVector vb(width);
    Batch Gb(d, width), HVb(d, width);
    if (width == 1) {  // a fresh copy of the column
      const Batch x = X.col(first), w = V.col(first);
      f.value(x, vb);
      f.gradient(x, Gb);
      f.hvp(x, w, HVb);
    } else {  // a Ref into X: no copy, columns at any alignment
      f.value(X.middleCols(first, width), vb);
      f.gradient(X.middleCols(first, width), Gb);
      f.hvp(X.middleCols(first, width), V.middleCols(first, width), HVb);
    }
    EXPECT_TRUE(same_bits(vb, v.middleCols(first, width))) << "value";
    EXPECT_TRUE(same_bits(Gb, G.middleCols(first, width))) << "gradient";
    EXPECT_TRUE(same_bits(HVb, HV.middleCols(first, width))) << "hvp";
  }
}

}  // namespace dcsde::testing
