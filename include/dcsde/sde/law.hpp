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
// Closed forms (ClosedFormLaw), with g = grad f(x), s_i the per-coordinate noise scale of agent i
// (noise/noise_model.hpp), h = eta eta_k:
//   dsgd, dcsgd+identity:  mu = h g,   Cov = (h^2/N^2) sum_i diag(s_i^2)
//   dcsgd+bernoulli(p):    mu = h g,   Cov = (h^2/N^2) sum_i [diag(s_i^2) + (1/p - 1) diag(g^2 +
//   s_i^2)] dcsgd+rand_k:          mu = h g,   Cov = (h^2/N^2) sum_i [(1 + omega) diag(s_i^2) + c
//   (d diag(g^2) - g g^T)]
//                          c = (d - k)/(k (d - 1)); factor [sqrt((1+omega) mean s^2), R_randk(g)]
//                          with R_randk the closed-form root of papers.md 3 (m = 2d)   [DERIVED]
//   dsignsgd:              mu = (h/N) sum_i m_i,  Cov = (h^2/N^2) sum_i diag(1 - m_i^2)
//                          m_ij = erf(g_j/(sqrt2 s_ij)) (Gaussian), 2 Xi_nu(g_j/s_ij) (Student-t)
//   majority_vote:         D_j = sign(sum_i sign(g_ij)): P(D_j = +-1) from the Poisson-binomial
//                          law of the N agent signs (P(sign_i = +1) = (1 + m_ij)/2) [DERIVED]
// The Gaussian-noise closed forms need a finite covariance: DCSGD/DSGD under Student-t noise
// with nu <= 2 has no SDE (papers.md 7.2), and building its law is an error that says so.
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
  virtual std::string name() const = 0;  // "closed_form" or "monte_carlo(M)"
  // m: the number of standard normals one column of the diffusion consumes.
  virtual Index noise_dim() const = 0;
  virtual std::unique_ptr<LawWorkspace> make_workspace(Index cols) const = 0;
  // For each column c of X (replica first_replica + c) at step k:
  //   mean.col(c) = mu(X.col(c)),  noise.col(c) = R(X.col(c)) xi.col(c)   (xi is m x cols),
  //   step_size(c) = E[h_k] (the time the step advances).
  virtual void evaluate(const ConstBatchRef& X, std::int64_t k, std::uint64_t seed,
                        std::uint64_t first_replica, const ConstBatchRef& xi, BatchRef mean,
                        BatchRef noise, RowVectorRef step_size, LawWorkspace& ws) const = 0;
  // The mean direction E[D] (without h) and, for the modified/stable flavours, its directional
  // derivative along v: J v = d/de E[D](x + e v). Only laws with a smooth closed form have it.
  virtual bool has_jacobian() const { return false; }
  virtual void mean_direction_jacobian(const ConstBatchRef& X, const ConstBatchRef& V, BatchRef JV,
                                       LawWorkspace& ws) const;
};

struct LawOptions {
  std::string kind = "auto";  // auto | closed_form | monte_carlo
  Index samples = 64;         // monte_carlo: M
};

// The law of `method`'s update. kind = auto takes the closed form where one exists, else Monte
// Carlo. Throws ConfigError when no law exists (DCSGD with infinite-variance noise) or when a
// closed form is asked for a method without one.
std::unique_ptr<UpdateLaw> make_update_law(const Method& method, const LawOptions& options);

}  // namespace dcsde
