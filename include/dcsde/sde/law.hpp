// UpdateLaw: the law view of a Method (DESIGN.md "one object, two views").
//
// At step k the optimizer moves by the random update U = h_k D(x) (method/method.hpp). Its SDE
// (papers.md 5.2) needs the conditional mean and covariance of U:
//   mu(x) = E[U | x],   Cov(U | x) = R(x) R(x)^T,
// where R is a d x m factor, applied to standard normals xi in R^m without forming any d x d
// matrix. With t = k eta, the first-order SDE is
//   dX = -(mu(X)/eta) dt + (R(X)/sqrt(eta)) dW,                           [papers.md 5.2, 7.2, 7.3]
// which for DCSGD is the poster's Thm 1 (-grad f dt + sqrt(eta/N) Sigma~^{1/2} dW) and for
// DSignSGD its Thm 2.
//
// Closed forms (ClosedFormLaw), with g = grad f(x), v_ij = Var Z_ij the noise variance of agent
// i on coordinate j (s_ij^2 for Gaussian kinds, s_ij^2 nu/(nu - 2) for Student-t with nu > 2;
// s_ij the scale of noise/noise_model.hpp), h = eta eta_k:
//   dsgd, dcsgd+identity:  mu = h g,   Cov = (h^2/N^2) sum_i diag(v_i)
//   dcsgd+bernoulli(p):    mu = h g,   Cov = (h^2/N^2) sum_i [diag(v_i) + omega diag(g^2 + v_i)],
//                          omega = 1/p - 1
//   dcsgd+rand_k:          mu = h g,   Cov = (h^2/N^2) sum_i [(1 + omega) diag(v_i)
//                                                            + c (d diag(g^2) - g g^T)],
//                          c = (d - k)/(k (d - 1)); factor [sqrt((1+omega) mean v), R_randk(g)]
//                          with R_randk the closed-form root of papers.md 3 (m = 2d)   [DERIVED]
//   dsignsgd:              mu = (h/N) sum_i m_i,  Cov = (h^2/N^2) sum_i diag(1 - m_i^2)
//                          m_ij = erf(g_j/(sqrt2 s_ij)) (Gaussian), 2 Xi_nu(g_j/s_ij) (Student-t)
//   majority_vote:         D_j = sign(sum_i sign(g_ij)): P(D_j = +-1) from the Poisson-binomial
//                          law of the N agent signs (P(sign_i = +1) = (1 + m_ij)/2) [DERIVED]
// The Gaussian-noise closed forms need a finite covariance: DCSGD/DSGD under Student-t noise
// with nu <= 2 has no SDE (papers.md 7.2), and building its law is an error that says so.
//
// Normalized methods (papers.md 2.5), U = h(n) D with D = (1/N) sum_i C(g_i) the DCSGD direction
// above (identity, bernoulli, rand_k): E D = g, Cov D = Sigma_D = the dcsgd rows with h = 1,
// factor R_D. With r = ||g||, u = g/r, Pi = I - u u^T:
//   nsgd:              h(n) = eta eta_k / n,                       n = ||D||
//   normalized_dcsgd:  h(n) = eta_k 2 eps / ((L0 + L1 n) P + Q),   n = ||D|| (norm_of = aggregate)
//                      (P, Q of Eq. 15, method/method.hpp)         or ||g|| (norm_of = gradient)
//   norm_of = "gradient": h = h(r) is fixed given x; exact:                               [DERIVED]
//     mu = h(r) g,   Cov = h(r)^2 Sigma_D,   R = h(r) R_D.
//   n = ||D||: the delta method, D -> h(||D||) D linearised at D = g:                     [DERIVED]
//     mu ~ h(r) g,   Cov ~ J Sigma_D J^T,   R = J R_D,   J = h(r) I + h'(r) g g^T / r,
//     applied column by column, J v = h(r) v + h'(r) g (g . v) / r (no d x d matrix);
//     nsgd: J = (eta eta_k / r) Pi, so U has no noise along g;
//     Eq. 15: h'(r) / h(r) = -L1 P / ((L0 + L1 r) P + Q).
//     A small-noise approximation, valid when the noise of ||D|| is small against ||g||:
//     eps2 = tr Sigma_D / r^2 << 1. The neglected mean term is second order,
//       h'(r) Sigma_D u + (u/2) (r h''(r) u^T Sigma_D u + h'(r) tr(Pi Sigma_D)),
//     and the covariance's relative error is O(eps2). Elsewhere use law = "monte_carlo".
//   At g = 0 the norm is not differentiable:                                              [DERIVED]
//     Eq. 15: mu = 0, R = h(0) R_D (the limit of J as g -> 0);
//     nsgd: mu = 0 (E U = 0 by symmetry), R = eta eta_k R_D / sqrt(tr Sigma_D), which has the
//     exact trace (||U|| = eta eta_k) and is exact for isotropic Sigma_D.
//   nsgd safeguard: tr Cov U <= E||U||^2 = (eta eta_k)^2 exactly, while the delta method gives
//     (eta eta_k / r)^2 tr(Pi Sigma_D); R is scaled down to meet the bound when
//     tr(Pi Sigma_D) > r^2 (far outside the small-noise regime).                       [DERIVED]
// step_size = h(r) (the time the step advances; for n = ||D|| the first-order E h). name() is
// "closed_form(delta)" for the delta-method laws, "closed_form" for the exact ones.
//
// MonteCarloLaw works for every method: it draws M independent updates U^(1..M) at x with the
// method's own sampler (streams of Purpose::kLaw), and uses their sample mean and the factor
// R = [U^(j) - mean] / sqrt(M) (m = M). The 1/M estimate is deliberate: the sample mean's own
// error adds Cov/M, so the simulated update mean + R xi has exactly the law's mean and covariance.
#pragma once

