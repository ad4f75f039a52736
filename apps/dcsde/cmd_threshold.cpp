// dcsde threshold FILE --key KEY: the stability limit of a numeric key by bisection, for the
// optimizer and the listed SDE models (config/threshold.hpp, docs/threshold.md); threshold.json
// and threshold.png written atomically into a folder dcsde owns.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "commands.hpp"
#include "dcsde/config/experiment.hpp"
#include "dcsde/config/threshold.hpp"
#include "dcsde/core/error.hpp"
#include "dcsde/run/results.hpp"

namespace dcsde::cli {
namespace fs = std::filesystem;
namespace {

// "first_order,stable" -> the SDE models; ConfigError naming --sde for an unknown one.
std::vector<SdeModel> models_of(const std::string& list) {
  std::vector<SdeModel> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) continue;
    const auto model = kind_named<SdeModel>(item);
    if (!model)
      throw ConfigError("--sde " + item + ": unknown SDE model; the models are " +
                        kind_names<SdeModel>(", "));
    out.push_back(*model);
  }
  return out;
}

// One criterion by name, or both ("both").
std::vector<StabilityCriterion> criteria_of(const std::string& name) {
  if (auto criterion = kind_named<StabilityCriterion>(name)) return {*criterion};
  return {StabilityCriterion::kMeanSquare, StabilityCriterion::kAlmostSure};
}

std::string prediction_text(const ThresholdPrediction& p) {
  if (p.kind == "none") return "none";
  if (!p.value) return p.kind + ": no change in the probed range";
  return fmt::format("{:.6g} ({})", *p.value, p.kind);
}

void print_table(const ThresholdReport& r) {
  std::printf("\n%s: stability limit of %s (%lld replicas x %lld steps, y = %s)\n",
              r.experiment.c_str(), r.key.c_str(), static_cast<long long>(r.replicas),
              static_cast<long long>(r.steps), r.quantity.c_str());
  std::printf("%-18s %-12s %-13s %-13s %-13s %7s  %s\n", "process", "criterion", "threshold",
              "stable end", "unstable end", "probes", "prediction");
  for (const ProcessThreshold& p : r.processes)
    for (const ThresholdResult& t : p.results)
      std::printf("%-18s %-12s %-13.6g %-13.6g %-13.6g %7zu  %s\n", p.process.c_str(),
                  to_string(t.criterion), t.threshold, t.stable, t.unstable, p.probes.size(),
                  prediction_text(t.prediction).c_str());
  for (StabilityCriterion c : r.criteria) std::printf("%s\n", describe(c));
  for (const ProcessThreshold& p : r.processes)
    for (const ThresholdResult& t : p.results)
      if (t.prediction.kind != "none")
        std::printf("prediction (%s, %s): %s [%s]%s%s\n", p.process.c_str(), to_string(t.criterion),
                    t.prediction.rule.c_str(), t.prediction.source.c_str(),
                    t.prediction.note.empty() ? "" : "; ", t.prediction.note.c_str());
}

}  // namespace

int threshold(const ThresholdArgs& args) {
  ThresholdOptions o;
  o.key = args.key;
  o.low = args.low;
  o.high = args.high;
  o.sde_models = models_of(args.sde);
  o.criteria = criteria_of(args.criterion);
  o.tolerance = args.tolerance;
  if (!args.quiet)
    o.on_probe = [](const std::string& process, double value,
                    const std::vector<StabilityVerdict>& verdicts) {
      std::string line = fmt::format("  {:<16} {:<14.8g}", process, value);
      for (const StabilityVerdict& v : verdicts)
        line += fmt::format(" {:<9} {}", v.unstable ? "unstable" : "stable", v.reason);
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    };
  // Checked and locked before the first probe: the destination must be absent or a folder dcsde
  // wrote (run/output_folder.hpp), and no other dcsde writes it meanwhile.
  const ExperimentPlan plan = load_experiment(args.file, args.sets);
  const fs::path default_out =
      fs::path("results") / (plan.points.front().experiment.name + "_threshold_" + args.key);
  const ClaimedDestination claimed(args.out.empty() ? default_out : fs::path(args.out),
                                   {args.file});
  const fs::path& out = claimed.path();
  for (const std::string& line : claimed.notes()) std::fprintf(stderr, "dcsde: %s\n", line.c_str());

  const ThresholdReport report = find_thresholds_in_file(args.file, args.sets, o);
  StagedDirectory staged(out);
  const fs::path json = staged.path() / "threshold.json";
  write_text(json, threshold_json(report));
  std::string why = args.no_plot ? "" : plot_threshold(staged.path() / "threshold.png", json);
  staged.commit();
  print_table(report);
  if (!why.empty()) std::fprintf(stderr, "dcsde: warning: plot skipped (%s)\n", why.c_str());
  std::printf("results: %s/ (threshold.json%s)\n", out.string().c_str(),
              args.no_plot || !why.empty() ? "" : ", threshold.png");
  return 0;
}

}  // namespace dcsde::cli
