// Scaling rules of paper 1: how to rescale the hyperparameters of a distributed run and keep
// its asymptotic loss (papers.md 0 [READ: poster], 7.6 [DERIVED]).
//
// Rescaling: eta -> kappa eta, B -> delta B, N -> alpha N, omega -> beta omega.
//
// DCSGD. The poster's Thm 3 asymptote is, to first order in eta (Delta ~ 1),
//   level(eta, B, N, omega) = eta (1 + omega) / (N B)      (times L d sigma^2 / (4 mu)),
// and the rule keeps it equal to the level of a reference run:
//   uncompressed reference DSGD(eta, B, N), level eta / (N B):
//     kappa (1 + beta omega) = alpha delta                    (the rescaled run compresses at
//                                                               beta omega; omega is the base)
//   compressed reference DCSGD(eta, B, N, omega), level eta (1 + omega) / (N B):
//     kappa (1 + beta omega) = alpha delta (1 + omega)
// Any three factors give the fourth. The six rows of the poster's table are cases of these two
// identities (papers.md 0; docs/theory.md, "Scaling rules", has the table and its tests):
//   row  poster rule                          implication      reference     given
//   1    alpha = 1 + beta omega               CR up, N up      uncompressed  kappa = delta = 1
//   2    alpha = kappa (1 + omega)            LR up, N up      uncompressed  delta = beta = 1
//   3    alpha = (1 + omega)/(1 + b omega)    BS down, N up    uncompressed  kappa = beta = 1,
//                                                                            delta = 1 + b omega
//   4    kappa = (1 + omega)/(1 + beta omega) CR up, LR down   compressed    alpha = delta = 1
//   5    delta = 1 + beta omega               CR up, BS up     uncompressed  kappa = alpha = 1
//   6    kappa = delta/(1 + omega)            BS up, LR up     uncompressed  alpha = beta = 1
// Row 3's b is the poster's beta; in our reading it measures the batch, not the compressor: a
// run compressed at omega that grows its batch only by 1 + b omega (b < 1: less than row 5's
// 1 + omega) pays the rest with agents. The same number comes out of the compressed identity with
// reference compression b omega moved to omega (kappa = delta = 1, beta = 1/b).
//
// DSignSGD. Thm 4's asymptote is proportional to eta / (N sqrt(B)) (sigma and nu fixed), so the
// rule is kappa / (alpha sqrt(delta)) = 1: any two of (kappa, alpha, delta) give the third.
//
// Factors are finite and > 0. Solving fails (ok = false, reason) when not exactly three (two for
// DSignSGD) factors are given, when a given factor or omega is invalid, when beta is asked for
// with omega = 0 (it multiplies nothing), or when the solution is not positive.
#pragma once

#include <optional>
#include <string>

namespace dcsde {

enum class ScalingReference {
  kUncompressed,  // DSGD(eta, B, N): the rescaled run (compression beta omega) matches DSGD
  kCompressed,    // DCSGD(eta, B, N, omega): the rescaled run matches the compressed run
};

// The four factors of the DCSGD rule; exactly one empty (the unknown).
struct DcsgdScalingFactors {
  std::optional<double> kappa;  // eta -> kappa eta
  std::optional<double> delta;  // B -> delta B
  std::optional<double> alpha;  // N -> alpha N
  std::optional<double> beta;   // omega -> beta omega
};

// The three factors of the DSignSGD rule; exactly one empty.
struct DsignsgdScalingFactors {
  std::optional<double> kappa;
  std::optional<double> delta;
  std::optional<double> alpha;
};

struct ScalingRule {
  bool ok = false;
  std::string reason;   // why no rule was found (empty when ok)
  std::string rule;     // the preserved identity, e.g. "kappa (1 + beta omega) = alpha delta"
  std::string solved;   // the unknown: "kappa", "delta", "alpha" or "beta"
  std::string formula;  // the unknown solved, e.g. "alpha = kappa (1 + beta omega) / delta"
  double value = 0.0;   // the unknown's value
  // All factors once solved (beta = 1 for DSignSGD, which keeps the compressor).
  double kappa = 1.0;
  double delta = 1.0;
  double alpha = 1.0;
  double beta = 1.0;
};

// DCSGD rule against `reference`; omega >= 0 is the base compression.
ScalingRule solve_dcsgd_scaling(double omega, ScalingReference reference,
                                const DcsgdScalingFactors& given);

// DSignSGD rule kappa = alpha sqrt(delta).
ScalingRule solve_dsignsgd_scaling(const DsignsgdScalingFactors& given);

// A run's hyperparameters. B and N may become non-integer under a rule; rounding is the
// caller's choice.
struct Hyperparameters {
  double eta = 0.0;
  double B = 1.0;
  double N = 1.0;
  double omega = 0.0;
};

// (kappa eta, delta B, alpha N, beta omega). rule.ok is required (DCSDE_ASSERT).
Hyperparameters apply_scaling(const Hyperparameters& base, const ScalingRule& rule);

// The quantities the rules keep fixed (first order in eta, common constants dropped):
//   dcsgd_level    = eta (1 + omega) / (N B)   (Thm 3 asymptote / (L d sigma^2 / (4 mu)))
//   dsignsgd_level = eta / (N sqrt(B))         (Thm 4 asymptote / (L d sigma / (4 mu ell_nu)))
double dcsgd_level(const Hyperparameters& h);
double dsignsgd_level(const Hyperparameters& h);

}  // namespace dcsde
