// Logistic regression on a planted synthetic dataset.
#include <Eigen/Eigenvalues>
#include <cmath>

#include "dcsde/core/rng.hpp"
#include "dcsde/objective/objectives.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

// log(1 + exp(-m)) for either sign of the margin m: exp only ever sees a non-positive argument.
double softplus_neg(double m) {
  return m > 0.0 ? std::log1p(std::exp(-m)) : -m + std::log1p(std::exp(m));
}

// sigmoid(-m) = 1 / (1 + exp(m)) = -d/dm log(1 + exp(-m)), without overflow.
double sigmoid_neg(double m) {
  if (m >= 0.0) {
    const double e = std::exp(-m);
    return e / (1.0 + e);
  }
  return 1.0 / (1.0 + std::exp(m));
}

// s (1 - s) with s = sigmoid(m): e / (1 + e)^2 with e = exp(-|m|), symmetric in m.
double sigmoid_slope(double m) {
  const double e = std::exp(-std::abs(m));
  const double q = 1.0 + e;
  return e / (q * q);
}

}  // namespace

Logistic::Logistic(Index dim, Index samples, double l2, std::uint64_t seed) : l2_(l2) {
  w_star_.resize(dim);
  Philox planted(seed, 0, 0, Purpose::kProblem, 1);
  planted.normals(w_star_.data(), dim);

  B_.resize(samples, dim);
  y_.resize(samples);
  Vector a(dim);
  for (Index i = 0; i < samples; ++i) {
    Philox rng(seed, static_cast<std::uint64_t>(i), 0, Purpose::kProblem, 2);
    rng.normals(a.data(), dim);
    const double p = 1.0 / (1.0 + std::exp(-a.dot(w_star_)));
    y_[i] = rng.uniform() < p ? 1.0 : -1.0;
    B_.row(i) = y_[i] * a.transpose();
  }
  Bt_ = B_.transpose();

  // lambda_max(B^T B) = lambda_max(A^T A); one eigen-decomposition of the d x d Gram matrix.
  const auto n = static_cast<double>(samples);
  const Eigen::MatrixXd gram = Bt_ * B_;
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram, Eigen::EigenvaluesOnly);
  lipschitz_ = eig.eigenvalues().maxCoeff() / (4.0 * n) + l2_;
  trace_max_ = B_.squaredNorm() / (4.0 * n) + static_cast<double>(dim) * l2_;
}

void Logistic::value(const ConstBatchRef& X, RowVectorRef values) const {
  Eigen::Map<Batch> margins = detail::scratch(0, B_.rows(), X.cols());
  detail::ordered_product(B_, X, margins);
  values = margins.unaryExpr(&softplus_neg).colwise().sum() / static_cast<double>(B_.rows()) +
           0.5 * l2_ * X.colwise().squaredNorm();
}

void Logistic::gradient(const ConstBatchRef& X, BatchRef G) const {
  DCSDE_ASSERT(G.data() != X.data(), "objective: the output block must not alias the input");
  Eigen::Map<Batch> weights = detail::scratch(0, B_.rows(), X.cols());
  detail::ordered_product(B_, X, weights);
  weights = weights.unaryExpr(&sigmoid_neg);
  detail::ordered_product(Bt_, weights, G);  // G = B^T sigmoid(-m)
  G = l2_ * X.array() - G.array() / static_cast<double>(B_.rows());
}

void Logistic::hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const {
  DCSDE_ASSERT(HV.data() != V.data(), "objective: the output block must not alias the input");
  Eigen::Map<Batch> curvature = detail::scratch(0, B_.rows(), X.cols());
  Eigen::Map<Batch> BV = detail::scratch(1, B_.rows(), X.cols());
  detail::ordered_product(B_, X, curvature);
  detail::ordered_product(B_, V, BV);
  BV = BV.cwiseProduct(curvature.unaryExpr(&sigmoid_slope));
  detail::ordered_product(Bt_, BV, HV);  // HV = B^T diag(s (1 - s)) B V
  HV = l2_ * V.array() + HV.array() / static_cast<double>(B_.rows());
}

ObjectiveConstants Logistic::constants() const {
  ObjectiveConstants c{
      .L = lipschitz_, .L0 = lipschitz_, .L1 = 0.0, .trace_hessian_max = trace_max_};
  if (l2_ > 0.0) c.mu = l2_;
  return c;
}

}  // namespace dcsde
