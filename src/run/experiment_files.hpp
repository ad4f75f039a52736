// Internal: the files of an experiment's results folder (docs/experiment-format.md "Results"):
// per point config.toml, curves.csv, summary.json and loss.png; for a sweep also sweep.csv, the
// top-level summary.json, config.toml and loss.png. run/experiment.cpp calls them.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dcsde/run/experiment.hpp"

namespace dcsde::detail {

// The folder of point `index` of a sweep, under `root`: points/<index>-<label as a file name>.
std::filesystem::path point_folder(const std::filesystem::path& root, std::size_t index,
                                   const std::string& label);

// Writes one point's folder; returns its summary.json. A failed plot adds a warning.
nlohmann::json write_point(const std::filesystem::path& dir, const SweepPoint& point,
                           const PointResult& result, bool plot,
                           std::vector<std::string>& warnings);

// A sweep's own files in `root`: config.toml (the resolved experiment), sweep.csv, summary.json
// listing `points` (each point's summary with its "dir") and the `statistic` shown, loss.png
// with one curve per point of that statistic.
void write_sweep(const std::filesystem::path& root, const ExperimentPlan& plan,
                 const std::vector<PointResult>& results, const nlohmann::json& points,
                 Statistic statistic, bool plot, std::vector<std::string>& warnings);

}  // namespace dcsde::detail
