#include "dcsde/theory/bounds.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <string_view>

namespace dcsde {
namespace {

ConvergenceBound refuse(std::string reason) {
  ConvergenceBound b;
  b.reason = std::move(reason);
  return b;
}

std::string violated(std::string_view name, double value, std::string_view constraint) {
  return fmt::format("{} = {}. Violated constraint: {}.", name, value, constraint);
}

// The first violated plain-input constraint, or empty. Written as !(x > 0) so NaN is caught.
std::optional<std::string> check_common(double eta, Index d, double N, double B, double gap) {
  if (!(eta > 0.0) || !std::isfinite(eta)) return violated("eta", eta, "0 < eta < inf");
  if (d < 1) return violated("d", static_cast<double>(d), "d >= 1");
  if (!(N > 0.0) || !std::isfinite(N)) return violated("N", N, "0 < N < inf");
  if (!(B > 0.0) || !std::isfinite(B)) return violated("B", B, "0 < B < inf");
  if (!(gap >= 0.0) || !std::isfinite(gap)) {
    return violated("initial_gap", gap, "0 <= initial_gap < inf");
  }
  return std::nullopt;
}

// Smoothness and PL constants: present and positive.
std::optional<std::string> check_constants(const char* theorem, const char* l_name,
                                           const std::optional<double>& L,
                                           const std::optional<double>& mu) {
  if (!L) {
    return fmt::format(
        "not L-smooth: {} needs the smoothness constant {} and the objective has none", theorem,
        l_name);
  }
  if (!(*L > 0.0) || !std::isfinite(*L)) {
    return fmt::format("not L-smooth: {}",
                       violated(l_name, *L, fmt::format("0 < {} < inf", l_name)));
  }
  if (!mu) {
    return fmt::format(
        "not PL: {} needs mu with ||grad f||^2 >= 2 mu (f - f*) and the objective "
        "has none",
        theorem);
  }
  if (!(*mu > 0.0) || !std::isfinite(*mu)) {
    return fmt::format("not PL: {}", violated("mu", *mu, "0 < mu < inf"));
  }
  return std::nullopt;
}

const char* kInfiniteVariance =
    "the noise has no finite variance (Student-t with nu <= 2): tr Sigma_i <= d sigma^2 fails, "
    "the DCSGD SDE and its bound do not exist (papers.md 7.2)";

ConvergenceBound make(double delta, double rate, double asymptote, double gap) {
  ConvergenceBound b;
  b.holds = true;
  b.delta = delta;
  b.rate = rate;
  b.asymptote = asymptote;
  b.initial_gap = gap;
  return b;
}

}  // namespace

double ConvergenceBound::at(double t) const {
  if (!holds) return std::numeric_limits<double>::infinity();
  const double decay = std::exp(-rate * t);
  return initial_gap * decay - std::expm1(-rate * t) * asymptote;
}

ConvergenceBound dcsgd_bound(const DcsgdBoundInputs& in) {
  if (auto e = check_common(in.eta, in.d, in.N, in.B, in.initial_gap)) return refuse(*e);
  if (!(in.sigma2 >= 0.0) || !std::isfinite(in.sigma2)) {
    return refuse(violated("sigma2", in.sigma2, "0 <= sigma2 < inf"));
  }
  if (!(in.omega >= 0.0) || !std::isfinite(in.omega)) {
    return refuse(violated("omega", in.omega, "0 <= omega < inf"));
  }
  if (auto e = check_constants("Thm 3", "L", in.L, in.mu)) return refuse(*e);
  if (!in.finite_variance) return refuse(kInfiniteVariance);
  const double L = *in.L, mu = *in.mu;
  const double delta = 1.0 - in.eta * L * L * in.omega / (2.0 * mu * in.N);
  if (!(delta > 0.0)) {
    ConvergenceBound b = refuse(fmt::format(
        "eta >= 2 mu N/(L^2 omega): the bound's rate is not positive (Delta = 1 - eta L^2 omega/(2 "
        "mu N) = {}; eta = {} >= {})",
        delta, in.eta, 2.0 * mu * in.N / (L * L * in.omega)));
    b.delta = delta;
    return b;
  }
  // Poster: (eta L d/(4 mu N)) (sigma^2/B) (1 + omega)/(1 - eta L^2 omega/(2 mu N)).
  const double asymptote = (in.eta * L * static_cast<double>(in.d) / (4.0 * mu * in.N)) *
                           (in.sigma2 / in.B) * (1.0 + in.omega) / delta;
  return make(delta, 2.0 * mu * delta, asymptote, in.initial_gap);
}

ConvergenceBound dsignsgd_bound(const DsignsgdBoundInputs& in) {
  if (auto e = check_common(in.eta, in.d, in.N, in.B, in.initial_gap)) return refuse(*e);
  if (!(in.nu > 0.0)) return refuse(violated("nu", in.nu, "nu > 0"));
  if (auto e = check_constants("Thm 4", "L", in.L, in.mu)) return refuse(*e);
  if (!(in.sigma > 0.0) || !std::isfinite(in.sigma)) {
    return refuse(violated("sigma", in.sigma, "0 < sigma < inf"));
  }
  const double L = *in.L, mu = *in.mu, ell = ell_nu(in.nu);
  const double delta = ell * std::sqrt(in.B) / in.sigma;
  const double asymptote = (in.eta * L * static_cast<double>(in.d) / (4.0 * mu * in.N)) *
                           (in.sigma / std::sqrt(in.B)) / ell;
  return make(delta, 2.0 * mu * delta, asymptote, in.initial_gap);
}

ConvergenceBound dcsgd_bound_derived(const DcsgdDerivedBoundInputs& in) {
  const std::size_t n = in.sigma2.size();
  if (n == 0) return refuse("sigma2 is empty. Violated constraint: one value per agent, N >= 1.");
  if (in.omega.size() != n && in.omega.size() != 1) {
    return refuse(
        fmt::format("omega has {} values for {} agents. Violated constraint: one value, "
                    "or one per agent.",
                    in.omega.size(), n));
  }
  const double N = static_cast<double>(n);
  if (auto e = check_common(in.eta, in.d, N, in.B, in.initial_gap)) return refuse(*e);
  double s2 = 0.0, omega_bar = 0.0, s2_omega = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double s = in.sigma2[i], w = in.omega.size() == 1 ? in.omega[0] : in.omega[i];
    if (!(s >= 0.0) || !std::isfinite(s)) {
      return refuse(violated(fmt::format("sigma2[{}]", i), s, "0 <= sigma2 < inf"));
    }
    if (!(w >= 0.0) || !std::isfinite(w)) {
      return refuse(violated(fmt::format("omega[{}]", i), w, "0 <= omega < inf"));
    }
    s2 += s / N;
    omega_bar += w / N;
    s2_omega += s * w / N;
  }
  if (auto e = check_constants("papers.md 7.4", "L", in.L, in.mu)) return refuse(*e);
  if (!in.finite_variance) return refuse(kInfiniteVariance);
  const double L = *in.L, mu = *in.mu;
  const double a = 1.0 - in.eta * L * omega_bar / (2.0 * N);
  if (!(a > 0.0)) {
    ConvergenceBound b = refuse(fmt::format(
        "eta >= 2 N/(L omega_bar): the bound's rate is not positive (a = 1 - eta L omega_bar/(2N) "
        "= {}; eta = {} >= {})",
        a, in.eta, 2.0 * N / (L * omega_bar)));
    b.delta = a;
    return b;
  }
  const double asymptote =
      in.eta * L * static_cast<double>(in.d) * (s2 + s2_omega) / (4.0 * mu * N * in.B * a);
  return make(a, 2.0 * mu * a, asymptote, in.initial_gap);
}

