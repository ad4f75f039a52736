// dcsde scale: the papers' scaling rules (poster table, papers.md 0 and 7.6; theory/scaling.hpp).
// Given any three of (kappa, delta, alpha, beta) for DCSGD (two of (kappa, delta, alpha) for
// DSignSGD), solves the fourth, prints the rule and the rescaled hyperparameters of a base
// (eta, B, N, omega); --verify FILE runs the file as the base and the rescaled experiment and
// reports both asymptotic losses.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>

#include "commands.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/theory/scaling.hpp"

namespace dcsde::cli {
namespace {

// An integer hyperparameter of the rescaled run (batch, agents, rand-k's k), or an error saying
// which factor does not give one.
long long as_integer(double value, const std::string& what) {
  const double rounded = std::round(value);
  if (rounded < 1.0 || std::abs(value - rounded) > 1e-9 * std::max(1.0, value))
    throw Error("--verify: the rescaled " + what + " = " + fmt::format("{:.6g}", value) +
                " is not a positive integer; choose factors that give one");
  return static_cast<long long>(rounded);
}

ProcessSummary run_quiet(const std::string& file, const std::vector<std::string>& sets) {
  const ExperimentPlan plan = load_experiment(file, sets);
  if (plan.is_sweep()) throw Error("--verify: " + file + " is a sweep; give a single experiment");
  const Experiment& e = plan.points[0].experiment;
  const Assembled a = assemble(e);
  OptimizerProcess process(*a.method);
  return run_process(process, e.initial_state(), e.run);
}

}  // namespace

int scale(const ScaleArgs& args) {
  Hyperparameters base{.eta = args.eta, .B = args.batch, .N = args.agents, .omega = args.omega};
  ExperimentPlan plan;
  if (!args.verify.empty()) {
    plan = load_experiment(args.verify, args.sets);
    if (plan.is_sweep())
      throw Error("--verify: " + args.verify + " is a sweep; give a single experiment");
    const Experiment& e = plan.points[0].experiment;
    const Assembled a = assemble(e);
    base = {.eta = e.method.lr,
            .B = static_cast<double>(e.noise.batch),
            .N = static_cast<double>(e.agents),
            .omega = a.method->mean_omega()};  // omega_bar for per-agent compressors
    // Paper 1's scaling rules cover the methods of its theorems (method.hpp PaperOneTheory).
    const PaperOneTheory theory = spec_of(e.method.kind).theory;
    const char* covered = theory == PaperOneTheory::kDsignsgd ? "dsignsgd"
                          : theory == PaperOneTheory::kDcsgd  ? "dcsgd"
                                                              : "no rule";
    if (args.method != covered)
      throw Error("--verify: " + args.verify + " runs " + std::string(kind_name(e.method.kind)) +
                  ", not " + args.method);
  }
  ScalingRule rule;
  if (args.method == "dcsgd") {
    const auto reference = args.reference == "compressed" ? ScalingReference::kCompressed
                                                          : ScalingReference::kUncompressed;
    rule = solve_dcsgd_scaling(
        base.omega, reference,
        {.kappa = args.kappa, .delta = args.delta, .alpha = args.alpha, .beta = args.beta});
  } else {
    if (args.beta) throw Error("--beta: DSignSGD has no compression rate to rescale");
    rule = solve_dsignsgd_scaling({.kappa = args.kappa, .delta = args.delta, .alpha = args.alpha});
  }
  if (!rule.ok) throw Error("scale: " + rule.reason);
  const Hyperparameters scaled = apply_scaling(base, rule);
  std::printf("rule: %s (%s reference)\n", rule.rule.c_str(),
              args.method == "dcsgd" ? args.reference.c_str() : "dsignsgd");
  std::printf("solved: %s = %.6g\n", rule.formula.c_str(), rule.value);
  std::printf("factors: kappa = %.6g, delta = %.6g, alpha = %.6g, beta = %.6g\n", rule.kappa,
              rule.delta, rule.alpha, rule.beta);
  std::printf("%-8s %12s %12s\n", "", "base", "rescaled");
  std::printf("%-8s %12.6g %12.6g\n", "eta", base.eta, scaled.eta);
  std::printf("%-8s %12.6g %12.6g\n", "B", base.B, scaled.B);
  std::printf("%-8s %12.6g %12.6g\n", "N", base.N, scaled.N);
  if (args.method == "dcsgd")
    std::printf("%-8s %12.6g %12.6g\n", "omega", base.omega, scaled.omega);
  if (args.verify.empty()) return 0;

  // The rescaled experiment: the same file with eta, B, N (and the compressor) overridden.
  const Experiment& e = plan.points[0].experiment;
  std::vector<std::string> sets = args.sets;
  sets.push_back(fmt::format("method.lr={:.17g}", scaled.eta));
  sets.push_back(fmt::format("noise.batch={}", as_integer(scaled.B, "batch size")));
  sets.push_back(fmt::format("agents.count={}", as_integer(scaled.N, "agent count")));
  if (args.method == "dcsgd" && scaled.omega != base.omega) {
    if (!e.uniform_compressors())
      throw Error("--verify: rescaling omega of per-agent compressors (omega_bar = " +
                  fmt::format("{:.6g}", base.omega) + ") is not supported; give one compressor");
    const std::optional<CompressorOptions> rescaled =
        with_omega(e.compressor, e.objective.dim, scaled.omega);
    if (!rescaled)
      throw Error("--verify: rescaling omega is supported for rand_k and bernoulli, not " +
                  std::string(kind_name(e.compressor.kind)));
    const unsigned keys = spec_of(e.compressor.kind).keys;
    if (keys & kCompressorK) sets.push_back(fmt::format("compressor.k={}", rescaled->k));
    if (keys & kCompressorP) sets.push_back(fmt::format("compressor.p={:.17g}", rescaled->p));
  }
  const ProcessSummary a = run_quiet(args.verify, args.sets);
  const ProcessSummary b = run_quiet(args.verify, sets);
  if (!a.asymptotic_loss_mean || !b.asymptotic_loss_mean)
    throw Error("--verify: a run diverged (base " + a.message + "; rescaled " + b.message + ")");
  const double ratio = *b.asymptotic_loss_mean / *a.asymptotic_loss_mean;
  const double ratio_se = ratio * std::hypot(*a.asymptotic_loss_sem / *a.asymptotic_loss_mean,
                                             *b.asymptotic_loss_sem / *b.asymptotic_loss_mean);
  std::printf(
      "verify %s:\n  base      asymptotic loss %.6g +- %.2g\n  rescaled  asymptotic loss %.6g +- "
      "%.2g\n"
      "  rescaled / base = %.4f +- %.4f\n",
      args.verify.c_str(), *a.asymptotic_loss_mean, *a.asymptotic_loss_sem, *b.asymptotic_loss_mean,
      *b.asymptotic_loss_sem, ratio, ratio_se);
  return 0;
}

}  // namespace dcsde::cli
