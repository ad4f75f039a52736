// dcsde bound FILE: the papers' convergence bound for an experiment (poster Thm 3 for DSGD and
// DCSGD, Thm 4 for DSignSGD; papers.md 0), its asymptote and rate, bound.csv, and the bound drawn
// over the simulated curves when `dcsde run` has written them. Refuses, with the reason, when an
// assumption of the theorem does not hold for the experiment.
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "commands.hpp"
#include "dcsde/config/bound.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/run/results.hpp"

namespace dcsde::cli {
namespace fs = std::filesystem;
int bound(const std::string& file, const std::string& out_arg,
          const std::vector<std::string>& sets) {
  const ExperimentPlan plan = load_experiment(file, sets);
  const Experiment& first = plan.points.front().experiment;
  // bound.csv joins the run's results folder (or starts one): a folder dcsde wrote, locked
  // against a run replacing it meanwhile.
  const ClaimedDestination claimed(
      out_arg.empty() ? fs::path("results") / first.name : fs::path(out_arg), {file});
  const fs::path& out = claimed.path();
  std::string csv = "point,step,time,bound\n";
  bool any = false;
  for (const SweepPoint& point : plan.points) {
    const Experiment& e = point.experiment;
    const ExperimentBound ev = experiment_bound(e);
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
  make_results_folder(out);
  const fs::path tmp = out / ".bound.csv.tmp";
  write_text(tmp, csv);
  fs::rename(tmp, out / "bound.csv");  // throws filesystem_error naming both paths
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
