#include "experiment_files.hpp"

#include <fmt/format.h>

#include <cctype>

#include "dcsde/run/results.hpp"

namespace dcsde::detail {
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

std::string csv_number(const std::optional<double>& v) {
  return v ? fmt::format("{:.17g}", *v) : "";
}

std::string csv_field(std::string s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

nlohmann::json weak_json(const std::optional<WeakErrorEntry>& w) {
  if (!w) return nullptr;
  return {{"value", w->value}, {"sem", w->sem}, {"step", w->step}};
}

// sweep.csv: the swept keys, then the label and the optimizer's summary, one row per point.
// wall_seconds stays the last column (the one timing value: scripts/compare_runs and the MPI
// tests strip it), so the median and quartiles added later sit just before it.
std::string sweep_csv(const ExperimentPlan& plan, const std::vector<PointResult>& results) {
  std::string csv;
  for (const auto& key : plan.swept_keys) csv += csv_field(key) + ",";
  csv +=
      "label,replicas,diverged,first_divergence_step,final_loss_mean,final_loss_std,final_loss_"
      "sem,final_grad_norm_mean,asymptotic_loss_mean,asymptotic_loss_sem,bits_per_agent_per_step,"
      "final_loss_median,final_loss_q25,final_loss_q75,wall_seconds\n";
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const SweepPoint& point = plan.points[i];
    const ProcessSummary& s = results[i].optimizer;
    // A key axis contributes its value; a named axis its label.
    for (const auto& cell : point.cells) csv += csv_field(cell) + ",";
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.6g}\n", csv_field(point.label),
                       s.replicas, s.diverged,
                       s.first_divergence_step ? std::to_string(*s.first_divergence_step) : "",
                       csv_number(s.final_loss_mean), csv_number(s.final_loss_std),
                       csv_number(s.final_loss_sem), csv_number(s.final_grad_norm_mean),
                       csv_number(s.asymptotic_loss_mean), csv_number(s.asymptotic_loss_sem),
                       s.bits_per_agent_per_step, csv_number(s.final_loss_median),
                       csv_number(s.final_loss_q25), csv_number(s.final_loss_q75), s.wall_seconds);
  }
  return csv;
}

}  // namespace

fs::path point_folder(const fs::path& root, std::size_t index, const std::string& label) {
  return root / "points" / fmt::format("{:03d}-{}", index, slug(label));
}

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
  j["statistic"] =
      std::string(kind_name(point.experiment.statistic));  // what loss.png and the table show
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
        plot_curves(dir / "loss.png", point.label, {{point.label, dir / "curves.csv"}},
                    point.experiment.statistic);
    if (!why.empty()) warnings.push_back("plot skipped (" + why + ")");
  }
  return j;
}

void write_sweep(const fs::path& root, const ExperimentPlan& plan,
                 const std::vector<PointResult>& results, const nlohmann::json& points,
                 Statistic statistic, bool plot, std::vector<std::string>& warnings) {
  const Experiment& first = plan.points.front().experiment;
  write_text(root / "config.toml", plan.resolved_toml);
  write_text(root / "sweep.csv", sweep_csv(plan, results));
  nlohmann::json j;
  j["experiment"] = first.name;
  j["dcsde_version"] = DCSDE_VERSION;
  j["swept_keys"] = plan.swept_keys;
  j["statistic"] = std::string(kind_name(statistic));
  j["points"] = points;
  write_text(root / "summary.json", j.dump(2) + "\n");
  if (plot) {
    std::vector<std::pair<std::string, fs::path>> curves;
    for (std::size_t i = 0; i < plan.points.size(); ++i)
      curves.push_back(
          {plan.points[i].label, point_folder(root, i, plan.points[i].label) / "curves.csv"});
    const std::string title = first.description.empty() ? first.name : first.description;
    const std::string why = plot_curves(root / "loss.png", title, curves, statistic);
    if (!why.empty()) warnings.push_back("plot skipped (" + why + ")");
  }
}

}  // namespace dcsde::detail
