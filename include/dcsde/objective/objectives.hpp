// The concrete objectives, one `final` class per kind of the registry (objective_kinds()).
//
//   kind               f(x)                                     constants
//   quadratic          1/2 sum_j h_j x_j^2                      L = L0 = max h, L1 = 0, mu = min h
//   quadratic_rotated  1/2 x^T Q diag(h) Q^T x, Q Haar-random   as quadratic
//   quartic            sum_j x_j^4 / 4                          (L0, L1) = (3, 3); no L, no mu
//   cosh               sum_j (cosh x_j - 1)                     (L0, L1) = (1, 1), mu = 1; no L
//   log_cosh           sum_j log cosh x_j                       L = L0 = 1, L1 = 0; no mu
//   logistic           (1/n) sum_i log(1 + exp(-y_i a_i^T x))   L = L0 = lambda_max(A^T A)/(4n)
//                        + (l2/2) ||x||^2                         + l2, L1 = 0, mu = l2
//
// Definitions of the constants: papers.md 7.4 (L-smooth, mu-PL), 7.5 (trace bound), 8.1 ((L0,L1)-
// smoothness: ||Hess f(x)||_2 <= L0 + L1 ||grad f(x)||). Each class comment proves its constants;
// docs/reference/objectives.md repeats the proofs with the TOML keys, and
// tests/objective/objective_test.cpp checks every inequality at random points.
//
// Determinism. A column's outputs are computed by the same sequence of floating-point operations
// whatever the block around it: element-wise expressions, per-column sums, and for the dense
// kinds (quadratic_rotated, logistic) a matrix product whose k-sum runs in a fixed order instead
// of Eigen's GEMM, whose summation order depends on the block width and on alignment. So
// value/gradient/hvp of a replica are bit-identical for every block size and thread count.
// Outputs must not alias inputs (asserted for the dense kinds). Calls are thread-safe; the dense
// kinds keep thread-local scratch blocks, so a warm thread allocates nothing per call.
#pragma once

#include <cstdint>

#include "dcsde/objective/objective.hpp"

namespace dcsde {

// The spectrum h of the quadratic kinds: `options.eigenvalues` when given (length dim), else
// log-spaced from eigen_min to eigen_max, both endpoints included and exact:
//   h_j = eigen_min * (eigen_max / eigen_min)^(j / (d - 1)),  j = 0..d-1,
// computed as eigen_min * exp(t_j log(eigen_max / eigen_min)) so consecutive ratios are equal up
// to rounding. For d = 1 the single eigenvalue is eigen_min (t_0 = 0, as for every d).
// Options must have passed validate().
Vector spectrum(const ObjectiveOptions& options);

// f(x) = 1/2 sum_j h_j x_j^2, grad f = h .* x, Hess f = diag(h).
// Constants: Hess = diag(h), so ||Hess|| = max h = L = L0, L1 = 0, tr Hess = sum h;
// PL: ||grad f||^2 = sum h_j^2 x_j^2 >= (min h) sum h_j x_j^2 = 2 mu f with mu = min h; f* = 0.
// The runner's tests compute exact stationary moments from eigenvalues() (papers.md 9).
class DiagonalQuadratic final : public Objective {
 public:
  explicit DiagonalQuadratic(Vector eigenvalues);

  Index dim() const override { return h_.size(); }
  std::string name() const override { return "quadratic"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;

  const Vector& eigenvalues() const { return h_; }  // h, all > 0

 private:
  Vector h_;
};

// Largest dim validate() accepts for quadratic_rotated: H and Q are dense and the QR is O(d^3).
inline constexpr Index kMaxRotatedDim = 4096;

// f(x) = 1/2 x^T H x with H = Q diag(h) Q^T; grad f = H x, Hess f = H.
// Q is Haar-distributed on O(d): the QR factorisation G = Q R of a d x d standard Gaussian
// matrix G (column-major, all d^2 entries from the one stream Philox(seed, 0, 0,
// Purpose::kProblem, 0)), with column j of Q multiplied by sign(R_jj) so that the law of Q does
// not depend on the QR algorithm's sign convention (Mezzadri 2007). H is symmetrised,
// H = (H + H^T)/2, so it is exactly symmetric. Same constants as DiagonalQuadratic (rotation
// preserves the spectrum, and with y = Q^T x every inequality is the diagonal one).
class RotatedQuadratic final : public Objective {
 public:
  RotatedQuadratic(Vector eigenvalues, std::uint64_t seed);

  Index dim() const override { return h_.size(); }
  std::string name() const override { return "quadratic_rotated"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;

  const Vector& eigenvalues() const { return h_; }        // h, the spectrum of H
  const Eigen::MatrixXd& hessian() const { return H_; }   // H = Q diag(h) Q^T
  const Eigen::MatrixXd& rotation() const { return Q_; }  // Q, Q^T Q = I

 private:
  Vector h_;
  Eigen::MatrixXd Q_;
  Eigen::MatrixXd H_;
};

// f(x) = sum_j x_j^4 / 4, grad f = x.^3, Hess f = diag(3 x_j^2); f* = 0 at x = 0.
// (L0, L1) = (3, 3) in every dimension (papers.md 8.1 gives the 1-d case): with m = max_j |x_j|,
//   ||Hess||_2 = 3 m^2 <= 3 + 3 m^3      (3 m^2 <= 3 if m <= 1, and m^2 <= m^3 if m >= 1)
//                      = 3 + 3 max_j |grad_j| <= 3 + 3 ||grad f||_2.
// Not L-smooth (the Hessian is unbounded) and not PL: near 0, ||grad||^2 = sum x^6 is o(f).
class Quartic final : public Objective {
 public:
  explicit Quartic(Index dim) : dim_(dim) {}

