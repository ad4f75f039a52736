// Results on disk (DESIGN.md "Data flow"): curves.csv, summary.json, config.toml, loss.png.
//
// Folders, locks and checked writes: run/output_folder.hpp.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcsde/run/output_folder.hpp"
#include "dcsde/run/runner.hpp"

namespace dcsde {

// curves.csv: process,step,time,loss_mean,loss_std,grad_norm_mean,alive,sq_norm_mean,sq_norm_std,
// loss_median,loss_q05,loss_q25,loss_q75,loss_q95 (one row per record; sq_norm = ||x||^2, the
// second test function of the weak error; the quantiles over the live replicas, numpy's "linear"
// definition, run/order_statistics.hpp). New columns are appended: readers go by name.
void write_curves_csv(const std::filesystem::path& file,
                      const std::vector<ProcessSummary>& processes);

// The JSON of one process: replicas, diverged, first_divergence_step, status, message,
// final.{loss_mean, loss_std, loss_sem, grad_norm_mean, loss_median, loss_q05, loss_q25, loss_q75,
// loss_q95, loss_median_ci95 = [lo, hi]}, asymptotic_loss.{mean, sem, median, records},
// bits_per_agent_per_step, wall_seconds, divergences (first 100). Absent values are null.
nlohmann::json to_json(const ProcessSummary& summary);

// One argument for a shell command line (popen, std::system): in single quotes, any ' escaped.
std::string shell_quote(const std::string& s);

// The Python interpreter that sees Debian's packages: $DCSDE_PYTHON, else /usr/bin/python3 (the
// python3 first on PATH may be another one, without matplotlib or numpy).
std::string python_interpreter();

struct PythonResult {
  int status = -1;     // exit status; -1 when it could not start
  std::string output;  // stdout and stderr together
};
// Runs `python_interpreter() script args...` (each argument shell-quoted).
PythonResult run_python(const std::filesystem::path& script, const std::vector<std::string>& args);

// Runs the embedded matplotlib script (scripts/plot_curves.py) with /usr/bin/python3 to draw
// `png` from the curves files, one line per (label, curves.csv): the mean loss with +-1
// standard error, or for `statistic` = "median" the median with its inter-quartile band.
// Returns an empty string on success, else why the plot was skipped (the results stay valid
// without it).
std::string plot_curves(const std::filesystem::path& png, const std::string& title,
                        const std::vector<std::pair<std::string, std::filesystem::path>>& curves,
                        Statistic statistic = Statistic::kMean);

// Draws `png` from a threshold.json of `dcsde threshold` with the embedded
// scripts/plot_threshold.py; returns an empty string on success, else why the plot was skipped.
std::string plot_threshold(const std::filesystem::path& png, const std::filesystem::path& json);

}  // namespace dcsde