#include <memory>
#include <string>

#include "dcsde/core/types.hpp"
#include "dcsde/method/method.hpp"

namespace dcsde {

struct LawWorkspace {
  virtual ~LawWorkspace() = default;
};

class UpdateLaw {
 public:
  virtual ~UpdateLaw() = default;
  // "closed_form", "closed_form(delta)" (the small-noise delta method) or "monte_carlo(M)"
  virtual std::string name() const = 0;
  // m: the number of standard normals one column of the diffusion consumes.
  virtual Index noise_dim() const = 0;
  virtual std::unique_ptr<LawWorkspace> make_workspace(Index cols) const = 0;
  // For each column c of X (replica first_replica + c) at step k:
  //   mean.col(c) = mu(X.col(c)),  noise.col(c) = R(X.col(c)) xi.col(c)   (xi is m x cols),
  //   step_size(c) = E[h_k] (the time the step advances).
  virtual void evaluate(const ConstBatchRef& X, std::int64_t k, std::uint64_t seed,
                        std::uint64_t first_replica, const ConstBatchRef& xi, BatchRef mean,
                        BatchRef noise, RowVectorRef step_size, LawWorkspace& ws) const = 0;
  // For the modified/stable flavours: the derivative of the mean update along v, divided by the
  // step size h = step_size(x): J v = (1/h) d/de mu(x + e v), so that (h^2/2) J (mu/h) is half
  // of (grad mu) mu, the second-order modified-equation term (sde/sde.hpp). With h independent
  // of x this is d/de E[D](x + e v) (DSGD, DCSGD: Hess f v). For the normalized laws, mu = h(r) g:
  // J v = Hess f v + (h'(r)/h(r)) g (g . Hess f v) / r                                  [DERIVED]
  // For dsignsgd, m_j = (1/N) sum_i phi(g_j / s_ij): J v = (1/N) sum_i phi'(y_ij) dy_ij with
  // dy_ij = (Hv)_j / s_ij - y_ij (a_i'/a_i)(r) (g . Hv) / r, the second term from an affine
  // scale a_i(||g||)                                                                    [DERIVED]
  // Only laws with a smooth closed form have it (not majority_vote, not Monte Carlo).
  virtual bool has_jacobian() const { return false; }
  virtual void mean_direction_jacobian(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef JV,
                                       LawWorkspace& ws) const;
};

enum class LawKind { kAuto, kClosedForm, kMonteCarlo };

// One law kind, declared once (core/kind.hpp).
struct LawSpec {
  LawKind kind;
  std::string_view name, meaning;
};
std::span<const LawSpec> kind_specs(LawKind);

struct LawOptions {
  LawKind kind = LawKind::kAuto;
  Index samples = 64;  // monte_carlo: M
};

// Whether a closed-form law exists for the method with the compressor and the noise: the
// averaged methods with a compressor whose CompressionLaw is known (identity, Bernoulli, rand-k;
// Thm 1) and the sign methods, under injected noise (not minibatch). make_update_law's choice,
// asked before anything is built (config/limits.cpp's memory estimate).
// `compressors` holds the kind of each agent's compressor, or the one kind of all.
bool has_closed_form_law(MethodKind method, std::span<const CompressorKind> compressors,
                         NoiseKind noise);

// The law of `method`'s update. kind = auto takes the closed form where one exists (for nsgd and
// normalized_dcsgd on ||D||, the delta method above), else Monte Carlo (other compressors,
// minibatch noise). Throws ConfigError when no law exists (DCSGD with infinite-variance noise) or
// when a closed form is asked for a method without one.
std::unique_ptr<UpdateLaw> make_update_law(const Method& method, const LawOptions& options);

}  // namespace dcsde
