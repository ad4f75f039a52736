#include "dcsde/theory/stability.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

StepLimit invalid(const char* name, double value, const char* constraint) {
  StepLimit s;
  s.reason = fmt::format("{} = {}. Violated constraint: {}.", name, value, constraint);
  return s;
}

StepLimit limit(double max_step) {
  StepLimit s;
  s.valid = true;
  s.max_step = max_step;
  return s;
}

// numerator / denominator, with +inf when nothing constrains the step (denominator 0).
StepLimit ratio(double numerator, double denominator) {
  return limit(denominator > 0.0 ? numerator / denominator : kInf);
}

bool nonnegative(double x) { return x >= 0.0 && std::isfinite(x); }

std::optional<StepLimit> check(const DcsgdStepInputs& in) {
  if (!nonnegative(in.L0)) return invalid("L0", in.L0, "0 <= L0 < inf");
  if (!nonnegative(in.L1)) return invalid("L1", in.L1, "0 <= L1 < inf");
  if (!nonnegative(in.grad_norm)) return invalid("grad_norm", in.grad_norm, "0 <= grad_norm < inf");
  const AgentAverages& a = in.averages;
  if (!nonnegative(a.omega)) return invalid("omega_bar", a.omega, "omega_bar >= 0");
  if (!nonnegative(a.sigma0_sq)) return invalid("sigma0_sq", a.sigma0_sq, "sigma0_sq >= 0");
  if (!nonnegative(a.sigma0_sq_omega)) {
    return invalid("sigma0_sq_omega", a.sigma0_sq_omega, "sigma0_sq_omega >= 0");
  }
  if (!nonnegative(a.sigma1_sq)) return invalid("sigma1_sq", a.sigma1_sq, "sigma1_sq >= 0");
  if (!nonnegative(a.sigma1_sq_omega)) {
    return invalid("sigma1_sq_omega", a.sigma1_sq_omega, "sigma1_sq_omega >= 0");
  }
  if (in.d < 1) return invalid("d", static_cast<double>(in.d), "d >= 1");
  if (!(in.N > 0.0) || !std::isfinite(in.N)) return invalid("N", in.N, "0 < N < inf");
  if (!(in.eps > 0.0 && in.eps < 1.0)) return invalid("eps", in.eps, "0 < eps < 1");
  return std::nullopt;
}

// 2 eps / (G (one + A/N) + Q), the shared shape of Thm 4.2 and its classic column.
StepLimit dcsgd_limit(const DcsgdStepInputs& in, double one) {
  if (auto e = check(in)) return *e;
  const AgentAverages& a = in.averages;
  const double d = static_cast<double>(in.d);
  const double G = in.L0 + in.L1 * in.grad_norm;
  const double P = one + (a.omega + d * (a.sigma1_sq_omega + a.sigma1_sq)) / in.N;
  const double Q = in.L1 * d * (a.sigma0_sq + a.sigma0_sq_omega) / in.N;
  return ratio(2.0 * in.eps, G * P + Q);
}

std::optional<StepLimit> check(const DsignsgdStepInputs& in) {
  if (!(in.nu > 0.0)) return invalid("nu", in.nu, "nu > 0");
  if (!nonnegative(in.L0)) return invalid("L0", in.L0, "0 <= L0 < inf");
  if (!nonnegative(in.L1)) return invalid("L1", in.L1, "0 <= L1 < inf");
  if (!nonnegative(in.sigma_h1)) return invalid("sigma_h1", in.sigma_h1, "0 <= sigma_h1 < inf");
  if (in.d < 1) return invalid("d", static_cast<double>(in.d), "d >= 1");
  if (!(in.N > 0.0) || !std::isfinite(in.N)) return invalid("N", in.N, "0 < N < inf");
  return std::nullopt;
}

double classic_k(const DsignsgdStepInputs& in) {
  return in.L1 * static_cast<double>(in.d) * in.sigma_h1 / (2.0 * in.N);
}

void check_positive(double x, const char* what) { DCSDE_ASSERT(x > 0.0 && std::isfinite(x), what); }

}  // namespace

