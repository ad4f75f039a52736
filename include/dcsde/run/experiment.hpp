// Running an experiment file (DESIGN.md "Data flow"): every point of its sweep, the optimizer of
// each point run by a backend (in this process, or spread over MPI ranks by dist/), then its SDE
// and the weak error between them; checkpoints and --resume; the results folder written whole,
// atomically and only where dcsde may write (run/output_folder.hpp). Front ends (the CLI, a
// Python binding) build an ExperimentRequest, call run_experiment, watch it through an
// ExperimentObserver and print or return the ExperimentResults.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dcsde/config/experiment.hpp"
#include "dcsde/run/checkpoint.hpp"
#include "dcsde/run/runner.hpp"
#include "dcsde/run/weak_error.hpp"

namespace dcsde {

// The results of one point: the optimizer, and its SDE when the experiment asks for it.
struct PointResult {
  ProcessSummary optimizer;
  std::optional<ProcessSummary> sde;
  std::optional<WeakError> weak;
  std::string law;                  // the SDE's update law, e.g. closed_form or monte_carlo(64)
  nlohmann::json communication;     // MPI backend: bytes and seconds of the exchange
  std::string communication_brief;  // the same, one line for a printed summary
};

// Where the optimizer of each point runs.
struct ExperimentBackend {
  bool writes = true;       // this process writes the results (MPI: rank 0 only)
  bool stage_early = true;  // create the results folder before running (fails early)
  bool checkpoints = true;  // supports run.checkpoint_every
  std::function<void(const Assembled&, const Experiment&, const ProgressCallback&,
                     const CheckpointFile*, PointResult&)>
      optimizer;
  std::function<void()> done;  // after the last optimizer run
};

// The optimizers in this process (OptimizerProcess, run_process with its checkpoints).
ExperimentBackend local_backend();

// What a front end sees of a run while it goes. Progress comes from a helper thread of the
// runner; every other event from the calling thread.
class ExperimentObserver {
 public:
  virtual ~ExperimentObserver() = default;
  // One process of one point starts: `label` names it, e.g. "[2/6] dcsgd rand_k (sde)".
  virtual void process_begin(const std::string& label) { (void)label; }
  virtual void process_progress(std::int64_t done, std::int64_t total) {
    (void)done;
    (void)total;
  }
  virtual void process_end() {}
  // A line for the user, e.g. the leftovers of a killed run that were removed.
  virtual void note(const std::string& line) { (void)line; }
};

struct ExperimentRequest {
  std::string file;                    // the experiment (TOML); not with `resume`
  std::vector<std::string> overrides;  // --set syntax, applied in order
  std::filesystem::path out;           // empty: results/<experiment name>
  // The results folder of an interrupted run (or its .checkpoint folder): continue it from its
  // checkpoints with its own saved experiment; then only run.threads may be overridden.
  std::string resume;
  bool plot = true;  // loss.png (also off when the experiment's [output] plot = false)
  // Testing aid (tests/cli, tests/torch): end the process abruptly, as a kill would, right
  // after this many checkpoints were saved (0: never), to check that --resume is bit-identical.
  int exit_after_checkpoints = 0;
};

struct ExperimentResults {
  ExperimentPlan plan;
  std::vector<PointResult> points;  // one per plan point (the writer's only, over MPI)
  std::filesystem::path out;        // the results folder
  bool written = false;             // false on MPI ranks that do not write
  bool plotted = false;             // loss.png was drawn
  // What loss.png and a front end's table show: the median when any point's output.statistic is
  // (a sweep over noise.nu may mix them: one table and one plot use one statistic), else the mean.
  Statistic statistic = Statistic::kMean;
  std::vector<std::string> warnings;
};

// Validates every point before anything runs, then runs and writes them. Throws ConfigError or
// IoError for bad input (nothing written), and whatever the backend throws.
ExperimentResults run_experiment(const ExperimentRequest& request, const ExperimentBackend& backend,
                                 ExperimentObserver& observer);

}  // namespace dcsde