  Index dim() const override { return dim_; }
  std::string name() const override { return "quartic"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;

 private:
  Index dim_;
};

// f(x) = sum_j (cosh x_j - 1), grad f = sinh x, Hess f = diag(cosh x_j); f* = 0 at x = 0.
// A non-polynomial (L0, L1)-smooth objective:
//   (L0, L1) = (1, 1): cosh t - |sinh t| = e^{-|t|} <= 1, so
//     ||Hess||_2 = max_j cosh x_j <= 1 + max_j |sinh x_j| <= 1 + ||grad f||_2;
//   mu = 1 (PL): sinh^2 t = (cosh t - 1)(cosh t + 1) >= 2 (cosh t - 1), summed over j:
//     ||grad f||^2 >= 2 (f - f*).
// Not L-smooth (cosh is unbounded). cosh t - 1 is evaluated as 2 sinh^2(t/2), which has no
// cancellation near 0; f overflows to +inf for |x_j| > ~710, which the runner reports as
// divergence.
class Cosh final : public Objective {
 public:
  explicit Cosh(Index dim) : dim_(dim) {}

  Index dim() const override { return dim_; }
  std::string name() const override { return "cosh"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;

 private:
  Index dim_;
};

// f(x) = sum_j log cosh x_j, grad f = tanh x, Hess f = diag(sech^2 x_j); f* = 0 at x = 0.
// L = L0 = 1, L1 = 0: 0 < sech^2 <= 1; tr Hess <= d. Not PL: ||grad f||^2 = sum tanh^2 <= d while
// f grows like ||x||_1. Evaluated to a few ulps for every finite x, with e = exp(-2|t|):
//   log cosh t = |t| + log1p(e) - log 2   for |t| > 1 (finite at |t| = 1e6, where cosh overflows),
//   log cosh t = log1p(2 sinh^2(t/2))     for |t| <= 1 (no cancellation near the minimum),
//   sech^2 t   = 4 e / (1 + e)^2          (no overflow, no 1 - tanh^2 cancellation).
class LogCosh final : public Objective {
 public:
  explicit LogCosh(Index dim) : dim_(dim) {}

  Index dim() const override { return dim_; }
  std::string name() const override { return "log_cosh"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;

 private:
  Index dim_;
};

// L2-regularised logistic regression on a synthetic, planted dataset of n = samples points:
//   w* ~ N(0, I_d)                        from Philox(seed, 0, 0, Purpose::kProblem, 1);
//   a_i ~ N(0, I_d), then u_i ~ U(0, 1)   from Philox(seed, i, 0, Purpose::kProblem, 2);
//   y_i = +1 if u_i < sigmoid(a_i^T w*), else -1.
// Point i has its own stream, so the first n points do not depend on `samples`.
// With the signed rows b_i = y_i a_i (B = diag(y) A, n x d) and margins m_i = b_i^T x:
//   f(x)       = (1/n) sum_i log(1 + exp(-m_i)) + (l2/2) ||x||^2,
//   grad f(x)  = -(1/n) B^T sigmoid(-m) + l2 x,
//   Hess f(x)  = (1/n) B^T diag(s_i (1 - s_i)) B + l2 I,   s_i = sigmoid(m_i)  (y_i^2 = 1).
// Constants: s (1 - s) <= 1/4 with equality at m = 0, so Hess <= B^T B/(4n) + l2 I = Hess f(0):
//   L = L0 = lambda_max(A^T A)/(4n) + l2 (attained at x = 0; B^T B = A^T A), L1 = 0,
//   tr Hess <= ||A||_F^2/(4n) + d l2;  f is l2-strongly convex, hence mu-PL with mu = l2
//   (empty when l2 = 0). f* is not known in closed form (empty).
// Every call does a batched product over the block (margins B X are n x R).
class Logistic final : public Objective {
 public:
  Logistic(Index dim, Index samples, double l2, std::uint64_t seed);

  Index dim() const override { return B_.cols(); }
  std::string name() const override { return "logistic"; }
  void value(const ConstBatchRef& X, RowVectorRef values) const override;
  void gradient(const ConstBatchRef& X, BatchRef G) const override;
  void hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const override;
  ObjectiveConstants constants() const override;

  Index samples() const { return B_.rows(); }
  const Eigen::MatrixXd& signed_data() const { return B_; }  // n x d, row i = y_i a_i^T
  const Vector& labels() const { return y_; }                // y_i in {-1, +1}
  const Vector& planted() const { return w_star_; }          // w*
  double l2() const { return l2_; }

 private:
  Eigen::MatrixXd B_;   // n x d, signed rows
  Eigen::MatrixXd Bt_;  // d x n, B^T (the gradient's product reads it column by column)
  Vector y_;
  Vector w_star_;
  double l2_;
  double lipschitz_;
  double trace_max_;
};

}  // namespace dcsde
