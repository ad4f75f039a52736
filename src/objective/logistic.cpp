#include <Eigen/Eigenvalues>
#include <cmath>

#include "dcsde/core/rng.hpp"
#include "dcsde/objective/objectives.hpp"

namespace dcsde {
namespace {

// log(1 + exp(-m)), stable for both signs of the margin m.
double softplus_neg(double m) { return m > 0 ? std::log1p(std::exp(-m)) : -m + std::log1p(std::exp(m)); }
// sigmoid(-m) = 1 / (1 + exp(m)), stable.
double sigmoid_neg(double m) {
  if (m >= 0) {
    const double e = std::exp(-m);
    return e / (1.0 + e);
  }
  return 1.0 / (1.0 + std::exp(m));
}

}  // namespace

Logistic::Logistic(Index dim, Index samples, double l2, std::uint64_t seed) : l2_(l2) {
  A_.resize(samples, dim);
  Vector w_star(dim);
  Philox planted(seed, 0, 0, Purpose::kProblem, 1);
  planted.normals(w_star.data(), dim);
  Vector a(dim);
  for (Index i = 0; i < samples; ++i) {
    Philox rng(seed, static_cast<std::uint64_t>(i), 1, Purpose::kProblem, 2);
    rng.normals(a.data(), dim);
    const double p = 1.0 / (1.0 + std::exp(-a.dot(w_star)));
    const double y = rng.uniform() < p ? 1.0 : -1.0;
    A_.row(i) = y * a.transpose();
  }
  const Eigen::MatrixXd gram = A_.transpose() * A_;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram, Eigen::EigenvaluesOnly);
  lipschitz_ = eig.eigenvalues().maxCoeff() / (4.0 * static_cast<double>(samples)) + l2_;
}

void Logistic::value(const ConstBatchRef& X, RowVectorRef values) const {
  const Eigen::MatrixXd margins = A_ * X;  // n x R
  values = margins.unaryExpr([](double m) { return softplus_neg(m); }).colwise().mean() +
           0.5 * l2_ * X.colwise().squaredNorm();
}

void Logistic::gradient(const ConstBatchRef& X, BatchRef G) const {
  const Eigen::MatrixXd weights =
      (A_ * X).unaryExpr([](double m) { return sigmoid_neg(m); });  // d/dm log(1+e^-m) = -s(-m)
  G.noalias() = -(A_.transpose() * weights) / static_cast<double>(A_.rows());
  G += l2_ * X;
}

void Logistic::hvp(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef HV) const {
  // Hess = (1/n) A^T diag(s (1 - s)) A + l2 I with s = sigmoid(m) (y_i^2 = 1).
  const Eigen::MatrixXd curvature =
      (A_ * X).unaryExpr([](double m) { const double s = sigmoid_neg(m); return s * (1.0 - s); });
  const Eigen::MatrixXd AV = (A_ * V).cwiseProduct(curvature);
  HV.noalias() = A_.transpose() * AV / static_cast<double>(A_.rows());
  HV += l2_ * V;
}

ObjectiveConstants Logistic::constants() const {
  ObjectiveConstants c{.L = lipschitz_, .L0 = lipschitz_, .L1 = 0.0};
  if (l2_ > 0) c.mu = l2_;
  return c;
}

}  // namespace dcsde
