// dcsde run FILE: every point of the experiment, then curves, summary, plot, written atomically.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>

#include "commands.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"
#ifdef DCSDE_HAVE_MPI
#include "dcsde/dist/process.hpp"
#endif
#include "dcsde/run/progress.hpp"
#include "dcsde/run/results.hpp"
#include "dcsde/run/weak_error.hpp"

namespace dcsde::cli {
namespace fs = std::filesystem;
namespace {

std::string slug(const std::string& label) {
  std::string out;
  for (char c : label) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-')
      out += c;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.substr(0, 60);
}

std::string value_or_dash(const std::optional<double>& v, const std::optional<double>& sem) {
  if (!v) return "diverged";
  return sem ? fmt::format("{:.4g} +- {:.2g}", *v, *sem) : fmt::format("{:.4g}", *v);
}

std::string csv_number(const std::optional<double>& v) {
  return v ? fmt::format("{:.17g}", *v) : "";
}

std::string csv_field(std::string s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// The results of one point: the optimizer, and its SDE when the experiment asks for it.
struct PointResult {
  ProcessSummary optimizer;
  std::optional<ProcessSummary> sde;
  std::optional<WeakError> weak;
  std::string law;                  // the SDE's update law, e.g. closed_form or monte_carlo(64)
  nlohmann::json communication;     // --backend mpi: bytes and seconds of the exchange
  std::string communication_brief;  // the same, one line for the printed summary
};

// Where the optimizer of each point runs: in this process (local), or over MPI ranks (dist/).
struct Backend {
  bool writes = true;       // this process writes the results and prints the summary
  bool stage_early = true;  // create the results folder before running (fails early)
  bool checkpoints = true;  // supports run.checkpoint_every
  std::function<void(const Assembled&, const Experiment&, const ProgressCallback&,
                     const CheckpointFile*, PointResult&)>
      optimizer;
  std::function<void()> done;  // after the last optimizer run
};

nlohmann::json weak_json(const std::optional<WeakErrorEntry>& w) {
  if (!w) return nullptr;
  return {{"value", w->value}, {"sem", w->sem}, {"step", w->step}};
}

// Writes one point's folder: config.toml, curves.csv, summary.json, loss.png.
nlohmann::json write_point(const fs::path& dir, const SweepPoint& point, const PointResult& result,
                           bool plot, std::vector<std::string>& warnings) {
  const ProcessSummary& summary = result.optimizer;
  make_directories(dir);
  write_text(dir / "config.toml", to_toml(point.experiment));
  std::vector<ProcessSummary> processes = {summary};
  if (result.sde) processes.push_back(*result.sde);
  write_curves_csv(dir / "curves.csv", processes);
  nlohmann::json j;
  j["experiment"] = point.experiment.name;
  j["label"] = point.label;
  j["description"] = point.experiment.description;
  j["dcsde_version"] = DCSDE_VERSION;
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [key, value] : point.values) values[key] = value;
  j["swept"] = values;
  j["processes"]["optimizer"] = to_json(summary);
  if (!result.communication.is_null())
    j["processes"]["optimizer"]["communication"] = result.communication;
  if (result.sde) {
    j["processes"]["sde"] = to_json(*result.sde);
    j["processes"]["sde"]["law"] = result.law;
    j["weak_error"] = {{"loss", weak_json(result.weak->loss)},
                       {"sq_norm", weak_json(result.weak->sq_norm)}};
  }
  write_text(dir / "summary.json", j.dump(2) + "\n");
  if (plot) {
    const std::string why =
        plot_curves(dir / "loss.png", point.label, {{point.label, dir / "curves.csv"}});
    if (!why.empty()) warnings.push_back("plot skipped (" + why + ")");
  }
  return j;
}

// The checkpoints of a run writing to `out` live beside it, in `<out>.checkpoint/`: the resolved
// experiment (as <stem>.toml, the stem of the original file: an experiment without a name is
// named after its file) and one file per point and process (run/checkpoint.hpp). The folder is
// removed once the results are committed.
fs::path checkpoint_folder(const fs::path& out) { return out.string() + ".checkpoint"; }

// The experiment file saved in a checkpoint folder (its one .toml file), or empty.
fs::path saved_experiment(const fs::path& folder) {
  if (!fs::is_directory(folder)) return {};
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().extension() == ".toml") return entry.path();
  return {};
}

// What a checkpoint must match: the point's experiment (threads aside: they change no number),
// its index and the process.
CheckpointFile checkpoint_file(const fs::path& folder, std::size_t point, const Experiment& e,
                               const std::string& process) {
  Experiment identity = e;
  identity.run.threads = 0;
  return {
      folder / fmt::format("point-{:03d}-{}.ckpt", point, process),
      fingerprint_of(to_toml(identity) + fmt::format("\npoint {}\nprocess {}", point, process))};
}

// --resume DIR: the results folder of the interrupted run (DIR or DIR.checkpoint).
fs::path resumed_out(const RunArgs& args) {
  if (!args.file.empty() || !args.sets.empty() || args.seed >= 0 || !args.out.empty())
    throw ConfigError("--resume " + args.resume +
                      " continues the run saved there with its own experiment: give no FILE, "
                      "--set, --seed or --out (only --threads, which changes no number)");
  fs::path out = fs::path(args.resume).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  if (out.extension() == ".checkpoint") out.replace_extension();
  if (saved_experiment(checkpoint_folder(out)).empty())
    throw IoError(checkpoint_folder(out).string() +
                  ": no interrupted run to resume here (checkpoints are written when "
                  "run.checkpoint_every > 0 and removed when the run completes)");
  return out;
}

// The experiment of `args`, its optimizers run by `backend`.
int run_experiment(const RunArgs& args, const Backend& backend) {
  const bool resuming = !args.resume.empty();
  if (!resuming && args.file.empty())
    throw ConfigError("dcsde run needs an experiment FILE (or --resume DIR)");
  const fs::path resumed = resuming ? resumed_out(args) : fs::path();
  std::vector<std::string> sets = args.sets;
  if (args.threads >= 0) sets.push_back("run.threads=" + std::to_string(args.threads));
  if (args.seed >= 0) sets.push_back("run.seed=" + std::to_string(args.seed));
  // Everything is validated, every point of a sweep included, before anything runs.
  const ExperimentPlan plan = load_experiment(
      resuming ? saved_experiment(checkpoint_folder(resumed)).string() : args.file, sets);
  const Experiment& first = plan.points.front().experiment;
  fs::path out = resuming           ? resumed
                 : args.out.empty() ? fs::path("results") / first.name
                                    : fs::path(args.out);
  // The writer refuses a destination it did not write and locks it before anything runs, so
  // that two runs, or a run and a --resume, never write the same results.
  std::optional<OutputLock> lock;
  if (backend.writes) {
    std::vector<fs::path> inputs;
    if (!args.file.empty()) inputs.push_back(args.file);
    out = checked_destination(out, inputs);
    lock.emplace(out);
    for (const std::string& line : recover_leftovers(out))
      std::fprintf(stderr, "dcsde: %s\n", line.c_str());
  }
  std::optional<fs::path> checkpoints;
  for (const SweepPoint& point : plan.points)
    if (point.experiment.run.checkpoint_every > 0) checkpoints = checkpoint_folder(out);
  if (checkpoints && !backend.checkpoints)
    throw ConfigError(
        "run.checkpoint_every: checkpoints are written by the local backend only; "
        "set it to 0 for --backend mpi");
  if (checkpoints && !resuming) {
    if (fs::exists(*checkpoints))
      throw ConfigError(checkpoints->string() +
                        " holds the checkpoints of an interrupted run of this folder: continue "
                        "it with dcsde run --resume " +
                        out.string() + ", or delete it to start over");
    if (backend.writes) {
      make_directories(*checkpoints);
      write_text(*checkpoints / (fs::path(args.file).stem().string() + ".toml"),
                 plan.resolved_toml);
    }
  }
  std::optional<InterruptNote> resume_note;
  if (checkpoints)
    resume_note.emplace("the checkpoints in " + checkpoints->string() +
                        " are kept: continue with dcsde run --resume " + out.string());
  auto checkpoint_of = [&](std::size_t i, const std::string& process) {
    return checkpoints ? std::optional<CheckpointFile>(
                             checkpoint_file(*checkpoints, i, plan.points[i].experiment, process))
                       : std::nullopt;
  };
  // Over MPI the folder is created after the exchanges: a rank that dies mid-run must not leave
  // rank 0's staging folder behind (mpirun ends rank 0 without unwinding).
  std::optional<StagedDirectory> staged;
  if (backend.stage_early) staged.emplace(out);
  const bool plot = !args.no_plot && first.plot;
  const bool quiet = args.quiet || !backend.writes;

  // The optimizers first (every rank takes part), then the SDEs and the files (the writer).
  std::vector<PointResult> results(plan.points.size());
  std::vector<std::optional<Assembled>> built(plan.points.size());
  auto label_of = [&](std::size_t i) {
    return plan.is_sweep()
               ? fmt::format("[{}/{}] {}", i + 1, plan.points.size(), plan.points[i].label)
               : plan.points[i].experiment.name;
  };
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const Experiment& e = plan.points[i].experiment;
    built[i] = assemble(e);
    ProgressReporter reporter(
        label_of(i), quiet ? ProgressReporter::Mode::kQuiet : ProgressReporter::Mode::kAuto);
    const std::optional<CheckpointFile> checkpoint = checkpoint_of(i, "optimizer");
    backend.optimizer(*built[i], e, std::ref(reporter), checkpoint ? &*checkpoint : nullptr,
                      results[i]);
    if (!built[i]->sde) built[i].reset();  // keep only what the SDE pass needs
  }
  if (backend.done) backend.done();
  if (!backend.writes) return 0;
  if (!staged) staged.emplace(out);

