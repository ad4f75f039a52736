// dcsde run FILE: the experiment run by the library (run/experiment.hpp) with a progress bar, then
// its summary table.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>

#include "commands.hpp"
#include "dcsde/core/error.hpp"
#ifdef DCSDE_HAVE_MPI
#include "dcsde/dist/process.hpp"
#endif
#include "dcsde/run/experiment.hpp"
#include "dcsde/run/progress.hpp"

namespace dcsde::cli {
namespace {

// A progress bar (or log lines) per process, and the library's notes on stderr.
class TerminalObserver final : public ExperimentObserver {
 public:
  explicit TerminalObserver(bool quiet) : quiet_(quiet) {}
  void process_begin(const std::string& label) override {
    reporter_ = std::make_unique<ProgressReporter>(
        label, quiet_ ? ProgressReporter::Mode::kQuiet : ProgressReporter::Mode::kAuto);
  }
  void process_progress(std::int64_t done, std::int64_t total) override {
    (*reporter_)(done, total);
  }
  void process_end() override { reporter_.reset(); }
  void note(const std::string& line) override { std::fprintf(stderr, "dcsde: %s\n", line.c_str()); }

 private:
  bool quiet_;
  std::unique_ptr<ProgressReporter> reporter_;
};

std::string value_or_dash(const std::optional<double>& v, const std::optional<double>& sem) {
  if (!v) return "diverged";
  return sem ? fmt::format("{:.4g} +- {:.2g}", *v, *sem) : fmt::format("{:.4g}", *v);
}

// The final and asymptotic loss cells of a row in the statistic the experiment shows
// ([output] statistic): mean +- standard error, or the median [q25, q75] of the live replicas
// (and the median over replicas of their tail means).
std::pair<std::string, std::string> loss_cells(const ProcessSummary& s, bool median) {
  if (!median)
    return {value_or_dash(s.final_loss_mean, s.final_loss_sem),
            value_or_dash(s.asymptotic_loss_mean, s.asymptotic_loss_sem)};
  const std::string final_cell = s.final_loss_median
                                     ? fmt::format("{:.4g} [{:.3g}, {:.3g}]", *s.final_loss_median,
                                                   *s.final_loss_q25, *s.final_loss_q75)
                                     : "diverged";
  return {final_cell, value_or_dash(s.asymptotic_loss_median, std::nullopt)};
}

// The compressor column: its kind, "rand_k (per agent)" when the agents share a kind with their
// own keys, "per agent" when their kinds differ.
std::string compressor_cell(const Experiment& e) {
  const std::string first(kind_name(e.compressor.kind));
  if (e.uniform_compressors()) return first;
  for (const CompressorKind kind : e.compressor_kinds())
    if (kind != e.compressor.kind) return "per agent";
  return first + " (per agent)";
}

void print_row(const std::string& label, const std::string& method, const std::string& compressor,
               const ProcessSummary& s, bool median) {
  const auto [final_cell, asymptotic_cell] = loss_cells(s, median);
  std::printf("%-34s %-16s %-18s %10.4g %-30s %-28s %9s %6.2fs\n", label.substr(0, 34).c_str(),
              method.c_str(), compressor.c_str(), s.bits_per_agent_per_step, final_cell.c_str(),
              asymptotic_cell.c_str(), fmt::format("{}/{}", s.diverged, s.replicas).c_str(),
              s.wall_seconds);
}

// The readable summary: one row per point and process, notes, warnings, where the files are.
void print_summary(const ExperimentResults& r) {
  const ExperimentPlan& plan = r.plan;
  const Experiment& first = plan.points.front().experiment;
  std::printf("\n%s: %s, d = %lld, N = %lld agents, %lld replicas x %lld steps\n",
              first.name.c_str(), std::string(kind_name(first.objective.kind)).c_str(),
              static_cast<long long>(first.objective.dim), static_cast<long long>(first.agents),
              static_cast<long long>(first.run.replicas), static_cast<long long>(first.run.steps));
  // The header names the statistic: medians when the noise has no finite variance (the mean
  // loss may not exist), else means; [output] statistic decides.
  const bool median = r.statistic == Statistic::kMedian;
  std::printf("%-34s %-16s %-18s %10s %-30s %-28s %9s %7s\n", "point", "method", "compressor",
              "bits/step", median ? "final loss (median [q25, q75])" : "final loss (mean +- se)",
              median ? "asymptotic loss (median)" : "asymptotic loss (mean +- se)", "diverged",
              "time");
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const Experiment& e = plan.points[i].experiment;
    const PointResult& result = r.points[i];
    print_row(plan.points[i].label, std::string(kind_name(e.method.kind)), compressor_cell(e),
              result.optimizer, median);
    if (!result.optimizer.final_metrics.empty()) {
      std::string held_out = "  held-out (final state):";
      for (const auto& [metric, value] : result.optimizer.final_metrics)
        held_out += fmt::format(" {} {:.4g}", metric, value);
      std::printf("%s\n", held_out.c_str());
    }
    if (!result.communication_brief.empty())
      std::printf("  %s\n", result.communication_brief.c_str());
    if (result.sde) {
      print_row("  SDE " + std::string(kind_name(e.sde->model)) + ", " + result.law,
                std::string(kind_name(e.sde->integrator)), "", *result.sde, median);
      const auto& w = result.weak->loss;
      if (w)
        std::printf("  weak error max_k |E f(x_k) - E f(X_k)| = %.4g +- %.2g (at step %lld)\n",
                    w->value, w->sem, static_cast<long long>(w->step));
    }
  }
  for (std::size_t i = 0; i < r.points.size(); ++i) {
    for (const ProcessSummary* s :
         {&r.points[i].optimizer, r.points[i].sde ? &*r.points[i].sde : nullptr})
      if (s && s->diverged > 0)
        std::printf("note: %s (%s): %s\n", plan.points[i].label.c_str(), s->process.c_str(),
                    s->message.c_str());
  }
  for (const auto& w : r.warnings) std::fprintf(stderr, "dcsde: warning: %s\n", w.c_str());
  std::printf("results: %s/ (curves.csv, summary.json%s%s)\n", r.out.string().c_str(),
              plan.is_sweep() ? ", sweep.csv, points/" : "", r.plotted ? ", loss.png" : "");
}

int run_with(const RunArgs& args, const ExperimentBackend& backend) {
  ExperimentRequest request;
  request.file = args.file;
  request.overrides = args.sets;
  if (args.threads >= 0) request.overrides.push_back("run.threads=" + std::to_string(args.threads));
  if (args.seed >= 0) request.overrides.push_back("run.seed=" + std::to_string(args.seed));
  request.out = args.out;
  request.resume = args.resume;
  request.plot = !args.no_plot;
  request.exit_after_checkpoints = args.exit_after_checkpoints;
  TerminalObserver observer(args.quiet || !backend.writes);
  const ExperimentResults results = run_experiment(request, backend, observer);
  if (results.written) print_summary(results);
  return 0;
}

}  // namespace

