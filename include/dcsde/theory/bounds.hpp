// Convergence bounds of paper 1 for DCSGD and DSignSGD under mu-PL and L-smoothness.
//
// Every bound has the shape (t is SDE time, t = k eta after k steps)
//   E[f(X_t) - f*] <= gap e^(-rate t) + (1 - e^(-rate t)) asymptote,   gap = f(X_0) - f*,
// and is returned as a ConvergenceBound: the theorem's Delta, rate = 2 mu Delta, the asymptote,
// or a refusal (holds = false) with the reason. Refusals are data, not exceptions: a bound that
// does not apply (objective not PL, infinite noise variance, step too large) says why.
//
// Two versions of each theorem are given, so that later code can compare them:
//
// * dcsgd_bound, dsignsgd_bound: the poster's Thm 3 and Thm 4, EXACTLY as stated (papers.md 0,
//   [READ: poster]; the poster wins over every other source).
//     Thm 3:  Delta = 1 - eta L^2 omega / (2 mu N),  rate = 2 mu Delta,
//             asymptote = (eta L d / (4 mu N)) (sigma^2 / B) (1 + omega) / Delta
//             for tr Sigma_i <= d sigma^2 (per-sample noise covariance of every agent).
//     Thm 4:  noise Z ~ sigma t_nu(0, I_d) per sample (scale sigma/sqrt(B) with batch B),
//             Delta = ell_nu sqrt(B) / sigma,  rate = 2 mu Delta,
//             asymptote = (eta L d / (4 mu N)) (sigma / sqrt(B)) / ell_nu.
//
// * dcsgd_bound_derived, dsignsgd_bound_derived: the [DERIVED] forms of papers.md 7.4 and 7.5
//   (Ito's lemma on the SDEs of Thm 1 / Thm 2, per-agent constants; constants may differ from
//   the paper's):
//     7.4:  a = 1 - eta L omega_bar / (2N)          (L, not the poster's L^2/mu),
//           rate = 2 mu a,
//           asymptote = eta L d (mean_i sigma_i^2 + mean_i omega_i sigma_i^2) / (4 mu N B a).
//     7.5:  small-SNR phase, s_H = sigma_H / sqrt(B) with 1/sigma_H = mean_i 1/sigma_i (harmonic
//           mean of the agents' Student-t scales), L_tau = sup_x tr Hess f(x):
//           Delta = ell_nu / s_H, rate = 2 mu ell_nu / s_H,
//           asymptote = eta L_tau s_H / (4 mu N ell_nu).
//   With equal agents (sigma_i = sigma, omega_i = omega): 7.5 is the poster's Thm 4 when
//   L_tau = L d; 7.4 is the poster's Thm 3 with Delta replaced by a. The poster has L^2/mu where
//   7.4 has L, and L^2/mu >= L (mu <= L), so the poster's step condition is the stricter one.
//
// Refusal order: invalid inputs ("eta = -1. Violated constraint: 0 < eta < inf."), then not
// L-smooth, not PL, infinite variance (DCSGD), non-positive rate (DCSGD). Missing constants are
// std::optional so that ObjectiveConstants (objective/objective.hpp) fields can be passed as is.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dcsde/core/types.hpp"
#include "dcsde/theory/special.hpp"

