// The concrete objectives. Each is batched over the columns of X (one replica per column).
//
//   quadratic          f = 1/2 sum_j h_j x_j^2                    L = max h, mu = min h, L1 = 0
//   quadratic_rotated  f = 1/2 x^T Q diag(h) Q^T x, Q Haar-random  same constants
//   quartic            f = sum_j x_j^4 / 4                         (L0, L1) = (3, 3), not PL
//   cosh               f = sum_j (cosh x_j - 1)                    (L0, L1) = (1, 1), mu = 1
//   log_cosh           f = sum_j log cosh x_j                      L = 1, not PL
//   logistic           f = (1/n) sum_i log(1 + exp(-y_i a_i^T x)) + (l2/2)||x||^2
//                                                                  L = lambda_max(A^T A)/(4n) + l2, mu = l2
// Proofs of the constants are in docs/reference/objectives.md; tests check each inequality at
// random points (tests/objective/objective_test.cpp).
#pragma once

#include "dcsde/objective/objective.hpp"

namespace dcsde {

// Log-spaced spectrum: h_j = eigen_min (eigen_max/eigen_min)^(j/(d-1)), or the explicit list.
Vector spectrum(const ObjectiveOptions& options);

class DiagonalQuadratic final : public Objective {
 public:
  explicit DiagonalQuadratic(Vector eigenvalues) : h_(std::move(eigenvalues)) {}
  Index dim() const override { return h_.size(); }
  std::string name() const override { return "quadratic"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;
  const Vector& eigenvalues() const { return h_; }

 private:
  Vector h_;
};

class RotatedQuadratic final : public Objective {
 public:
  // H = Q diag(h) Q^T with Q drawn from the Haar measure by stream (seed, Purpose::kProblem).
  RotatedQuadratic(Vector eigenvalues, std::uint64_t seed);
  Index dim() const override { return h_.size(); }
  std::string name() const override { return "quadratic_rotated"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;
  const Vector& eigenvalues() const { return h_; }
  const Eigen::MatrixXd& hessian() const { return H_; }
  const Eigen::MatrixXd& rotation() const { return Q_; }

 private:
  Vector h_;
  Eigen::MatrixXd Q_, H_;
};

// Separable objectives f = sum_j phi(x_j), phi given by its kind.
class Separable final : public Objective {
 public:
  enum class Kind { kQuartic, kCosh, kLogCosh };
  Separable(Kind kind, Index dim) : kind_(kind), dim_(dim) {}
  Index dim() const override { return dim_; }
  std::string name() const override;
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;

 private:
  Kind kind_;
  Index dim_;
};

class Logistic final : public Objective {
 public:
  // n points a_i ~ N(0, I), planted w* ~ N(0, I), y_i = +1 w.p. sigmoid(a_i^T w*) else -1.
  Logistic(Index dim, Index samples, double l2, std::uint64_t seed);
  Index dim() const override { return A_.cols(); }
  std::string name() const override { return "logistic"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;
  const Eigen::MatrixXd& signed_data() const { return A_; }  // rows y_i a_i^T

 private:
  Eigen::MatrixXd A_;  // n x d, row i = y_i a_i^T
  double l2_;
  double lipschitz_;
};

}  // namespace dcsde
