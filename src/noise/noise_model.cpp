#include "dcsde/noise/noise_model.hpp"

#include <algorithm>
#include <cmath>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

std::vector<double> broadcast(const std::vector<double>& values, Index agents) {
  if (values.size() == 1) return std::vector<double>(static_cast<std::size_t>(agents), values[0]);
  return values;
}

}  // namespace

namespace {

using F = NoiseFamily;
using R = NoiseScaleRule;
const NoiseSpec kSpecs[] = {
    {NoiseKind::kNone, "none", "exact gradients, Z = 0", F::kNone, R::kConstant},
    {NoiseKind::kGaussian, "gaussian", "Z ~ N(0, diag(s^2)), s = sigma_i c_j / sqrt(B)",
     F::kGaussian, R::kConstant},
    {NoiseKind::kStudentT, "student_t",
     "Z = s T, T ~ t_nu i.i.d. per coordinate (nu = 1: Cauchy), s = sigma_i c_j / sqrt(B)",
     F::kStudentT, R::kConstant},
    {NoiseKind::kAffineGaussian, "affine_gaussian",
     "Gaussian with variance (sigma0_i^2 + sigma1_i^2 ||grad f||^2) c_j^2 / B", F::kGaussian,
     R::kAffineVariance},
    {NoiseKind::kAffineStudentT, "affine_student_t",
     "Student-t with scale (sigma0_i + sigma1_i ||grad f||) c_j / sqrt(B)", F::kStudentT,
     R::kAffineScale},
    {NoiseKind::kMinibatch, "minibatch",
     "each agent's gradient over its own minibatch of B examples (objective = 'torch')",
     F::kMinibatch, R::kConstant},
};

}  // namespace

std::span<const NoiseSpec> kind_specs(NoiseKind) { return kSpecs; }

bool finite_variance(const NoiseOptions& options) {
  return spec_of(options.kind).family != NoiseFamily::kStudentT || options.nu > 2.0;
}

NoiseModel::NoiseModel(const NoiseOptions& options, Index agents, Index dim)
    : kind_(options.kind),
      family_(spec_of(options.kind).family),
      rule_(spec_of(options.kind).rule),
      nu_(options.nu),
      batch_(options.batch),
      inv_sqrt_batch_(1.0 / std::sqrt(static_cast<double>(options.batch))),
      sigma_(broadcast(options.sigma, agents)),
      sigma0_(broadcast(options.sigma0, agents)),
      sigma1_(broadcast(options.sigma1, agents)) {
  DCSDE_ASSERT(static_cast<Index>(sigma_.size()) == agents, "sigma: one value or one per agent");
  DCSDE_ASSERT(static_cast<Index>(sigma0_.size()) == agents, "sigma0: one value or one per agent");
  DCSDE_ASSERT(static_cast<Index>(sigma1_.size()) == agents, "sigma1: one value or one per agent");
  if (!options.coordinate_scale.empty()) {
    DCSDE_ASSERT(static_cast<Index>(options.coordinate_scale.size()) == dim,
                 "coordinate_scale has one value per coordinate");
    coordinate_scale_ = Eigen::Map<const Vector>(options.coordinate_scale.data(), dim);
  }
}

double NoiseModel::agent_scale(double grad_norm, Index agent) const {
  const auto i = static_cast<std::size_t>(agent);
  switch (rule_) {
    case ScaleRule::kConstant:
      return sigma_[i];
    case ScaleRule::kAffineVariance:
      return std::sqrt(sigma0_[i] * sigma0_[i] + sigma1_[i] * sigma1_[i] * grad_norm * grad_norm);
    case ScaleRule::kAffineScale:
      return sigma0_[i] + sigma1_[i] * grad_norm;
  }
  return 0.0;
}