namespace dcsde {

struct ConvergenceBound {
  bool holds = false;
  std::string reason;        // why the bound does not apply (empty when holds)
  double delta = 0.0;        // the theorem's Delta (rate factor); also set when Delta <= 0
  double rate = 0.0;         // 2 mu Delta > 0
  double asymptote = 0.0;    // lim_{t -> inf} at(t)
  double initial_gap = 0.0;  // f(X_0) - f* = at(0)
  // gap e^(-rate t) + (1 - e^(-rate t)) asymptote for t >= 0; +inf when !holds (no bound).
  double at(double t) const;
};

// Inputs of the poster's Thm 3 (DCSGD; DSGD at omega = 0).
struct DcsgdBoundInputs {
  double eta = 0.0;             // learning rate, > 0
  std::optional<double> L;      // lambda_max(Hess f) <= L; empty: not L-smooth
  std::optional<double> mu;     // ||grad f||^2 >= 2 mu (f - f*); empty: not PL
  Index d = 1;                  // dimension, >= 1
  double N = 1.0;               // agents, > 0 (a non-integer N from a scaling rule is accepted)
  double B = 1.0;               // batch size, > 0
  double sigma2 = 0.0;          // tr Sigma_i(x) <= d sigma2 per sample, >= 0
  double omega = 0.0;           // compressor variance parameter, >= 0 (0: no compression)
  double initial_gap = 0.0;     // f(X_0) - f*, >= 0
  bool finite_variance = true;  // false for Student-t noise with nu <= 2 (no Sigma_i)
};

// Poster Thm 3 [READ: poster]. Refuses when not L-smooth, not PL, !finite_variance, or
// Delta <= 0, i.e. eta >= 2 mu N / (L^2 omega).
ConvergenceBound dcsgd_bound(const DcsgdBoundInputs& in);

// Inputs of the poster's Thm 4 (DSignSGD, Z ~ sigma t_nu(0, I_d) per sample).
struct DsignsgdBoundInputs {
  double eta = 0.0;          // learning rate, > 0
  std::optional<double> L;   // lambda_max(Hess f) <= L; empty: not L-smooth
  std::optional<double> mu;  // PL constant; empty: not PL
  Index d = 1;               // dimension, >= 1
  double N = 1.0;            // agents, > 0
  double B = 1.0;            // batch size, > 0
  double sigma = 1.0;        // Student-t scale per sample, > 0
  double nu = kGaussianNu;   // degrees of freedom, > 0 (inf: Gaussian, ell = sqrt(2/pi))
  double initial_gap = 0.0;  // f(X_0) - f*, >= 0
};

// Poster Thm 4 [READ: poster]. Refuses when not L-smooth, not PL, or sigma <= 0. Holds for
// every nu > 0, including the Cauchy case nu = 1 (infinite mean), unlike Thm 3.
ConvergenceBound dsignsgd_bound(const DsignsgdBoundInputs& in);

// Inputs of the [DERIVED] DCSGD bound of papers.md 7.4 (per-agent constants, N = agents).
struct DcsgdDerivedBoundInputs {
  double eta = 0.0;
  std::optional<double> L;   // lambda_max(Hess f) <= L
  std::optional<double> mu;  // PL constant
  Index d = 1;
  double B = 1.0;
  std::vector<double> sigma2;  // per agent: tr Sigma_i <= d sigma2[i] per sample; N = size >= 1
  std::vector<double> omega;   // per agent omega_i >= 0; same size as sigma2, or one value
  double initial_gap = 0.0;
  bool finite_variance = true;
};

// papers.md 7.4 [DERIVED]: a = 1 - eta L omega_bar/(2N); refuses when a <= 0, i.e.
// eta >= 2N/(L omega_bar), and as dcsgd_bound otherwise.
ConvergenceBound dcsgd_bound_derived(const DcsgdDerivedBoundInputs& in);

// Inputs of the [DERIVED] DSignSGD bound of papers.md 7.5 (small-SNR phase).
struct DsignsgdDerivedBoundInputs {
  double eta = 0.0;
  std::optional<double> L_tau;  // sup_x tr Hess f(x) (ObjectiveConstants::trace_hessian_max)
  std::optional<double> mu;     // PL constant
  double B = 1.0;
  std::vector<double> sigma;  // per-agent Student-t scales per sample, > 0; N = size >= 1
  double nu = kGaussianNu;
  double initial_gap = 0.0;
};

// papers.md 7.5 [DERIVED]: s_H = harmonic_mean(sigma)/sqrt(B), Delta = ell_nu/s_H.
ConvergenceBound dsignsgd_bound_derived(const DsignsgdDerivedBoundInputs& in);

}  // namespace dcsde
