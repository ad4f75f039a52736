#include "dcsde/run/experiment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "dcsde/core/error.hpp"
#include "dcsde/run/output_folder.hpp"
#include "dcsde/run/process.hpp"
#include "experiment_files.hpp"

namespace dcsde {
namespace fs = std::filesystem;
namespace {

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

// --resume DIR: the results folder of the interrupted run (DIR or DIR.checkpoint).
fs::path resumed_out(const ExperimentRequest& request) {
  const bool only_threads =
      std::all_of(request.overrides.begin(), request.overrides.end(),
                  [](const std::string& set) { return set.rfind("run.threads=", 0) == 0; });
  if (!request.file.empty() || !only_threads || !request.out.empty())
    throw ConfigError("--resume " + request.resume +
                      " continues the run saved there with its own experiment: give no FILE, "
                      "--set, --seed or --out (only --threads, which changes no number)");
  fs::path out = fs::path(request.resume).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  if (out.extension() == ".checkpoint") out.replace_extension();
  if (saved_experiment(checkpoint_folder(out)).empty())
    throw IoError(checkpoint_folder(out).string() +
                  ": no interrupted run to resume here (checkpoints are written when "
                  "run.checkpoint_every > 0 and removed when the run completes)");
  return out;
}

// Reports the progress of one process to the observer, from process_begin to process_end.
class ObservedProcess {
 public:
  ObservedProcess(ExperimentObserver& observer, const std::string& label) : observer_(observer) {
    observer_.process_begin(label);
  }
  ~ObservedProcess() { observer_.process_end(); }
  ObservedProcess(const ObservedProcess&) = delete;
  ObservedProcess& operator=(const ObservedProcess&) = delete;
  ProgressCallback callback() const {
    return
        [this](std::int64_t done, std::int64_t total) { observer_.process_progress(done, total); };
  }

 private:
  ExperimentObserver& observer_;
};

// Where the checkpoints of the points go, and what each must match.
class Checkpoints {
 public:
  Checkpoints(std::optional<fs::path> folder, const ExperimentPlan& plan, int exit_after)
      : folder_(std::move(folder)), plan_(plan), exit_after_(exit_after) {}
  const std::optional<fs::path>& folder() const { return folder_; }
  // The file of point `i`'s process: the point's experiment (threads aside: they change no
  // number), its index and the process must match.
  std::optional<CheckpointFile> of(std::size_t i, const std::string& process) {
    if (!folder_) return std::nullopt;
    Experiment identity = plan_.points[i].experiment;
    identity.run.threads = 0;
    CheckpointFile file{
        *folder_ / fmt::format("point-{:03d}-{}.ckpt", i, process),
        fingerprint_of(to_toml(identity) + fmt::format("\npoint {}\nprocess {}", i, process)),
        {}};
    if (exit_after_ > 0)
      file.saved = [this] {
        if (++saved_ == exit_after_) std::_Exit(75);
      };
    return file;
  }

