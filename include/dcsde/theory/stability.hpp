// Step-size conditions of paper 2 under (L0,L1)-smoothness, and the stability thresholds of the
// parabola and quartic sanity checks (papers.md 8.2-8.6, 9).
//
// (L0,L1)-smoothness: ||Hess f(x)|| <= L0 + L1 ||grad f(x)||                  [papers.md 8.1]
//
// DCSGD, Thm 4.2 (new, stability-faithful SDE)                       [papers.md 8.4, READ-NOTE]
//   eta eta_t < 2 eps / ( G (1 + (omega_bar + d (s1^2omega_bar + s1^2_bar)) / N)
//                         + L1 d (s0^2_bar + s0^2omega_bar) / N ),       G = L0 + L1 E||grad f||
// Classic first-order SDE (Table 2, left column)                    [papers.md 8.6, READ-NOTE]
//   eta eta_t < 2 eps / ( G (omega_bar + d (s1^2omega_bar + s1^2_bar)) / N
//                         + L1 d (s0^2_bar + s0^2omega_bar) / N )
//   The new condition's "1 +" restores GD's eta < 2 eps / L0 without noise and compression; the
//   classic one then imposes nothing (max_step = +inf).
// Bars are agent averages (papers.md 1): omega_bar = mean_i omega_i, s1^2omega_bar =
// mean_i sigma_{1,i}^2 omega_i, and so on; sigma_{0,i}^2 + sigma_{1,i}^2 ||grad f||^2 bounds the
// noise variance of agent i (affine variance, papers.md 4.3).
//
// DSignSGD, Thm 4.3, heavy-tailed Student-t noise                   [papers.md 8.5, READ-NOTE]
//   eta eta_t < ell_nu / K,   K = L1 d sigma_{H,1} / (2N) + sqrt(d) (L0 + L1) M_nu   (new SDE)
//                             K = L1 d sigma_{H,1} / (2N)                          (classic)
//   sigma_{H,1}: harmonic mean over agents of the gradient-norm part sigma_{1,i} of the
//   Student-t scale s_i = sigma_{0,i} + sigma_{1,i} ||grad f|| ([GUESS], papers.md 4.4).
//   M_nu = sup_y 2|y| f_nu(y) = 2 f_nu(1) is papers.md's [GUESS] (special.hpp, m_nu).
//
// Thresholds, deterministic dynamics (no noise)                       [papers.md 8.2, 8.3, 9]
//   parabola f = lambda x^2/2, lambda > 0:
//     GD            x_{k+1} = (1 - eta lambda) x_k        converges iff eta < 2/lambda
//     first order   f(X_t) = f(X_0) e^{-2 lambda t}                     always converges
//     modified      f(X_t) = f(X_0) e^{-2 lambda (1 + lambda eta/2) t}  always, faster in eta
//     stable        f(X_t) = f(X_0) e^{-2 lambda (1 - lambda eta/2) t}  iff eta < 2/lambda
//   quartic f = x^4/4:
//     GD            x_{k+1} = x_k (1 - eta x_k^2): converges iff eta x_0^2 < 2, 2-cycle at = 2,
//                   diverges iff eta x_0^2 > 2
//     first order   dx/dt = -x^3                       attracting everywhere
//     modified      dx/dt = -x^3 - (3 eta/2) x^5        attracting everywhere
//     stable        dx/dt = -x^3 + (3 eta/2) x^5        repulsive iff x^2 > 2/(3 eta)
//   (modified: -(eta/2) Hess f grad f, the classic second-order drift; stable: +(eta/2) Hess f
//   grad f, paper 2's stability-faithful drift.)
#pragma once

#include <span>
#include <string>

#include "dcsde/core/types.hpp"
#include "dcsde/theory/special.hpp"

