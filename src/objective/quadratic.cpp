#include <Eigen/QR>
#include <cmath>

#include "dcsde/core/rng.hpp"
#include "dcsde/objective/objectives.hpp"

namespace dcsde {

Vector spectrum(const ObjectiveOptions& o) {
  if (!o.eigenvalues.empty()) return Eigen::Map<const Vector>(o.eigenvalues.data(), o.dim);
  Vector h(o.dim);
  const double ratio = o.eigen_max / o.eigen_min;
  for (Index j = 0; j < o.dim; ++j) {
    const double t = o.dim == 1 ? 0.0 : static_cast<double>(j) / static_cast<double>(o.dim - 1);
    h[j] = o.eigen_min * std::pow(ratio, t);
  }
  if (o.dim > 1) h[o.dim - 1] = o.eigen_max;  // exact endpoint, no pow rounding
  return h;
}

void DiagonalQuadratic::value(const ConstBatchRef& X, RowVectorRef values) const {
  values = 0.5 * (X.array().square().colwise() * h_.array()).colwise().sum();
}

void DiagonalQuadratic::gradient(const ConstBatchRef& X, BatchRef G) const {
  G = X.array().colwise() * h_.array();
}

void DiagonalQuadratic::hvp(const ConstBatchRef&, const ConstBatchRef& V, BatchRef HV) const {
  HV = V.array().colwise() * h_.array();
}

ObjectiveConstants DiagonalQuadratic::constants() const {
  return {.L = h_.maxCoeff(), .mu = h_.minCoeff(), .L0 = h_.maxCoeff(), .L1 = 0.0,
          .trace_hessian_max = h_.sum(), .f_star = 0.0};
}

RotatedQuadratic::RotatedQuadratic(Vector eigenvalues, std::uint64_t seed)
    : h_(std::move(eigenvalues)) {
  const Index d = h_.size();
  // Haar rotation: QR of a Gaussian matrix, with the signs of R's diagonal moved into Q.
  Eigen::MatrixXd gaussian(d, d);
  Philox rng(seed, 0, 0, Purpose::kProblem, 0);
  rng.normals(gaussian.data(), d * d);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
  Q_ = qr.householderQ() * Eigen::MatrixXd::Identity(d, d);
  const Eigen::MatrixXd R = qr.matrixQR().triangularView<Eigen::Upper>();
  for (Index j = 0; j < d; ++j)
    if (R(j, j) < 0) Q_.col(j) *= -1.0;
  H_ = Q_ * h_.asDiagonal() * Q_.transpose();
  H_ = 0.5 * (H_ + H_.transpose());  // exactly symmetric
}

void RotatedQuadratic::value(const ConstBatchRef& X, RowVectorRef values) const {
  values = 0.5 * (X.array() * (H_ * X).array()).colwise().sum();
}

void RotatedQuadratic::gradient(const ConstBatchRef& X, BatchRef G) const { G.noalias() = H_ * X; }

void RotatedQuadratic::hvp(const ConstBatchRef&, const ConstBatchRef& V, BatchRef HV) const {
  HV.noalias() = H_ * V;
}

ObjectiveConstants RotatedQuadratic::constants() const {
  return {.L = h_.maxCoeff(), .mu = h_.minCoeff(), .L0 = h_.maxCoeff(), .L1 = 0.0,
          .trace_hessian_max = h_.sum(), .f_star = 0.0};
}

}  // namespace dcsde