int run(const RunArgs& args) {
  if (args.backend != "mpi" && args.exchange != "gather")
    throw ConfigError("--exchange " + args.exchange + " applies to --backend mpi only");
  if (args.backend == "mpi") {
#ifdef DCSDE_HAVE_MPI
    const dist::ExchangeMode exchange = dist::parse_exchange(args.exchange);
    // Every rank runs this; each error ends every rank (dist/session.hpp "Failure protocol").
    return dist::run_on_ranks([&](dist::Session& session) {
      ExperimentBackend backend;
      backend.writes = session.rank() == 0;
      backend.stage_early = false;
      backend.checkpoints = false;
      backend.optimizer = [&](const Assembled& built, const Experiment& e,
                              const ProgressCallback& progress, const CheckpointFile*,
                              PointResult& result) {
        dist::DistributedRun r =
            dist::run_optimizer(session, *built.method, built.x0, e.run, exchange, progress);
        result.optimizer = std::move(r.summary);
        result.communication = dist::to_json(r.communication);
        result.communication_brief = r.communication.brief();
      };
      backend.done = [&] { session.finish_exchanges(); };
      return run_with(args, backend);
    });
#else
    throw ConfigError(
        "--backend mpi: this dcsde was built without MPI; install libopenmpi-dev openmpi-bin "
        "(scripts/setup --with-mpi) and rebuild");
#endif
  }
  // Under mpirun every process would run the whole experiment and write the same folder.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"}) {
    const char* n = std::getenv(var);
    if (n != nullptr && std::atoi(n) > 1)
      throw ConfigError(std::string("dcsde run was started by mpirun with ") + n +
                        " processes but --backend local: add --backend mpi to spread the agents "
                        "over the ranks");
  }
  return run_with(args, local_backend());
}

}  // namespace dcsde::cli