namespace dcsde {

// The supremum of the admissible effective step eta * eta_t, or why it cannot be computed.
struct StepLimit {
  bool valid = false;
  std::string reason;     // the violated input constraint (empty when valid)
  double max_step = 0.0;  // eta eta_t must be < max_step; +inf: the condition imposes nothing
  bool allows(double step) const { return valid && step < max_step; }
};

// Agent averages of papers.md 1 (bars).
struct AgentAverages {
  double omega = 0.0;            // omega_bar
  double sigma0_sq = 0.0;        // mean_i sigma_{0,i}^2
  double sigma0_sq_omega = 0.0;  // mean_i sigma_{0,i}^2 omega_i
  double sigma1_sq = 0.0;        // mean_i sigma_{1,i}^2
  double sigma1_sq_omega = 0.0;  // mean_i sigma_{1,i}^2 omega_i
};

// The averages from per-agent omega_i, sigma_{0,i}, sigma_{1,i} (standard deviations, not
// squared). Each list has N values or one value (broadcast); N is the longest length. All values
// must be >= 0 and the lengths consistent (DCSDE_ASSERT).
AgentAverages agent_averages(std::span<const double> omega, std::span<const double> sigma0,
                             std::span<const double> sigma1);

// 1 / mean_i (1/values_i): the H-subscript averages (sigma_{H,1}, s_H). values non-empty, > 0.
double harmonic_mean(std::span<const double> values);

struct DcsgdStepInputs {
  double L0 = 0.0;         // >= 0
  double L1 = 0.0;         // >= 0
  double grad_norm = 0.0;  // E||grad f(X_t)|| (Eq. 15 uses the current ||g_k||), >= 0
  AgentAverages averages;  // all >= 0
  Index d = 1;             // >= 1
  double N = 1.0;          // agents, > 0
  double eps = 0.5;        // in (0, 1)
};

// Thm 4.2 of paper 2 (new SDE) [READ-NOTE]: 2 eps / (G P + Q) with
// P = 1 + (omega_bar + d (s1^2omega + s1^2))/N, Q = L1 d (s0^2 + s0^2omega)/N.
StepLimit dcsgd_step_limit(const DcsgdStepInputs& in);
// The classic first-order SDE's condition (Table 2 left column) [READ-NOTE]: P without the 1.
StepLimit dcsgd_step_limit_classic(const DcsgdStepInputs& in);

struct DsignsgdStepInputs {
  double nu = kGaussianNu;  // degrees of freedom, > 0
  double L0 = 0.0;          // >= 0
  double L1 = 0.0;          // >= 0
  double sigma_h1 = 0.0;    // harmonic mean of sigma_{1,i}, >= 0
  Index d = 1;              // >= 1
  double N = 1.0;           // agents, > 0
};

// Thm 4.3 of paper 2 (new SDE) [READ-NOTE; M_nu GUESS]: ell_nu / K,
// K = L1 d sigma_H1/(2N) + sqrt(d) (L0 + L1) M_nu.
StepLimit dsignsgd_step_limit(const DsignsgdStepInputs& in);
// The classic first-order SDE's condition [READ-NOTE]: K = L1 d sigma_H1/(2N).
StepLimit dsignsgd_step_limit_classic(const DsignsgdStepInputs& in);

// The noise-free part (ODE) of the three SDE flavours.
enum class OdeFlavour {
  kFirstOrder,  // dx = -grad f dt
  kModified,    // dx = -grad f dt - (eta/2) Hess f grad f dt   (classic second order)
  kStable,      // dx = -grad f dt + (eta/2) Hess f grad f dt   (paper 2, stability-faithful)
};

// Preconditions of the threshold functions: lambda > 0, eta > 0 (DCSDE_ASSERT).

// GD on lambda x^2/2 converges iff eta < gd_parabola_max_step(lambda) = 2/lambda.
double gd_parabola_max_step(double lambda);
// GD on x^4/4 from x_0 converges iff x_0^2 < gd_quartic_escape_radius_sq(eta) = 2/eta and
// diverges iff x_0^2 > 2/eta.
double gd_quartic_escape_radius_sq(double eta);

// The exponent c of f(X_t) = f(X_0) e^{-c t} on lambda x^2/2: 2 lambda (1 + k lambda eta/2) with
// k = 0, +1, -1 for first order, modified, stable. The ODE converges iff c > 0.
double ode_parabola_rate(OdeFlavour flavour, double lambda, double eta);
// The largest eta for which the flavour's ODE converges on lambda x^2/2: +inf, +inf, 2/lambda.
double ode_parabola_max_step(OdeFlavour flavour, double lambda);
// dx/dt on x^4/4: -x^3, -x^3 - (3 eta/2) x^5, -x^3 + (3 eta/2) x^5.
double ode_quartic_drift(OdeFlavour flavour, double eta, double x);
// The flavour's ODE on x^4/4 is repulsive (|x| grows) iff x^2 > this: +inf, +inf, 2/(3 eta).
double ode_quartic_escape_radius_sq(OdeFlavour flavour, double eta);

}  // namespace dcsde