ConvergenceBound dsignsgd_bound_derived(const DsignsgdDerivedBoundInputs& in) {
  const std::size_t n = in.sigma.size();
  if (n == 0) return refuse("sigma is empty. Violated constraint: one value per agent, N >= 1.");
  const double N = static_cast<double>(n);
  if (auto e = check_common(in.eta, 1, N, in.B, in.initial_gap)) return refuse(*e);
  if (!(in.nu > 0.0)) return refuse(violated("nu", in.nu, "nu > 0"));
  if (auto e = check_constants("papers.md 7.5", "L_tau", in.L_tau, in.mu)) return refuse(*e);
  double inv_mean = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!(in.sigma[i] > 0.0) || !std::isfinite(in.sigma[i])) {
      return refuse(violated(fmt::format("sigma[{}]", i), in.sigma[i], "0 < sigma < inf"));
    }
    inv_mean += 1.0 / (in.sigma[i] * N);
  }
  const double s_h = 1.0 / (inv_mean * std::sqrt(in.B));
  const double ell = ell_nu(in.nu), mu = *in.mu;
  const double delta = ell / s_h;
  const double asymptote = in.eta * *in.L_tau * s_h / (4.0 * mu * N * ell);
  return make(delta, 2.0 * mu * delta, asymptote, in.initial_gap);
}

}  // namespace dcsde
