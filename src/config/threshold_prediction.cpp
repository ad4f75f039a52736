// The theory's prediction of a stability limit (config/threshold.hpp): a rule "unstable at this
// experiment?" read off the experiment, and the key's value where the rule changes, found by
// bisection between the probed ends (so any key works: method.lr, agents.count, compressor.p...).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "dcsde/config/threshold.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/objective/objectives.hpp"
#include "dcsde/theory/stability.hpp"

namespace dcsde {
namespace {

struct Rule {
  std::string kind, rule, source;
  std::function<bool(const Experiment&)> unstable;
};

double max_of(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }
double at(const std::vector<double>& v, std::size_t i) { return v.size() == 1 ? v[0] : v[i]; }

// The SDE model: nothing for the optimizer.
using Model = std::optional<SdeModel>;

// The SDE flavour's sign k in the drift -grad f + k (eta/2) Hess f grad f (papers.md 8.2, 8.3).
double flavour_sign(Model model) { return model ? spec_of(*model).drift_sign : 0.0; }

// The probability q that an agent keeps a coordinate (scaled by 1/q), for the compressors whose
// coordinate j is v_j b / q with b ~ Bernoulli(q): identity (q = 1), bernoulli (p), rand_k (k/d).
std::optional<double> keep_probability(const Experiment& e) {
  if (!e.uniform_compressors()) return std::nullopt;  // the recursions below share one q
  return dcsde::keep_probability(e.compressor, e.objective.dim);
}

// D(S)GD-like: the mean of the agents' compressed gradients, with eta eta_k (dsgd, dcsgd).
bool averaged_with_schedule(const Experiment& e) {
  const MethodSpec& m = spec_of(e.method.kind);
  return m.needs != CompressorNeed::kSigns && m.aggregation == Aggregation::kAverage &&
         m.rule == StepRule::kScheduled;
}

NoiseFamily noise_family(const Experiment& e) { return spec_of(e.noise.kind).family; }
bool constant_scale(const Experiment& e) {
  return spec_of(e.noise.kind).rule == NoiseScaleRule::kConstant;
}
bool constant_schedule(const Experiment& e) {
  return e.method.schedule.kind == ScheduleKind::kConstant;
}

// Diagonal quadratic f = 1/2 sum h_j x_j^2 with D(S)GD and a Bernoulli-type compressor: each
// coordinate is the scalar recursion x' = x (1 - eta h S/(N q)) + eta (noise), S ~ Bin(N, q), so
// both limits are exact (papers.md 9; tests/method/stationary_test.cpp).
std::optional<Rule> quadratic_rule(const Experiment& e, Model model, StabilityCriterion c) {
  if (e.objective.kind != ObjectiveKind::kQuadratic || !averaged_with_schedule(e) ||
      !constant_schedule(e) || !keep_probability(e))
    return std::nullopt;
  const bool almost_sure = c == StabilityCriterion::kAlmostSure;
  // Additive noise leaves the limits unchanged where E x^2 (mean square) or E log+|noise|
  // (almost sure, Kesten) is finite; the SDE's almost-sure limit is that of a geometric Brownian
  // motion, without additive noise only.
  const NoiseFamily noise = noise_family(e);
  const bool gaussian =
      constant_scale(e) && (noise == NoiseFamily::kNone || noise == NoiseFamily::kGaussian);
  const bool student_t = constant_scale(e) && noise == NoiseFamily::kStudentT;
  const bool ok = !almost_sure ? gaussian || (student_t && e.noise.nu > 2.0)
                  : !model     ? gaussian || student_t
                               : noise == NoiseFamily::kNone;
  if (!ok || (almost_sure && !model && e.agents > 4096)) return std::nullopt;
  auto coefficients = [](const Experiment& x) {
    const double q = *keep_probability(x);
    return std::make_tuple(spectrum(x.objective), q, 1.0 / q - 1.0, static_cast<double>(x.agents),
                           x.method.lr);
  };
  Rule r;
  if (!model && !almost_sure) {
    r = {"exact",
         "E x_j^2 is multiplied by A_j = (1 - eta h_j)^2 + eta^2 omega h_j^2 / N per step: "
         "stable iff eta < 2N / (h_max (N + omega))",
         "papers.md 9; the exact second-moment recursion of tests/method/stationary_test.cpp",
         {}};
    r.unstable = [coefficients](const Experiment& x) {
      const auto [h, q, w, N, eta] = coefficients(x);
      const double hm = h.maxCoeff();
      return (1.0 - eta * hm) * (1.0 - eta * hm) + eta * eta * w * hm * hm / N > 1.0;
    };
  } else if (!model) {
    r = {"exact",
         "Lyapunov exponent of coordinate j: E log|1 - eta h_j S/(N q)|, S ~ Binomial(N, "
         "q) agents keeping it; stable iff < 0 for every j (with additive noise: Kesten)",
         "derived: coordinates of a diagonal quadratic are independent scalar recursions",
         {}};
    r.unstable = [coefficients](const Experiment& x) {
      const auto [h, q, w, N, eta] = coefficients(x);
      const int n = static_cast<int>(N);
      for (Index j = 0; j < h.size(); ++j) {
        double lyapunov = 0.0;
        for (int s = 0; s <= n; ++s) {
          const double weight =
              std::exp(std::lgamma(n + 1.0) - std::lgamma(s + 1.0) - std::lgamma(n - s + 1.0)) *
              std::pow(q, s) * std::pow(1.0 - q, n - s);
          if (weight > 0.0) lyapunov += weight * std::log(std::abs(1.0 - eta * h[j] * s / (N * q)));
        }
        if (lyapunov > 0.0) return true;
      }
      return false;
    };
  } else {
    // dX_j = -a_j X_j dt + b_j X_j dW (+ additive noise), a_j = h_j (1 + k eta h_j/2),
    // b_j^2 = eta omega h_j^2 / N (the law's variance omega h_j^2 x_j^2 / N, times eta).
    const double k = flavour_sign(model);
    r.kind = "continuous_time";
    r.source =
        "derived from the SDE (papers.md 8.3) on the quadratic; Euler-Maruyama steps "
        "(dt = eta/substeps) add their own limit, which more substeps push away";
    r.rule = almost_sure ? "geometric Brownian motion: stable iff a_j + b_j^2/2 > 0 for every j"
                         : "d E X_j^2/dt = (-2 a_j + b_j^2) E X_j^2 (+ const): stable iff "
                           "2 a_j > b_j^2 for every j";
    r.unstable = [coefficients, k, almost_sure](const Experiment& x) {
      const auto [h, q, w, N, eta] = coefficients(x);
      for (Index j = 0; j < h.size(); ++j) {
        const double a = h[j] * (1.0 + k * eta * h[j] / 2.0), b2 = eta * w * h[j] * h[j] / N;
        if (almost_sure ? a + b2 / 2.0 < 0.0 : 2.0 * a < b2) return true;
      }
      return false;
    };
  }
  return r;
}

// Noise-free GD on the quartic x^4/4, coordinate-wise x' = x (1 - eta x^2) (papers.md 8.2), and
// the flavours' ODEs (8.3): both criteria alike, the dynamics being deterministic.
std::optional<Rule> quartic_rule(const Experiment& e, Model model) {
  if (e.objective.kind != ObjectiveKind::kQuartic || noise_family(e) != NoiseFamily::kNone ||
      !e.uniform_compressors() || !spec_of(e.compressor.kind).identity ||
      !averaged_with_schedule(e) || !constant_schedule(e))
    return std::nullopt;
  auto x0_sq = [](const Experiment& x) {
    const double m = std::max(max_of(x.x0), -*std::min_element(x.x0.begin(), x.x0.end()));
    return m * m;
  };
  if (!model)
    return Rule{"exact",
                "x_{k+1} = x_k (1 - eta x_k^2): |x| shrinks for ever iff eta max x0_j^2 < 2, a "
                "2-cycle at 2, grows iff > 2",
                "papers.md 8.2; theory/stability.hpp gd_quartic_escape_radius_sq",
                [x0_sq](const Experiment& x) { return x.method.lr * x0_sq(x) > 2.0; }};
  const OdeFlavour f = *model == SdeModel::kStable     ? OdeFlavour::kStable
                       : *model == SdeModel::kModified ? OdeFlavour::kModified
                                                       : OdeFlavour::kFirstOrder;
  return Rule{"continuous_time",
              "the flavour's ODE is repulsive iff x0^2 > its escape radius^2 (stable: 2/(3 eta); "
              "first_order, modified: never)",
              "papers.md 8.3; theory/stability.hpp ode_quartic_escape_radius_sq",
              [x0_sq, f](const Experiment& x) {
                return x0_sq(x) > ode_quartic_escape_radius_sq(f, x.method.lr);
              }};
}

// Thm 4.2 (DCSGD) and Thm 4.3 (DSignSGD) of paper 2 on (L0,L1)-smooth objectives, at x0: the new
// SDE's condition for the optimizer and the stable SDE, the classic one for first_order.
std::optional<Rule> theorem_rule(const Experiment& e, Model model) {
  if (model == SdeModel::kModified || !constant_schedule(e)) return std::nullopt;
  const bool classic = model == SdeModel::kFirstOrder;
  const Assembled a = assemble(e);
  const ObjectiveConstants k = a.objective->constants();
  if (!k.L0 || !k.L1) return std::nullopt;
  const NoiseFamily noise = noise_family(e);
  if (averaged_with_schedule(e) &&
      (noise == NoiseFamily::kNone || noise == NoiseFamily::kGaussian)) {
    return Rule{"sufficient",
                std::string("Thm 4.2") + (classic ? " (classic first-order SDE column)" : "") +
                    ": eta < 2 eps / (G P + Q) at t = 0, G = L0 + L1 ||grad f(x0)||, eps -> 1",
                "papers.md 8.4, 8.6; theory/stability.hpp", [classic](const Experiment& x) {
                  const Assembled b = assemble(x);
                  const Vector x0 = b.x0;
                  Batch g(x0.size(), 1);
                  b.objective->gradient(x0, g);
                  const double B = std::sqrt(static_cast<double>(x.noise.batch));
                  std::vector<double> s0, s1;
                  const bool affine = spec_of(x.noise.kind).rule == NoiseScaleRule::kAffineVariance;
                  for (Index i = 0; i < x.agents; ++i) {
                    const auto n = static_cast<std::size_t>(i);
                    s0.push_back(noise_family(x) == NoiseFamily::kNone ? 0.0
                                 : affine                              ? at(x.noise.sigma0, n) / B
                                                                       : at(x.noise.sigma, n) / B);
                    s1.push_back(affine ? at(x.noise.sigma1, n) / B : 0.0);
                  }
                  std::vector<double> w;  // omega_i per agent (one value when shared)
                  for (const Compressor* c : b.method->compressors())
                    w.push_back(c->omega(x.objective.dim).value_or(0.0));
                  const ObjectiveConstants c = b.objective->constants();
                  const DcsgdStepInputs in{.L0 = *c.L0,
                                           .L1 = *c.L1,
                                           .grad_norm = g.norm(),
                                           .averages = agent_averages(w, s0, s1),
                                           .d = x.objective.dim,
                                           .N = static_cast<double>(x.agents),
                                           .eps = 0.5};
                  const StepLimit l = classic ? dcsgd_step_limit_classic(in) : dcsgd_step_limit(in);
                  // The limit is linear in eps: twice the eps = 1/2 one is the eps -> 1 supremum.
                  return l.valid && !(x.method.lr < 2.0 * l.max_step);
                }};
  }
  const MethodSpec& method = spec_of(e.method.kind);
  if (method.needs == CompressorNeed::kSigns && method.aggregation == Aggregation::kAverage &&
      noise == NoiseFamily::kStudentT) {
    return Rule{"sufficient",
                std::string("Thm 4.3") + (classic ? " (classic first-order SDE column)" : "") +
                    ": eta < ell_nu / K, K = L1 d sigma_H1/(2N)" +
                    (classic ? "" : " + sqrt(d) (L0 + L1) M_nu"),
                "papers.md 8.5, 8.6; theory/stability.hpp", [classic](const Experiment& x) {
                  const Assembled b = assemble(x);
                  const ObjectiveConstants c = b.objective->constants();
                  double sigma_h1 = 0.0;
                  if (spec_of(x.noise.kind).rule == NoiseScaleRule::kAffineScale &&
                      *std::min_element(x.noise.sigma1.begin(), x.noise.sigma1.end()) > 0.0)
                    sigma_h1 = harmonic_mean(x.noise.sigma1) /
                               std::sqrt(static_cast<double>(x.noise.batch));
                  const DsignsgdStepInputs in{.nu = x.noise.nu,
                                              .L0 = *c.L0,
                                              .L1 = *c.L1,
                                              .sigma_h1 = sigma_h1,
                                              .d = x.objective.dim,
                                              .N = static_cast<double>(x.agents)};
                  const StepLimit l =
                      classic ? dsignsgd_step_limit_classic(in) : dsignsgd_step_limit(in);
                  return l.valid && !(x.method.lr < l.max_step);
                }};
  }
  return std::nullopt;
}

std::optional<Rule> rule_for(const Experiment& e, const std::string& process,
                             StabilityCriterion c) {
  const Model model = process.rfind("sde:", 0) == 0
                          ? kind_named<SdeModel>(std::string_view(process).substr(4))
                          : std::nullopt;
  if (auto r = quadratic_rule(e, model, c)) return r;
  if (auto r = quartic_rule(e, model)) return r;
  return theorem_rule(e, model);
}

}  // namespace

ThresholdPrediction predict_threshold(const std::function<Experiment(double)>& at_value, double lo,
                                      double hi, bool integer, const std::string& process,
                                      StabilityCriterion criterion) {
  ThresholdPrediction p;
  const Experiment e_lo = at_value(lo), e_hi = at_value(hi);
  const std::optional<Rule> rule = rule_for(e_lo, process, criterion);
  if (!rule) {
    p.note = "no prediction for this objective, method, compressor and noise";
    return p;
  }
  const std::optional<Rule> rule_hi = rule_for(e_hi, process, criterion);
  if (!rule_hi || rule_hi->rule != rule->rule) {
    p.note = "the theory's rule changes within the probed range";
    return p;
  }
  p.kind = rule->kind;
  p.rule = rule->rule;
  p.source = rule->source;
  const bool u_lo = rule->unstable(e_lo);
  if (u_lo == rule->unstable(e_hi)) {
    p.note = fmt::format("the rule says {} throughout the probed range [{:.6g}, {:.6g}]",
                         u_lo ? "unstable" : "stable", lo, hi);
    return p;
  }
  // Bisection of the rule itself, to rounding (integers: to adjacent values, the stable one).
  double a = lo, b = hi;
  for (int i = 0; i < 200; ++i) {
    const double m = integer ? std::floor(0.5 * (a + b)) : 0.5 * (a + b);
    if ((integer && b - a <= 1.0) || m <= a || m >= b) break;
    (rule->unstable(at_value(m)) == u_lo ? a : b) = m;
  }
  p.value = integer ? (u_lo ? b : a) : 0.5 * (a + b);
  return p;
}

}  // namespace dcsde
