// The stability limit of one numeric key of an experiment, by bisection (`dcsde threshold`,
// docs/threshold.md).
//
// Each probe sets the key to a value (with the file's other keys and --set overrides), runs the
// experiment's replicas once (one batched run_process, traced: run/growth.hpp) and judges it
// stable or unstable under a criterion (mean square or almost sure). From a bracket whose ends
// differ in behaviour, bisection halves it until its relative width is below `tolerance`
// (integer keys: until its ends are adjacent integers). Without a bracket, one is found from the
// file's value by doubling and halving it alternately. The result is the final bracket: its
// stable end and its unstable end (either may be the larger: more agents stabilise), and the
// threshold between them.
//
// Done for the optimizer and, for each listed SDE model, the experiment's SDE with [sde] model
// set to it; each result carries the theory's prediction where one exists (threshold_prediction.
// cpp): exact discrete-time limits on quadratics and the quartic, continuous-time limits of the
// SDEs, the sufficient conditions of Thm 4.2 / 4.3 of paper 2 (papers.md 8.4, 8.5), else none.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dcsde/config/experiment.hpp"
#include "dcsde/run/growth.hpp"

namespace dcsde {

struct ThresholdOptions {
  std::string key;                   // e.g. "method.lr": a float or int key of the schema
  std::optional<double> low, high;   // the bracket; both or neither
  std::vector<SdeModel> sde_models;  // the SDEs to probe beside the optimizer
  std::vector<StabilityCriterion> criteria = {StabilityCriterion::kMeanSquare};
  double tolerance = 1e-3;  // relative width of the final bracket, in (0, 1)
  double z = 3.0;           // standard errors that make growth significant
  int max_probes = 100;     // per process
  // A process whose behaviour does not change (stable at both ends of the bracket, or at every
  // value tried) gets a result with `absent` set instead of a ConfigError: `dcsde reproduce`
  // compares models whose limit may not exist (the first-order SDE of GD on a quadratic never
  // diverges, papers.md 8.2).
  bool keep_absent = false;
  // Stop a probe once its verdicts are certain (run/growth.hpp, early stop): at the first diverged
  // replica when only mean_square is asked, once more than half diverged when almost_sure is. The
  // verdicts are those of the whole run; only the rates of the stopped probes are missing.
  bool early_stop = true;
  // Called after each probe (process name, the key's value, the verdicts), e.g. to print it.
  std::function<void(const std::string&, double, const std::vector<StabilityVerdict>&)> on_probe;
};

// One run at one value of the key: a verdict per criterion of ThresholdOptions::criteria.
struct ThresholdProbe {
  double value = 0.0;
  std::vector<StabilityVerdict> verdicts;
  double wall_seconds = 0.0;
  std::int64_t steps_run = 0;  // method.steps, or fewer when it stopped early
  bool stopped_early = false;
};

// What the theory says about the key's limit for one process and criterion.
struct ThresholdPrediction {
  std::string kind = "none";    // exact | continuous_time | sufficient | none
  std::string rule;             // the condition, e.g. "eta < 2N / (lambda_max (N + omega))"
  std::string source;           // e.g. "papers.md 9, exact second-moment recursion"
  std::optional<double> value;  // the key's value where the rule changes, within the probed range
  std::string note;             // why there is none, or where the rule lies
};

struct ThresholdResult {
  StabilityCriterion criterion = StabilityCriterion::kMeanSquare;
  double threshold = 0.0;               // floats: the bracket's midpoint; integers: its stable end
  double stable = 0.0, unstable = 0.0;  // the final bracket's ends
  std::string absent;  // non-empty (keep_absent only): no limit found, e.g. "stable at both ends
                       // of [0.02, 8]"; threshold, stable and unstable are then meaningless
  ThresholdPrediction prediction;
};

struct ProcessThreshold {
  std::string process;                   // "optimizer" or "sde:<model>"
  std::vector<ThresholdProbe> probes;    // sorted by value
  std::vector<ThresholdResult> results;  // one per criterion
};

struct ThresholdReport {
  std::string experiment, source, key;
  bool integer = false;              // the key takes integers
  std::optional<double> file_value;  // the key's value in the file (with --set)
  std::string quantity;              // y of the verdicts: "f - f*" or "||x||^2"
  std::vector<StabilityCriterion> criteria;
  double tolerance = 0.0;
  Index replicas = 0;
  std::int64_t steps = 0;
  bool early_stop = true;  // ThresholdOptions::early_stop
  std::vector<ProcessThreshold> processes;
};

// Validates everything first (the key, the bracket, the models; a sweep is refused), then
// probes. Throws ConfigError for bad input and when no bracket separates the behaviours
// ("stable at both ends of [A, B]", "unstable at every value tried").
ThresholdReport find_thresholds(const std::string& toml_text, const std::string& source,
                                const std::vector<std::string>& sets,
                                const ThresholdOptions& options);
ThresholdReport find_thresholds_in_file(const std::string& path,
                                        const std::vector<std::string>& sets,
                                        const ThresholdOptions& options);

// threshold.json: the report with every probe and the criteria stated.
std::string threshold_json(const ThresholdReport& report);

// One line on the early stops, e.g. "early stop: 9 of 31 probes stopped once decided (61% of
// their replica-steps run)", for the text output.
std::string early_stop_summary(const ThresholdReport& report);

// The prediction for `process` ("optimizer" or "sde:<model>") under `criterion`, its value found
// on the key between lo and hi (`at(v)` builds the experiment at value v; throws ConfigError when
// v is invalid). Implemented in threshold_prediction.cpp.
ThresholdPrediction predict_threshold(const std::function<Experiment(double)>& at, double lo,
                                      double hi, bool integer, const std::string& process,
                                      StabilityCriterion criterion);

}  // namespace dcsde
