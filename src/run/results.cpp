#include "dcsde/run/results.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

#include "dcsde/core/error.hpp"
#include "dcsde/plot_script.hpp"
#include "dcsde/plot_threshold_script.hpp"

namespace dcsde {
namespace fs = std::filesystem;
namespace {

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

void write_curves_csv(const fs::path& file, const std::vector<ProcessSummary>& processes) {
  std::string text =
      "process,step,time,loss_mean,loss_std,grad_norm_mean,alive,sq_norm_mean,sq_norm_std,"
      "loss_median,loss_q05,loss_q25,loss_q75,loss_q95\n";
  for (const ProcessSummary& p : processes) {
    const Curves& c = p.curves;
    for (std::size_t i = 0; i < c.step.size(); ++i) {
      text += fmt::format("{},{},{:.17g},{:.17g},{:.17g},{:.17g},{},{:.17g},{:.17g}", p.process,
                          c.step[i], c.time[i], c.loss_mean[i], c.loss_std[i], c.grad_norm_mean[i],
                          c.alive[i], c.sq_norm_mean[i], c.sq_norm_std[i]);
      text += fmt::format(",{:.17g},{:.17g},{:.17g},{:.17g},{:.17g}\n", c.loss_median[i],
                          c.loss_q05[i], c.loss_q25[i], c.loss_q75[i], c.loss_q95[i]);
    }
  }
  write_text(file, text);
}

nlohmann::json to_json(const ProcessSummary& s) {
  nlohmann::json j;
  j["replicas"] = s.replicas;
  j["diverged"] = s.diverged;
  j["first_divergence_step"] =
      s.first_divergence_step ? nlohmann::json(*s.first_divergence_step) : nlohmann::json(nullptr);
  j["status"] = to_string(s.status);
  j["message"] = s.message;
  j["final"] = {{"step", s.curves.step.empty() ? nlohmann::json(nullptr)
                                               : nlohmann::json(s.curves.step.back())},
                {"loss_mean", optional_json(s.final_loss_mean)},
                {"loss_std", optional_json(s.final_loss_std)},
                {"loss_sem", optional_json(s.final_loss_sem)},
                {"grad_norm_mean", optional_json(s.final_grad_norm_mean)},
                {"loss_median", optional_json(s.final_loss_median)},
                {"loss_q05", optional_json(s.final_loss_q05)},
                {"loss_q25", optional_json(s.final_loss_q25)},
                {"loss_q75", optional_json(s.final_loss_q75)},
                {"loss_q95", optional_json(s.final_loss_q95)},
                {"loss_median_ci95", s.final_loss_median_ci95
                                         ? nlohmann::json::array({s.final_loss_median_ci95->first,
                                                                  s.final_loss_median_ci95->second})
                                         : nlohmann::json(nullptr)}};
  for (const auto& [metric, value] : s.final_metrics) j["final"][metric] = value;
  j["asymptotic_loss"] = {{"mean", optional_json(s.asymptotic_loss_mean)},
                          {"sem", optional_json(s.asymptotic_loss_sem)},
                          {"median", optional_json(s.asymptotic_loss_median)},
                          {"records", s.asymptotic_records}};
  j["bits_per_agent_per_step"] = s.bits_per_agent_per_step;
  j["wall_seconds"] = s.wall_seconds;
  j["cpu_seconds"] = s.cpu_seconds;
  nlohmann::json divergences = nlohmann::json::array();
  for (std::size_t i = 0; i < s.divergences.size() && i < 100; ++i)
    divergences.push_back({{"replica", s.divergences[i].replica}, {"step", s.divergences[i].step}});
  j["divergences"] = divergences;
  return j;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string python_interpreter() {
  const char* python = std::getenv("DCSDE_PYTHON");
  return python ? python : "/usr/bin/python3";
}

PythonResult run_python(const fs::path& script, const std::vector<std::string>& args) {
  std::string command = shell_quote(python_interpreter()) + " " + shell_quote(script.string());
  for (const auto& arg : args) command += " " + shell_quote(arg);
  command += " 2>&1";
  PythonResult result;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) result.output += buffer;
    const int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  return result;
}

namespace {

// Runs an embedded script (written beside the png, then removed) that draws `png`.
std::string draw(const fs::path& png, const char* name, const char* text,
                 const std::vector<std::string>& args) {
  if (!fs::exists(python_interpreter()))
    return python_interpreter() + " not found (install python3-matplotlib)";
  const fs::path script = png.parent_path() / name;
  write_text(script, text);
  PythonResult run = run_python(script, args);
  std::error_code ec;
  fs::remove(script, ec);
  if (run.status == 0 && fs::exists(png)) return "";
  std::string& output = run.output;
  while (!output.empty() && output.back() == '\n') output.pop_back();
  const auto last_line = output.rfind('\n');
  return "matplotlib failed: " +
         (last_line == std::string::npos ? output : output.substr(last_line + 1));
}

}  // namespace

std::string plot_curves(const fs::path& png, const std::string& title,
                        const std::vector<std::pair<std::string, fs::path>>& curves,
                        Statistic statistic) {
  std::vector<std::string> args = {png.string(), title,
                                   "--statistic=" + std::string(kind_name(statistic))};
  for (const auto& [label, file] : curves) {
    args.push_back(label);
    args.push_back(file.string());
  }
  return draw(png, ".plot_curves.py", detail::kPlotScript, args);
}

std::string plot_threshold(const fs::path& png, const fs::path& json) {
  return draw(png, ".plot_threshold.py", detail::kPlotThresholdScript,
              {png.string(), json.string()});
}

}  // namespace dcsde
