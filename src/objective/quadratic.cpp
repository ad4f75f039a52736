// The quadratic kinds: diagonal and Haar-rotated spectrum.
#include <Eigen/QR>
#include <cmath>
#include <utility>

#include "dcsde/core/rng.hpp"
#include "dcsde/objective/objectives.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

ObjectiveConstants quadratic_constants(const Vector& h) {
  return {.L = h.maxCoeff(),
          .mu = h.minCoeff(),
          .L0 = h.maxCoeff(),
          .L1 = 0.0,
          .trace_hessian_max = h.sum(),
          .f_star = 0.0};
}

}  // namespace

Vector spectrum(const ObjectiveOptions& o) {
  if (!o.eigenvalues.empty()) {
    return Eigen::Map<const Vector>(o.eigenvalues.data(), static_cast<Index>(o.eigenvalues.size()));
  }
  Vector h(o.dim);
  // log of the ratio from the two logs: finite even where eigen_max / eigen_min would overflow.
  const double log_ratio = std::log(o.eigen_max) - std::log(o.eigen_min);
  for (Index j = 0; j < o.dim; ++j) {
    const double t = o.dim == 1 ? 0.0 : static_cast<double>(j) / static_cast<double>(o.dim - 1);
    h[j] = o.eigen_min * std::exp(t * log_ratio);
  }
  if (o.dim > 1) h[o.dim - 1] = o.eigen_max;  // exact endpoint (h[0] is exact already)
  return h;
}

DiagonalQuadratic::DiagonalQuadratic(Vector eigenvalues) : h_(std::move(eigenvalues)) {}

void DiagonalQuadratic::value(const ConstBatchRef& X, RowVectorRef values) const {
  values = 0.5 * (X.array().square().colwise() * h_.array()).colwise().sum();
}

void DiagonalQuadratic::gradient(const ConstBatchRef& X, BatchRef G) const {
  G = X.array().colwise() * h_.array();
}

void DiagonalQuadratic::hvp(const ConstBatchRef&, const ConstBatchRef& V, BatchRef HV) const {
  HV = V.array().colwise() * h_.array();
}

ObjectiveConstants DiagonalQuadratic::constants() const { return quadratic_constants(h_); }

RotatedQuadratic::RotatedQuadratic(Vector eigenvalues, std::uint64_t seed)
    : h_(std::move(eigenvalues)) {
  const Index d = h_.size();
  Eigen::MatrixXd gaussian(d, d);
  Philox rng(seed, 0, 0, Purpose::kProblem, 0);
  rng.normals(gaussian.data(), d * d);
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
  Q_ = qr.householderQ() * Eigen::MatrixXd::Identity(d, d);
  // Haar fix: Q diag(sign R_jj). Householder QR's own signs would bias the law of Q.
  for (Index j = 0; j < d; ++j) {
    if (qr.matrixQR()(j, j) < 0.0) Q_.col(j) *= -1.0;
  }
  H_ = Q_ * h_.asDiagonal() * Q_.transpose();
  const Eigen::MatrixXd symmetric = 0.5 * (H_ + H_.transpose());
  H_ = symmetric;
}

void RotatedQuadratic::value(const ConstBatchRef& X, RowVectorRef values) const {
  Eigen::Map<Batch> HX = detail::scratch(0, X.rows(), X.cols());
  detail::ordered_product(H_, X, HX);
  values = 0.5 * (X.array() * HX.array()).colwise().sum();
}

void RotatedQuadratic::gradient(const ConstBatchRef& X, BatchRef G) const {
  detail::ordered_product(H_, X, G);
}

void RotatedQuadratic::hvp(const ConstBatchRef&, const ConstBatchRef& V, BatchRef HV) const {
  detail::ordered_product(H_, V, HV);
}

ObjectiveConstants RotatedQuadratic::constants() const { return quadratic_constants(h_); }

}  // namespace dcsde