  std::vector<std::string> warnings;
  nlohmann::json points = nlohmann::json::array();
  std::vector<std::pair<std::string, fs::path>> curve_files;
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const SweepPoint& point = plan.points[i];
    const Experiment& e = point.experiment;
    PointResult& result = results[i];
    if (built[i]) {
      ProgressReporter sde_reporter(label_of(i) + " (sde)", args.quiet
                                                                ? ProgressReporter::Mode::kQuiet
                                                                : ProgressReporter::Mode::kAuto);
      const std::optional<CheckpointFile> checkpoint = checkpoint_of(i, "sde");
      result.sde = run_process(*built[i]->sde, built[i]->x0, e.run, std::ref(sde_reporter),
                               checkpoint ? &*checkpoint : nullptr);
      result.weak = weak_error(result.optimizer, *result.sde);
      result.law = built[i]->sde->law().name();
      built[i].reset();
    }
    const fs::path dir =
        plan.is_sweep() ? staged->path() / "points" / fmt::format("{:03d}-{}", i, slug(point.label))
                        : staged->path();
    nlohmann::json j = write_point(dir, point, result, plot && !plan.is_sweep(), warnings);
    j["dir"] = fs::relative(dir, staged->path()).string();
    points.push_back(j);
    curve_files.push_back({point.label, dir / "curves.csv"});
  }

  if (plan.is_sweep()) {
    write_text(staged->path() / "config.toml", plan.resolved_toml);
    std::string csv;
    for (const auto& key : plan.swept_keys) csv += csv_field(key) + ",";
    csv +=
        "label,replicas,diverged,first_divergence_step,final_loss_mean,final_loss_std,final_loss_"
        "sem,"
        "final_grad_norm_mean,asymptotic_loss_mean,asymptotic_loss_sem,bits_per_agent_per_step,"
        "wall_seconds\n";
    for (std::size_t i = 0; i < plan.points.size(); ++i) {
      const SweepPoint& point = plan.points[i];
      const ProcessSummary& s = results[i].optimizer;
      // A key axis contributes its value; a named axis its label.
      for (const auto& cell : point.cells) csv += csv_field(cell) + ",";
      csv += fmt::format(
          "{},{},{},{},{},{},{},{},{},{},{},{:.6g}\n", csv_field(point.label), s.replicas,
          s.diverged, s.first_divergence_step ? std::to_string(*s.first_divergence_step) : "",
          csv_number(s.final_loss_mean), csv_number(s.final_loss_std), csv_number(s.final_loss_sem),
          csv_number(s.final_grad_norm_mean), csv_number(s.asymptotic_loss_mean),
          csv_number(s.asymptotic_loss_sem), s.bits_per_agent_per_step, s.wall_seconds);
    }
    write_text(staged->path() / "sweep.csv", csv);
    nlohmann::json j;
    j["experiment"] = first.name;
    j["dcsde_version"] = DCSDE_VERSION;
    j["swept_keys"] = plan.swept_keys;
    j["points"] = points;
    write_text(staged->path() / "summary.json", j.dump(2) + "\n");
    if (plot) {
      const std::string title = first.description.empty() ? first.name : first.description;
      const std::string why = plot_curves(staged->path() / "loss.png", title, curve_files);
      if (!why.empty()) warnings.push_back("plot skipped (" + why + ")");
    }
  }
  staged->commit();
  if (checkpoints) fs::remove_all(*checkpoints);  // the run is complete

  // The readable summary.
  std::printf("\n%s: %s, d = %lld, N = %lld agents, %lld replicas x %lld steps\n",
              first.name.c_str(), first.objective.kind.c_str(),
              static_cast<long long>(first.objective.dim), static_cast<long long>(first.agents),
              static_cast<long long>(first.run.replicas), static_cast<long long>(first.run.steps));
  std::printf("%-34s %-16s %-18s %10s %-22s %-22s %9s %7s\n", "point", "method", "compressor",
              "bits/step", "final loss", "asymptotic loss", "diverged", "time");
  auto row = [](const std::string& label, const std::string& method, const std::string& compressor,
                const ProcessSummary& s) {
    std::printf("%-34s %-16s %-18s %10.4g %-22s %-22s %9s %6.2fs\n", label.substr(0, 34).c_str(),
                method.c_str(), compressor.c_str(), s.bits_per_agent_per_step,
                value_or_dash(s.final_loss_mean, s.final_loss_sem).c_str(),
                value_or_dash(s.asymptotic_loss_mean, s.asymptotic_loss_sem).c_str(),
                fmt::format("{}/{}", s.diverged, s.replicas).c_str(), s.wall_seconds);
  };
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const Experiment& e = plan.points[i].experiment;
    row(plan.points[i].label, e.method.kind, e.compressor.kind, results[i].optimizer);
    if (!results[i].optimizer.final_metrics.empty()) {
      std::string held_out = "  held-out (final state):";
      for (const auto& [metric, value] : results[i].optimizer.final_metrics)
        held_out += fmt::format(" {} {:.4g}", metric, value);
      std::printf("%s\n", held_out.c_str());
    }
    if (!results[i].communication_brief.empty())
      std::printf("  %s\n", results[i].communication_brief.c_str());
    if (results[i].sde) {
      row("  SDE " + e.sde->model + ", " + results[i].law, e.sde->integrator, "", *results[i].sde);
      const auto& w = results[i].weak->loss;
      if (w)
        std::printf("  weak error max_k |E f(x_k) - E f(X_k)| = %.4g +- %.2g (at step %lld)\n",
                    w->value, w->sem, static_cast<long long>(w->step));
    }
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    for (const ProcessSummary* s :
         {&results[i].optimizer, results[i].sde ? &*results[i].sde : nullptr})
      if (s && s->diverged > 0)
        std::printf("note: %s (%s): %s\n", plan.points[i].label.c_str(), s->process.c_str(),
                    s->message.c_str());
  }
  for (const auto& w : warnings) std::fprintf(stderr, "dcsde: warning: %s\n", w.c_str());
  std::printf("results: %s/ (curves.csv, summary.json%s%s)\n", out.string().c_str(),
              plan.is_sweep() ? ", sweep.csv, points/" : "",
              plot && warnings.empty() ? ", loss.png" : "");
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
      Backend backend;
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
      return run_experiment(args, backend);
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
  Backend local;
  local.optimizer = [](const Assembled& built, const Experiment& e,
                       const ProgressCallback& progress, const CheckpointFile* checkpoint,
                       PointResult& result) {
    OptimizerProcess process(*built.method);
    result.optimizer = run_process(process, built.x0, e.run, progress, checkpoint);
  };
  return run_experiment(args, local);
}

}  // namespace dcsde::cli