 private:
  std::optional<fs::path> folder_;
  const ExperimentPlan& plan_;
  int exit_after_ = 0, saved_ = 0;
};

}  // namespace

ExperimentBackend local_backend() {
  ExperimentBackend local;
  local.optimizer = [](const Assembled& built, const Experiment& e,
                       const ProgressCallback& progress, const CheckpointFile* checkpoint,
                       PointResult& result) {
    OptimizerProcess process(*built.method);
    result.optimizer = run_process(process, built.x0, e.run, progress, checkpoint);
  };
  return local;
}

ExperimentResults run_experiment(const ExperimentRequest& request, const ExperimentBackend& backend,
                                 ExperimentObserver& observer) {
  const bool resuming = !request.resume.empty();
  if (!resuming && request.file.empty())
    throw ConfigError("dcsde run needs an experiment FILE (or --resume DIR)");
  const fs::path resumed = resuming ? resumed_out(request) : fs::path();
  ExperimentResults results;
  // Everything is validated, every point of a sweep included, before anything runs.
  results.plan = load_experiment(
      resuming ? saved_experiment(checkpoint_folder(resumed)).string() : request.file,
      request.overrides);
  const ExperimentPlan& plan = results.plan;
  const Experiment& first = plan.points.front().experiment;
  fs::path out = resuming              ? resumed
                 : request.out.empty() ? fs::path("results") / first.name
                                       : request.out;
  // The writer refuses a destination it did not write and locks it before anything runs, so
  // that two runs, or a run and a --resume, never write the same results.
  std::optional<ClaimedDestination> claimed;
  if (backend.writes) {
    std::vector<fs::path> inputs;
    if (!request.file.empty()) inputs.push_back(request.file);
    out = claimed.emplace(out, inputs).path();
    for (const std::string& line : claimed->notes()) observer.note(line);
  }
  results.out = out;
  std::optional<fs::path> checkpoint_dir;
  for (const SweepPoint& point : plan.points)
    if (point.experiment.run.checkpoint_every > 0) checkpoint_dir = checkpoint_folder(out);
  if (checkpoint_dir && !backend.checkpoints)
    throw ConfigError(
        "run.checkpoint_every: checkpoints are written by the local backend only; "
        "set it to 0 for --backend mpi");
  if (checkpoint_dir && !resuming) {
    if (fs::exists(*checkpoint_dir))
      throw ConfigError(checkpoint_dir->string() +
                        " holds the checkpoints of an interrupted run of this folder: continue "
                        "it with dcsde run --resume " +
                        out.string() + ", or delete it to start over");
    if (backend.writes) {
      make_directories(*checkpoint_dir);
      write_text(*checkpoint_dir / (fs::path(request.file).stem().string() + ".toml"),
                 plan.resolved_toml);
    }
  }
  std::optional<InterruptNote> resume_note;
  if (checkpoint_dir)
    resume_note.emplace("the checkpoints in " + checkpoint_dir->string() +
                        " are kept: continue with dcsde run --resume " + out.string());
  Checkpoints checkpoints(checkpoint_dir, plan, request.exit_after_checkpoints);
  // Over MPI the folder is created after the exchanges: a rank that dies mid-run must not leave
  // rank 0's staging folder behind (mpirun ends rank 0 without unwinding).
  std::optional<StagedDirectory> staged;
  if (backend.stage_early) staged.emplace(out);
  const bool plot = request.plot && first.plot;
  for (const SweepPoint& point : plan.points)
    if (point.experiment.statistic == Statistic::kMedian) results.statistic = Statistic::kMedian;

  // The optimizers first (every rank takes part), then the SDEs and the files (the writer).
  std::vector<PointResult>& points = results.points;
  points.resize(plan.points.size());
  std::vector<std::optional<Assembled>> built(plan.points.size());
  auto label_of = [&](std::size_t i) {
    return plan.is_sweep()
               ? fmt::format("[{}/{}] {}", i + 1, plan.points.size(), plan.points[i].label)
               : plan.points[i].experiment.name;
  };
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const Experiment& e = plan.points[i].experiment;
    built[i] = assemble(e);
    const ObservedProcess observed(observer, label_of(i));
    const std::optional<CheckpointFile> checkpoint = checkpoints.of(i, "optimizer");
    backend.optimizer(*built[i], e, observed.callback(), checkpoint ? &*checkpoint : nullptr,
                      points[i]);
    if (!built[i]->sde) built[i].reset();  // keep only what the SDE pass needs
  }
  if (backend.done) backend.done();
  if (!backend.writes) return results;
  if (!staged) staged.emplace(out);

  nlohmann::json summaries = nlohmann::json::array();
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const SweepPoint& point = plan.points[i];
    PointResult& result = points[i];
    if (built[i]) {
      const ObservedProcess observed(observer, label_of(i) + " (sde)");
      const std::optional<CheckpointFile> checkpoint = checkpoints.of(i, "sde");
      result.sde = run_process(*built[i]->sde, built[i]->x0, point.experiment.run,
                               observed.callback(), checkpoint ? &*checkpoint : nullptr);
      result.weak = weak_error(result.optimizer, *result.sde);
      result.law = built[i]->sde->law().name();
      built[i].reset();
    }
    const fs::path dir =
        plan.is_sweep() ? detail::point_folder(staged->path(), i, point.label) : staged->path();
    nlohmann::json j =
        detail::write_point(dir, point, result, plot && !plan.is_sweep(), results.warnings);
    j["dir"] = fs::relative(dir, staged->path()).string();
    summaries.push_back(j);
  }
  if (plan.is_sweep())
    detail::write_sweep(staged->path(), plan, points, summaries, results.statistic, plot,
                        results.warnings);
  staged->commit();
  if (checkpoint_dir) fs::remove_all(*checkpoint_dir);  // the run is complete
  results.written = true;
  results.plotted = plot && results.warnings.empty();
  return results;
}

}  // namespace dcsde
