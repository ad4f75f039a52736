// NoiseModel: the gradient noise of each agent (papers.md 1 and 4).
//
// Agent i, at true gradient g = grad f(x), receives the stochastic gradient
//   g_i = g + Z_i,   Z_ij = s_ij(g) * T_ij,   T_ij i.i.d. N(0,1) or t_nu,
// with the per-coordinate scale
//   s_ij(g) = a_i(g) * c_j / sqrt(B)                                  [papers.md 1, DERIVED/GUESS]
// where c_j are optional per-coordinate multipliers (default 1), B the batch size and a_i:
//   gaussian, student_t:   a_i = sigma_i                              [4.1, 4.2]
//   affine_gaussian:       a_i = sqrt(sigma0_i^2 + sigma1_i^2 ||g||^2) [4.3: Var = s0^2 +
//   s1^2||g||^2] affine_student_t:      a_i = sigma0_i + sigma1_i ||g||            [4.4 GUESS:
//   affine scale]
// For Gaussian kinds s_ij is the standard deviation (Sigma_i = diag(s_i^2)); for Student-t kinds
// it is the scale (the variance s^2 nu/(nu-2) exists only for nu > 2; nu = 1 is Cauchy).
//
// Both views come from this one object (DESIGN.md "one object, two views"): `sample` draws Z for
// the optimizer, `scale` and `family` give the law the SDE models need.
//
// The five kinds share one sampling kernel (family x scale rule), so NoiseModel is a single
// concrete class rather than a hierarchy.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dcsde/core/kind.hpp"
#include "dcsde/core/rng.hpp"
#include "dcsde/core/types.hpp"

namespace dcsde {

// The noise kinds; their specs are in kind_specs(NoiseKind) below.
enum class NoiseKind { kNone, kGaussian, kStudentT, kAffineGaussian, kAffineStudentT, kMinibatch };

struct NoiseOptions {
  NoiseKind kind = NoiseKind::kNone;
  std::vector<double> sigma = {1.0};   // gaussian, student_t: std or scale; 1 value or 1 per agent
  std::vector<double> sigma0 = {0.0};  // affine kinds: constant part; 1 value or 1 per agent
  std::vector<double> sigma1 = {1.0};  // affine kinds: gradient-norm part; 1 value or 1 per agent
  std::vector<double> coordinate_scale;  // optional per-coordinate multipliers c_j (length d)
  double nu = 3.0;                       // student_t kinds: degrees of freedom, nu > 0
  Index batch = 1;  // B: the scale is divided by sqrt(B); minibatch: examples per agent and step
};

// The law of T: none, N(0,1), t_nu, or the objective's own minibatches (then sample() and scale()
// do not apply: Objective::minibatch_gradient draws the agents' gradients).
enum class NoiseFamily { kNone, kGaussian, kStudentT, kMinibatch };
// a_i(g) of the header comment: sigma_i, sqrt(sigma0_i^2 + sigma1_i^2 ||g||^2) or
// sigma0_i + sigma1_i ||g||.
enum class NoiseScaleRule { kConstant, kAffineVariance, kAffineScale };

// One noise kind, declared once (core/kind.hpp).
struct NoiseSpec {
  NoiseKind kind;
  std::string_view name, meaning;
  NoiseFamily family;
  NoiseScaleRule rule;
};
std::span<const NoiseSpec> kind_specs(NoiseKind);

// Whether the options' noise has a finite variance: every kind but Student-t with nu <= 2.
bool finite_variance(const NoiseOptions& options);

class NoiseModel final {
 public:
  using Family = NoiseFamily;
  using ScaleRule = NoiseScaleRule;

  // `agents` and `dim` fix the lengths of the per-agent and per-coordinate parameters; options
  // must have passed validation (see validate_noise in config/).
  NoiseModel(const NoiseOptions& options, Index agents, Index dim);

