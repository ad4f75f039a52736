#include "dcsde/theory/scaling.hpp"

#include <fmt/format.h>

#include <cmath>
#include <vector>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

ScalingRule fail(std::string reason) {
  ScalingRule r;
  r.reason = std::move(reason);
  return r;
}

struct Named {
  const char* name;
  const std::optional<double>* value;
};

// Checks that exactly `want` factors are given and valid; on success `unknown` is the index of
// the empty one.
std::optional<std::string> check_given(const std::vector<Named>& factors, std::size_t want,
                                       std::size_t& unknown) {
  std::size_t count = 0;
  std::string names;
  for (std::size_t i = 0; i < factors.size(); ++i) {
    if (!factors[i].value->has_value()) {
      unknown = i;
      continue;
    }
    const double v = **factors[i].value;
    if (!(v > 0.0) || !std::isfinite(v)) {
      return fmt::format("{} = {}. Violated constraint: 0 < {} < inf.", factors[i].name, v,
                         factors[i].name);
    }
    names += (count++ ? ", " : "") + std::string(factors[i].name);
  }
  if (count != want) {
    std::string all;
    for (std::size_t i = 0; i < factors.size(); ++i) {
      all += (i ? ", " : "") + std::string(factors[i].name);
    }
    return fmt::format("give exactly {} of {} (got {}{}{})", want, all, count, count ? ": " : "",
                       names);
  }
  return std::nullopt;
}

}  // namespace

ScalingRule solve_dcsgd_scaling(double omega, ScalingReference reference,
                                const DcsgdScalingFactors& given) {
  if (!(omega >= 0.0) || !std::isfinite(omega)) {
    return fail(fmt::format("omega = {}. Violated constraint: 0 <= omega < inf.", omega));
  }
  const std::vector<Named> factors = {{"kappa", &given.kappa},
                                      {"delta", &given.delta},
                                      {"alpha", &given.alpha},
                                      {"beta", &given.beta}};
  std::size_t unknown = 0;
  if (auto e = check_given(factors, 3, unknown)) return fail(*e);

  const bool compressed = reference == ScalingReference::kCompressed;
  // kappa (1 + beta omega) = alpha delta R, with R = 1 or 1 + omega.
  const double R = compressed ? 1.0 + omega : 1.0;
  const std::string r_text = compressed ? " (1 + omega)" : "";
  ScalingRule r;
  r.rule = "kappa (1 + beta omega) = alpha delta" + r_text;
  r.kappa = given.kappa.value_or(1.0);
  r.delta = given.delta.value_or(1.0);
  r.alpha = given.alpha.value_or(1.0);
  r.beta = given.beta.value_or(1.0);
  switch (unknown) {
    case 0:
      r.solved = "kappa";
      r.kappa = r.alpha * r.delta * R / (1.0 + r.beta * omega);
      r.formula = "kappa = alpha delta" + r_text + " / (1 + beta omega)";
      r.value = r.kappa;
      break;
    case 1:
      r.solved = "delta";
      r.delta = r.kappa * (1.0 + r.beta * omega) / (r.alpha * R);
      r.formula = compressed ? "delta = kappa (1 + beta omega) / (alpha (1 + omega))"
                             : "delta = kappa (1 + beta omega) / alpha";
      r.value = r.delta;
      break;
    case 2:
      r.solved = "alpha";
      r.alpha = r.kappa * (1.0 + r.beta * omega) / (r.delta * R);
      r.formula = compressed ? "alpha = kappa (1 + beta omega) / (delta (1 + omega))"
                             : "alpha = kappa (1 + beta omega) / delta";
      r.value = r.alpha;
      break;
    default:
      r.solved = "beta";
      r.formula = "beta = (alpha delta" + r_text + " / kappa - 1) / omega";
      if (omega == 0.0) {
        return fail(
            "beta cannot be solved for with omega = 0: the compression it rescales is absent (the "
            "rule reads kappa = alpha delta" +
            r_text + ")");
      }
      r.beta = (r.alpha * r.delta * R / r.kappa - 1.0) / omega;
      r.value = r.beta;
      break;
  }
  if (!(r.value > 0.0) || !std::isfinite(r.value)) {
    return fail(
        fmt::format("{} = {} from {}: the solution is not positive (no run with these "
                    "factors keeps the level)",
                    r.solved, r.value, r.formula));
  }
  r.ok = true;
  return r;
}

ScalingRule solve_dsignsgd_scaling(const DsignsgdScalingFactors& given) {
  const std::vector<Named> factors = {
      {"kappa", &given.kappa}, {"delta", &given.delta}, {"alpha", &given.alpha}};
  std::size_t unknown = 0;
  if (auto e = check_given(factors, 2, unknown)) return fail(*e);
  ScalingRule r;
  r.rule = "kappa = alpha sqrt(delta)";
  r.kappa = given.kappa.value_or(1.0);
  r.delta = given.delta.value_or(1.0);
  r.alpha = given.alpha.value_or(1.0);
  switch (unknown) {
    case 0:
      r.solved = "kappa";
      r.kappa = r.alpha * std::sqrt(r.delta);
      r.formula = "kappa = alpha sqrt(delta)";
      r.value = r.kappa;
      break;
    case 1:
      r.solved = "delta";
      r.delta = (r.kappa / r.alpha) * (r.kappa / r.alpha);
      r.formula = "delta = (kappa / alpha)^2";
      r.value = r.delta;
      break;
    default:
      r.solved = "alpha";
      r.alpha = r.kappa / std::sqrt(r.delta);
      r.formula = "alpha = kappa / sqrt(delta)";
      r.value = r.alpha;
      break;
  }
  r.ok = true;
  return r;
}

Hyperparameters apply_scaling(const Hyperparameters& base, const ScalingRule& rule) {
  DCSDE_ASSERT(rule.ok, "apply_scaling: the rule was not solved");
  return {.eta = rule.kappa * base.eta,
          .B = rule.delta * base.B,
          .N = rule.alpha * base.N,
          .omega = rule.beta * base.omega};
}

double dcsgd_level(const Hyperparameters& h) { return h.eta * (1.0 + h.omega) / (h.N * h.B); }

double dsignsgd_level(const Hyperparameters& h) { return h.eta / (h.N * std::sqrt(h.B)); }

}  // namespace dcsde
