// dcsde bound FILE: the papers' convergence bound for an experiment (poster Thm 3 for DSGD and
// DCSGD, Thm 4 for DSignSGD; papers.md 0), its asymptote and rate, bound.csv, and the bound drawn
// over the simulated curves when `dcsde run` has written them. Refuses, with the reason, when an
// assumption of the theorem does not hold for the experiment.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/run/results.hpp"
#include "dcsde/theory/bounds.hpp"

namespace dcsde::cli {
namespace fs = std::filesystem;
namespace {

struct Evaluated {
  std::string theorem;
  ConvergenceBound bound;
};

double max_of(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

// The theorem for the experiment's method, with every input read off the experiment.
Evaluated evaluate(const Experiment& e) {
  const Assembled a = assemble(e);
  const ObjectiveConstants k = a.objective->constants();
  const Vector x0 = e.initial_state();
  RowVector f0(1);
  a.objective->value(x0, f0);
  auto refuse = [](std::string theorem, std::string why) {
    Evaluated out{std::move(theorem), {}};
    out.bound.reason = std::move(why);
    return out;
  };
  const std::string& method = e.method.kind;
  const std::string theorem = method == "dsignsgd" ? "Thm 4 (DSignSGD)" : "Thm 3 (DCSGD)";
  if (method != "dsgd" && method != "dcsgd" && method != "dsignsgd")
    return refuse("none", "the papers give no bound for method.kind = " + method +
                              " (Thm 3 covers dsgd and dcsgd, Thm 4 dsignsgd)");
  if (e.method.schedule.kind != "constant")
    return refuse(theorem, "the theorem assumes a constant learning rate; method.schedule = " +
                               e.method.schedule.kind);
  if (!k.f_star)
    return refuse(theorem, "f* of " + e.objective.kind + " is unknown, so f(X_0) - f* is");
  const NoiseModel& noise = *a.noise;
  if (noise.scale_rule() != NoiseModel::ScaleRule::kConstant)
    return refuse(theorem, "the theorem assumes a noise scale independent of x; noise.kind = " +
                               e.noise.kind + " is affine in ||grad f||");
  const double coordinate_mean_square =
      e.noise.coordinate_scale.empty()
          ? 1.0
          : Eigen::Map<const Vector>(e.noise.coordinate_scale.data(), e.objective.dim)
                    .squaredNorm() /
                static_cast<double>(e.objective.dim);
  const double gap = f0[0] - *k.f_star;
  if (method == "dsignsgd") {
    if (noise.family() == NoiseModel::Family::kNone)
      return refuse(theorem, "Thm 4 needs noise (Z ~ sigma t_nu, sigma > 0); noise.kind = none");
    if (!e.noise.coordinate_scale.empty() ||
        max_of(noise.sigma()) != *std::min_element(noise.sigma().begin(), noise.sigma().end()))
      return refuse(theorem,
                    "Thm 4 assumes Z ~ sigma t_nu(0, I_d) with one scale for every agent "
                    "and coordinate; noise.sigma or noise.coordinate_scale differ");
    DsignsgdBoundInputs in{
        .eta = e.method.lr,
        .L = k.L,
        .mu = k.mu,
        .d = e.objective.dim,
        .N = static_cast<double>(e.agents),
        .B = static_cast<double>(e.noise.batch),
        .sigma = noise.sigma()[0],
        .nu = noise.family() == NoiseModel::Family::kGaussian ? kGaussianNu : noise.nu(),
        .initial_gap = gap};
    return {theorem, dsignsgd_bound(in)};
  }
  double sigma2 = noise.family() == NoiseModel::Family::kNone
                      ? 0.0
                      : std::pow(max_of(noise.sigma()), 2) * coordinate_mean_square;
  if (noise.family() == NoiseModel::Family::kStudentT && noise.finite_variance())
    sigma2 *= noise.nu() / (noise.nu() - 2.0);
  DcsgdBoundInputs in{.eta = e.method.lr,
                      .L = k.L,
                      .mu = k.mu,
                      .d = e.objective.dim,
                      .N = static_cast<double>(e.agents),
                      .B = static_cast<double>(e.noise.batch),
                      .sigma2 = sigma2,
                      .omega = a.compressor->omega(e.objective.dim).value_or(0.0),
                      .initial_gap = gap,
                      .finite_variance = noise.finite_variance()};
  return {theorem, dcsgd_bound(in)};
}

}  // namespace

int bound(const std::string& file, const std::string& out_arg,
          const std::vector<std::string>& sets) {
  const ExperimentPlan plan = load_experiment(file, sets);
  const Experiment& first = plan.points.front().experiment;
  const fs::path out = out_arg.empty() ? fs::path("results") / first.name : fs::path(out_arg);
  std::string csv = "point,step,time,bound\n";
  bool any = false;
  for (const SweepPoint& point : plan.points) {
    const Experiment& e = point.experiment;
    const Evaluated ev = evaluate(e);
    std::printf("%s: %s\n", point.label.c_str(), ev.theorem.c_str());
    if (!ev.bound.holds) {
      std::printf("  refused: %s\n", ev.bound.reason.c_str());
      continue;
    }
    any = true;
    const ConvergenceBound& b = ev.bound;
    std::printf("  E[f(X_t) - f*] <= %.6g e^{-%.6g t} + (1 - e^{-%.6g t}) %.6g\n", b.initial_gap,
                b.rate, b.rate, b.asymptote);
    std::printf("  asymptote %.6g, rate 2 mu Delta = %.6g (Delta = %.6g), t = k eta\n", b.asymptote,
                b.rate, b.delta);
    for (std::int64_t k = 0;; k = std::min(k + e.run.record_every, e.run.steps)) {
      const double t = e.method.lr * static_cast<double>(k);
      csv += fmt::format("{},{},{:.17g},{:.17g}\n", point.label, k, t, b.at(t));
      if (k == e.run.steps) break;
    }
  }
  if (!any) throw Error("no bound applies to " + file + " (reasons above)");
  fs::create_directories(out);
  const fs::path tmp = out / ".bound.csv.tmp";
  write_text(tmp, csv);
  fs::rename(tmp, out / "bound.csv");
  std::printf("bound: %s\n", (out / "bound.csv").string().c_str());
  if (!plan.is_sweep() && fs::exists(out / "curves.csv")) {
    const std::string why =
        plot_curves(out / "bound.png", first.name + ": simulation vs bound",
                    {{first.name, out / "curves.csv"}, {"bound", out / "bound.csv"}});
    if (why.empty())
      std::printf("plot: %s (the bound over the curves of %s)\n",
                  (out / "bound.png").string().c_str(), (out / "curves.csv").string().c_str());
    else
      std::fprintf(stderr, "dcsde: warning: plot skipped (%s)\n", why.c_str());
  } else if (!plan.is_sweep()) {
    std::printf("(run `dcsde run %s` first to draw the bound over the simulated curves)\n",
                file.c_str());
  }
  return 0;
}

}  // namespace dcsde::cli