double NoiseModel::agent_scale_log_slope(double grad_norm, Index agent) const {
  const auto i = static_cast<std::size_t>(agent);
  const double r = grad_norm;
  switch (rule_) {
    case ScaleRule::kConstant:
      return 0.0;
    case ScaleRule::kAffineVariance: {  // a^2 = s0^2 + s1^2 r^2: a'/a = s1^2 r / a^2
      const double a2 = sigma0_[i] * sigma0_[i] + sigma1_[i] * sigma1_[i] * r * r;
      return a2 > 0.0 ? sigma1_[i] * sigma1_[i] / a2 : 0.0;
    }
    case ScaleRule::kAffineScale: {  // a = s0 + s1 r: a'/a = s1 / a
      const double a = sigma0_[i] + sigma1_[i] * r;
      return r > 0.0 && a > 0.0 ? sigma1_[i] / (a * r) : 0.0;
    }
  }
  return 0.0;
}

void NoiseModel::scale(const ConstVectorRef& g, Index agent, VectorRef s) const {
  DCSDE_ASSERT(family_ != Family::kMinibatch, "minibatch noise has no closed-form scale");
  const double a = family_ == Family::kNone ? 0.0 : agent_scale(g.norm(), agent) * inv_sqrt_batch_;
  if (coordinate_scale_.size() == 0) {
    s.setConstant(a);
  } else {
    s = a * coordinate_scale_;
  }
}

double NoiseModel::column_scale(const ConstBatchRef& G, Index c, Index agent) const {
  if (family_ == Family::kNone) return 0.0;
  const bool needs_norm = rule_ != ScaleRule::kConstant;
  return agent_scale(needs_norm ? G.col(c).norm() : 0.0, agent) * inv_sqrt_batch_;
}

void NoiseModel::standardize(const double* g, double a, double* x, Index n) const {
  if (coordinate_scale_.size() == 0) {
    const double inv = 1.0 / a;  // +inf for a = 0: x = +-inf, or NaN for g = 0
    for (Index j = 0; j < n; ++j) x[j] = g[j] * inv;
  } else {
    for (Index j = 0; j < n; ++j) x[j] = g[j] / (a * coordinate_scale_[j]);
  }
}

void NoiseModel::draw(Philox& rng, double* t, Index n) const {
  if (family_ == Family::kGaussian) {
    rng.normals(t, n);
  } else {
    rng.student_ts(t, n, nu_);
  }
}

void NoiseModel::draw_at(const DrawContext& ctx, const std::uint32_t* column,
                         const std::uint32_t* index, Index n, double* t) const {
  DCSDE_ASSERT(family_ != Family::kMinibatch, "minibatch noise has no draw_at");
  if (family_ == Family::kNone) {
    std::fill(t, t + n, 0.0);
  } else if (family_ == Family::kGaussian) {
    ctx.normals_at(Purpose::kNoise, column, index, n, t);
  } else {
    ctx.student_ts_at(Purpose::kNoise, nu_, column, index, n, t);
  }
}

void NoiseModel::sample(const ConstBatchRef& G, const DrawContext& ctx, BatchRef out) const {
  const Index d = G.rows();
  DCSDE_ASSERT(family_ != Family::kMinibatch,
               "minibatch gradients come from Objective::minibatch_gradient, not from sample()");
  if (family_ == Family::kNone) {
    if (out.data() != G.data()) out = G;
    return;
  }
  for (Index c = 0; c < G.cols(); ++c) {
    Philox rng = ctx.stream(c, Purpose::kNoise);
    // The norm is read before `out` is written: G and out may alias.
    const double a = column_scale(G, c, ctx.agent);
    double* z = out.col(c).data();
    const double* g = G.col(c).data();
    // Draw into a small stack buffer so that G may alias out.
    constexpr Index kChunk = 256;
    double t[kChunk];
    for (Index j0 = 0; j0 < d; j0 += kChunk) {
      const Index n = std::min(kChunk, d - j0);
      draw(rng, t, n);
      for (Index j = 0; j < n; ++j) {
        z[j0 + j] = noisy(g[j0 + j], a, static_cast<std::uint32_t>(j0 + j), t[j]);
      }
    }
  }
}

}  // namespace dcsde