  NoiseKind kind() const { return kind_; }
  std::string name() const { return std::string(kind_name(kind_)); }
  Family family() const { return family_; }
  ScaleRule scale_rule() const { return rule_; }
  double nu() const { return nu_; }
  Index batch() const { return batch_; }
  // True when Cov Z exists: Gaussian kinds, Student-t with nu > 2, or no noise.
  bool finite_variance() const { return family_ != Family::kStudentT || nu_ > 2.0; }

  // out.col(c) = G.col(c) + Z for agent ctx.agent, drawn from ctx.stream(c, Purpose::kNoise):
  // Z_j = s_j T_j with T_j value number j of the stream's normal (Gaussian) or Student-t sequence.
  // G and out may alias.
  void sample(const ConstBatchRef& G, const DrawContext& ctx, BatchRef out) const;

  // The same at some coordinates only, for a sparse compressor's kept coordinates
  // (method/method.hpp): entry i is coordinate index[i] of column column[i], and
  //   noisy(G(index[i], column[i]), column_scale(G, column[i], agent), index[i], t[i])
  // with t from draw_at(ctx, column, index, n, t) equals sample(G, ctx)(index[i], column[i]) bit
  // for bit; only the n values T are drawn (random access, core/rng.hpp), in one vectorized call
  // for all the columns. Not for minibatch noise.
  void draw_at(const DrawContext& ctx, const std::uint32_t* column, const std::uint32_t* index,
               Index n, double* t) const;
  // a_i(g) / sqrt(B) for column c of G (0 without noise).
  double column_scale(const ConstBatchRef& G, Index c, Index agent) const;
  // x_j = g_j / s_j with s_j = a c_j, j < n: the gradient in units of the noise scale, whose CDF
  // value is the probability of a positive sign (noise/sign_law.hpp). +-inf or NaN where s_j = 0.
  // Without coordinate scales it is g_j * (1 / a): within an ulp of g_j / a, which moves F by
  // far less than the 2^-52 a uniform resolves.
  void standardize(const double* g, double a, double* x, Index n) const;
  // Whether every c_j is 1 (no coordinate_scale): then noisy() is g + a t.
  bool isotropic() const { return coordinate_scale_.size() == 0; }
  // g + s_j t with s_j = a c_j, the arithmetic of sample() for one coordinate.
  double noisy(double g, double a, std::uint32_t j, double t) const {
    const double s = coordinate_scale_.size() != 0 ? a * coordinate_scale_[j] : a;
    return g + s * t;
  }

  // The per-coordinate scale s_i(g) of agent `agent` at gradient g (std for Gaussian, scale for
  // Student-t), as in the header comment.
  void scale(const ConstVectorRef& g, Index agent, VectorRef s) const;
  // a_i(g) of the header comment, given ||g||.
  double agent_scale(double grad_norm, Index agent) const;
  // (d/dr log a_i(r)) / r at r = ||g||, for the derivative of the sign law (sde/law.hpp): 0 for
  // constant scales, s1^2 / a^2 for affine variance, s1 / (a r) for an affine scale (0 at r = 0,
  // where it multiplies g = 0), and 0 where a = 0.                                    [DERIVED]
  double agent_scale_log_slope(double grad_norm, Index agent) const;

  // Per-agent parameters, broadcast to length `agents`.
  const std::vector<double>& sigma() const { return sigma_; }
  const std::vector<double>& sigma0() const { return sigma0_; }
  const std::vector<double>& sigma1() const { return sigma1_; }

 private:
  // The next n values T of the column's stream into t.
  void draw(Philox& rng, double* t, Index n) const;

  NoiseKind kind_;
  Family family_;
  ScaleRule rule_;
  double nu_;
  Index batch_;
  double inv_sqrt_batch_;
  std::vector<double> sigma_, sigma0_, sigma1_;
  Vector coordinate_scale_;  // empty when isotropic
};

}  // namespace dcsde
