// Experiment files: TOML -> validated options (DESIGN.md "Data flow"; STYLE.md "Errors").
//
// This folder is the only user of toml++. Everything is validated before anything runs or is
// written; each violation throws ConfigError worded like Ceres and located like a compiler:
//   exp.toml:7:6: noise.nu = -1. Violated constraint: nu > 0.
// Every key, its type, default and meaning is declared once, in the schema (schema.cpp), which
// also feeds `dcsde list` and docs/experiment-format.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dcsde/compress/compressor.hpp"
#include "dcsde/method/method.hpp"
#include "dcsde/noise/noise_model.hpp"
#include "dcsde/objective/objective.hpp"
#include "dcsde/run/runner.hpp"
#include "dcsde/sde/sde.hpp"

namespace dcsde {

// One fully resolved experiment: every key has its value (given or default).
struct Experiment {
  std::string name;
  std::string description;
  ObjectiveOptions objective;
  std::vector<double> x0 = {1.0};  // one value (all coordinates) or one per coordinate
  NoiseOptions noise;
  Index agents = 1;
  // The agents' compressors (papers.md 3; the poster's omega_i per agent): `compressor` for all,
  // or, when a [compressor] key lists one value per agent, `agent_compressors` (N entries; then
  // `compressor` is agent 0's). Lists whose entries are all equal are folded into `compressor`.
  CompressorOptions compressor;
  std::vector<CompressorOptions> agent_compressors;
  MethodOptions method;
  RunOptions run;
  std::optional<SdeOptions> sde;  // present when the file has an [sde] section
  bool plot = true;
  // output.statistic: what the plot and the terminal table show, "mean" (with +-1 standard
  // error) or "median" (with its inter-quartile band). When not given: "median" if the noise has
  // no finite variance (NoiseModel::finite_variance: Student-t with nu <= 2), else "mean".
  Statistic statistic = Statistic::kMean;

  Vector initial_state() const;
  bool uniform_compressors() const { return agent_compressors.empty(); }
  const CompressorOptions& compressor_of(Index agent) const {
    return agent_compressors.empty() ? compressor
                                     : agent_compressors[static_cast<std::size_t>(agent)];
  }
  // One kind per agent, or the one kind of all agents.
  std::vector<CompressorKind> compressor_kinds() const;
};

// One point of a sweep: its label, the overrides that define it, and the experiment.
struct SweepPoint {
  std::string label;  // e.g. "noise.sigma=0.1, method=DSignSGD"
  std::vector<std::pair<std::string, std::string>> values;  // swept key -> value as TOML text
  std::vector<std::string> cells;  // one per sweep axis: the value (key axis) or the label (named)
  Experiment experiment;
};

// A parsed experiment file: a single experiment, or the cartesian product of its [sweep].
struct ExperimentPlan {
  std::string source;         // the file
  std::string resolved_toml;  // the file's table after --set overrides and defaults, as TOML
  std::vector<std::string> swept_keys;  // sweep axes, in file order (empty: not a sweep)
  std::vector<SweepPoint> points;       // exactly one when not a sweep
  bool is_sweep() const { return !swept_keys.empty(); }
};

// Reads, overrides (`key=value` strings, the value in TOML syntax) and validates every point.
// Throws ConfigError naming file:line:col, key, value and the violated constraint.
ExperimentPlan load_experiment(const std::string& path,
                               const std::vector<std::string>& overrides = {});
ExperimentPlan parse_experiment(const std::string& toml_text, const std::string& source_name,
                                const std::vector<std::string>& overrides = {});

// The resolved TOML of one experiment, every key written (config.toml of a result).
std::string to_toml(const Experiment& experiment);

// The schema: every section and key, for `dcsde list` and the docs.
struct KeyInfo {
  std::string section, key, type, default_value, meaning;
};
const std::vector<KeyInfo>& experiment_keys();

}  // namespace dcsde

namespace dcsde {

// The objects an experiment describes, built from its options in dependency order.
struct Assembled {
  std::unique_ptr<Objective> objective;
  std::unique_ptr<NoiseModel> noise;
  std::unique_ptr<Compressor> compressor;  // agent 0's (every agent's when uniform)
  std::vector<std::unique_ptr<Compressor>> agent_compressors;  // agents 1..N-1, when per agent
  std::unique_ptr<Method> method;
  std::unique_ptr<SdeProcess> sde;  // when experiment.sde is set
  Vector x0;  // the initial state: the objective's own (a network's initialisation) or problem.x0
};
Assembled assemble(const Experiment& experiment);

}  // namespace dcsde