AgentAverages agent_averages(std::span<const double> omega, std::span<const double> sigma0,
                             std::span<const double> sigma1) {
  const std::size_t n = std::max({omega.size(), sigma0.size(), sigma1.size()});
  auto ok = [n](std::span<const double> v) { return v.size() == n || v.size() == 1; };
  DCSDE_ASSERT(n > 0 && ok(omega) && ok(sigma0) && ok(sigma1),
               "agent_averages: each list needs one value or one per agent");
  auto at = [](std::span<const double> v, std::size_t i) { return v.size() == 1 ? v[0] : v[i]; };
  AgentAverages a;
  const double inv_n = 1.0 / static_cast<double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double w = at(omega, i), s0 = at(sigma0, i), s1 = at(sigma1, i);
    DCSDE_ASSERT(w >= 0.0 && s0 >= 0.0 && s1 >= 0.0, "agent_averages: values must be >= 0");
    a.omega += w * inv_n;
    a.sigma0_sq += s0 * s0 * inv_n;
    a.sigma0_sq_omega += s0 * s0 * w * inv_n;
    a.sigma1_sq += s1 * s1 * inv_n;
    a.sigma1_sq_omega += s1 * s1 * w * inv_n;
  }
  return a;
}

double harmonic_mean(std::span<const double> values) {
  DCSDE_ASSERT(!values.empty(), "harmonic_mean: no values");
  double inv_mean = 0.0;
  for (double v : values) {
    DCSDE_ASSERT(v > 0.0, "harmonic_mean: values must be > 0");
    inv_mean += 1.0 / v;
  }
  return static_cast<double>(values.size()) / inv_mean;
}

StepLimit dcsgd_step_limit(const DcsgdStepInputs& in) { return dcsgd_limit(in, 1.0); }

StepLimit dcsgd_step_limit_classic(const DcsgdStepInputs& in) { return dcsgd_limit(in, 0.0); }

StepLimit dsignsgd_step_limit(const DsignsgdStepInputs& in) {
  if (auto e = check(in)) return *e;
  const double K =
      classic_k(in) + std::sqrt(static_cast<double>(in.d)) * (in.L0 + in.L1) * m_nu(in.nu);
  return ratio(ell_nu(in.nu), K);
}

StepLimit dsignsgd_step_limit_classic(const DsignsgdStepInputs& in) {
  if (auto e = check(in)) return *e;
  return ratio(ell_nu(in.nu), classic_k(in));
}

double gd_parabola_max_step(double lambda) {
  check_positive(lambda, "lambda must be > 0");
  return 2.0 / lambda;
}

double gd_quartic_escape_radius_sq(double eta) {
  check_positive(eta, "eta must be > 0");
  return 2.0 / eta;
}

double ode_parabola_rate(OdeFlavour flavour, double lambda, double eta) {
  check_positive(lambda, "lambda must be > 0");
  check_positive(eta, "eta must be > 0");
  switch (flavour) {
    case OdeFlavour::kFirstOrder:
      return 2.0 * lambda;
    case OdeFlavour::kModified:
      return 2.0 * lambda * (1.0 + 0.5 * lambda * eta);
    case OdeFlavour::kStable:
      return 2.0 * lambda * (1.0 - 0.5 * lambda * eta);
  }
  return 0.0;  // unreachable
}

double ode_parabola_max_step(OdeFlavour flavour, double lambda) {
  check_positive(lambda, "lambda must be > 0");
  return flavour == OdeFlavour::kStable ? 2.0 / lambda : kInf;
}

double ode_quartic_drift(OdeFlavour flavour, double eta, double x) {
  check_positive(eta, "eta must be > 0");
  // Hess f grad f = 3x^2 * x^3 = 3 x^5 on x^4/4.
  const double x3 = x * x * x, correction = 1.5 * eta * x3 * x * x;
  switch (flavour) {
    case OdeFlavour::kFirstOrder:
      return -x3;
    case OdeFlavour::kModified:
      return -x3 - correction;
    case OdeFlavour::kStable:
      return -x3 + correction;
  }
  return 0.0;  // unreachable
}

double ode_quartic_escape_radius_sq(OdeFlavour flavour, double eta) {
  check_positive(eta, "eta must be > 0");
  return flavour == OdeFlavour::kStable ? 2.0 / (3.0 * eta) : kInf;
}

}  // namespace dcsde
