#include "dcsde/config/threshold.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dcsde/core/error.hpp"
#include "schema.hpp"

namespace dcsde {
namespace {

// Doublings (and halvings) tried from the file's value to find a bracket: a factor 2^20 = 1e6
// either way, at most 40 runs, before "stable at every value tried".
constexpr int kMaxExpansions = 20;

// A value as TOML text: an int key gets an integer; a float key a float (17 digits, with ".0"
// where %g prints none, so that TOML reads a float).
std::string toml_number(double v, bool integer) {
  if (integer) return fmt::format("{}", static_cast<long long>(std::llround(v)));
  std::string s = fmt::format("{:.17g}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

struct ResolvedKey {
  bool integer = false;
  std::optional<double> value;
};

// The key's schema type and its value in the resolved experiment; ConfigError when the key is
// unknown, not numeric, not a parameter of the dynamics, or holds several different numbers.
ResolvedKey resolve_key(const std::string& key, const Experiment& e) {
  const std::string where = "--key " + detail::clip(key);
  const detail::KeySpec* spec = detail::find_spec(key);
  if (spec == nullptr) detail::unknown_key(where, key);
  const KeyInfo& info = spec->info;
  if (info.section == "run" || info.key == "seed" || key == "method.steps")
    throw ConfigError(where + ": " + key +
                      " sets how the experiment is run, not its dynamics; threshold varies a "
                      "parameter such as method.lr, noise.sigma, compressor.k or agents.count");
  ResolvedKey out;
  out.integer = info.type == "int" || info.type == "int | [int]";
  if (!out.integer && info.type != "float" && info.type != "float | [float]")
    throw ConfigError(where + ": " + key + " is of type " + info.type +
                      ", not a number; threshold varies a float or int key");
  const toml::table table = toml::parse(to_toml(e));
  const toml::node_view<const toml::node> node = table.at_path(key);
  if (const toml::array* values = node.as_array()) {
    std::optional<double> first;
    for (const toml::node& v : *values) {
      const double x = v.value<double>().value_or(NAN);
      if (first && x != *first)
        throw ConfigError(where + ": " + key + " has " + std::to_string(values->size()) +
                          " different values (one per agent or coordinate); threshold varies one "
                          "number: give it one value with --set " +
                          key + "=V");
      first = x;
    }
    out.value = first;
  } else if (node) {
    out.value = node.value<double>();
  }
  return out;
}

const char* verdict_word(bool unstable) { return unstable ? "unstable" : "stable"; }

// Probes one process at values of the key, each value run once (the criteria share the runs).
class Prober {
 public:
  Prober(const std::string& text, const std::string& source, std::vector<std::string> sets,
         const ThresholdOptions& options, bool integer, std::optional<SdeModel> model)
      : text_(text),
        source_(source),
        sets_(std::move(sets)),
        options_(options),
        integer_(integer),
        model_(model) {}

  std::string process() const {
    return model_ ? "sde:" + std::string(kind_name(*model_)) : "optimizer";
  }

  // The experiment at key = v; throws ConfigError when v is not valid for the key.
  Experiment at(double v) const {
    std::vector<std::string> sets = sets_;
    sets.push_back(options_.key + "=" + toml_number(v, integer_));
    if (model_) sets.push_back("sde.model=\"" + std::string(kind_name(*model_)) + "\"");
    ExperimentPlan plan = parse_experiment(text_, source_, sets);
    return std::move(plan.points.front().experiment);
  }

  const ThresholdProbe& probe(double v) {
    if (integer_) v = std::round(v);
    if (auto it = probes_.find(v); it != probes_.end()) return it->second;
    if (static_cast<int>(probes_.size()) >= options_.max_probes)
      throw ConfigError(fmt::format("{}: more than {} probes of {} (lower --tolerance?)", process(),
                                    options_.max_probes, options_.key));
    const Experiment e = at(v);
    const auto start = std::chrono::steady_clock::now();
    const Assembled a = assemble(e);
    std::optional<OptimizerProcess> optimizer;
    const Process* p = a.sde.get();
    if (!model_) p = &optimizer.emplace(*a.method);
    const GrowthTrace trace =
        traced_run(*p, a.x0, e.run,
                   options_.early_stop ? std::span<const StabilityCriterion>(options_.criteria)
                                       : std::span<const StabilityCriterion>());
    quantity_ = trace.quantity;
    ThresholdProbe probe{
        .value = v, .steps_run = trace.steps_run, .stopped_early = trace.stopped_early};
    for (StabilityCriterion c : options_.criteria)
      probe.verdicts.push_back(judge(trace, c, options_.z));
    probe.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (options_.on_probe) options_.on_probe(process(), v, probe.verdicts);
    return probes_.emplace(v, std::move(probe)).first->second;
  }
  bool unstable(double v, std::size_t criterion) { return probe(v).verdicts[criterion].unstable; }

  std::vector<ThresholdProbe> probes() const {
    std::vector<ThresholdProbe> out;
    for (const auto& [v, p] : probes_) out.push_back(p);
    return out;
  }
  const std::string& quantity() const { return quantity_; }

 private:
  const std::string& text_;
  const std::string& source_;
  std::vector<std::string> sets_;
  const ThresholdOptions& options_;
  bool integer_;
  std::optional<SdeModel> model_;  // nothing: the optimizer
  std::map<double, ThresholdProbe> probes_;
  std::string quantity_;
};

struct Bracket {
  double a, b;  // a's verdict differs from b's
  bool a_unstable;
};

// From the file's value v0: double and halve alternately until the verdict changes.
Bracket expand(Prober& p, double v0, bool integer, std::size_t c, const std::string& key,
               StabilityCriterion criterion) {
  const bool u0 = p.unstable(v0, c);
  double up = v0, down = v0;
  bool up_ok = true, down_ok = true;
  for (int j = 0; j < kMaxExpansions && (up_ok || down_ok); ++j) {
    if (up_ok) {
      try {
        const double next = 2.0 * up;
        if (p.unstable(next, c) != u0) return {up, next, u0};
        up = next;
      } catch (const ConfigError&) {
        up_ok = false;  // beyond the key's valid range (e.g. compressor.k > dim)
      }
    }
    if (down_ok) {
      const double next = integer ? std::floor(down / 2.0) : down / 2.0;
      if (next == down) {
        down_ok = false;
        continue;
      }
      try {
        if (p.unstable(next, c) != u0) return {down, next, u0};
        down = next;
      } catch (const ConfigError&) {
        down_ok = false;
      }
    }
  }
  throw ConfigError(fmt::format(
      "{}: {} at every value of {} tried, from {:.6g} to {:.6g} ({} criterion){}; give --low "
      "and --high around the limit",
      p.process(), verdict_word(u0), key, down, up, to_string(criterion),
      u0 ? ": the experiment diverges everywhere" : ""));
}

bool narrow(double a, double b, bool integer, double tolerance) {
  if (integer) return std::abs(b - a) <= 1.0;
  return std::abs(b - a) <= tolerance * std::max(std::abs(a), std::abs(b));
}

double midpoint(double a, double b, bool integer) {
  if (integer) return std::floor(0.5 * (a + b));
  // Geometric while the ends are orders of magnitude apart (a bracket such as [1e-4, 10]).
  if (a > 0.0 && b > 0.0 && std::max(a, b) > 4.0 * std::min(a, b)) return std::sqrt(a * b);
  return 0.5 * (a + b);
}

ThresholdResult bisect(Prober& p, const ThresholdOptions& o, const ResolvedKey& key,
                       std::size_t c) {
  const StabilityCriterion criterion = o.criteria[c];
  Bracket br{};
  ThresholdResult r;
  r.criterion = criterion;
  if (o.low) {
    br = {*o.low, *o.high, p.unstable(*o.low, c)};
    if (p.unstable(*o.high, c) == br.a_unstable) {
      r.absent = fmt::format("{} at both ends of [{:.6g}, {:.6g}]", verdict_word(br.a_unstable),
                             *o.low, *o.high);
      if (o.keep_absent) return r;
      throw ConfigError(fmt::format(
          "{}: {} ({} criterion): the limit of {} is not inside; give a bracket whose ends "
          "differ in behaviour",
          p.process(), r.absent, to_string(criterion), o.key));
    }
  } else {
    try {
      br = expand(p, *key.value, key.integer, c, o.key, criterion);
    } catch (const ConfigError& e) {
      if (!o.keep_absent) throw;
      r.absent = e.what();
      return r;
    }
  }
  while (!narrow(br.a, br.b, key.integer, o.tolerance)) {
    const double m = midpoint(br.a, br.b, key.integer);
    (p.unstable(m, c) == br.a_unstable ? br.a : br.b) = m;
  }
  r.stable = br.a_unstable ? br.b : br.a;
  r.unstable = br.a_unstable ? br.a : br.b;
  r.threshold = key.integer ? r.stable : 0.5 * (br.a + br.b);
  return r;
}

}  // namespace

ThresholdReport find_thresholds(const std::string& toml_text, const std::string& source,
                                const std::vector<std::string>& sets, const ThresholdOptions& o) {
  // Everything is checked before the first run.
  const ExperimentPlan plan = parse_experiment(toml_text, source, sets);
  if (plan.is_sweep())
    throw ConfigError(source + ": threshold takes one experiment, this file sweeps " +
                      detail::join(plan.swept_keys, ", ") +
                      "; remove [sweep] (or copy one point's values into the file)");
  const Experiment& e = plan.points.front().experiment;
  if (e.run.steps < 4)
    throw ConfigError(
        fmt::format("method.steps = {}. Violated constraint: steps >= 4 (threshold "
                    "fits growth over the last half of the run)",
                    e.run.steps));
  const ResolvedKey key = resolve_key(o.key, e);
  if (o.low.has_value() != o.high.has_value())
    throw ConfigError(
        "--low and --high go together (or neither: a bracket is searched from the "
        "file's value)");
  if (o.low && !(*o.low < *o.high))
    throw ConfigError(
        fmt::format("--low {} --high {}. Violated constraint: low < high", *o.low, *o.high));
  if (!o.low && !(key.value && *key.value > 0.0))
    throw ConfigError("--key " + o.key + ": " +
                      (key.value ? fmt::format("its value is {}", *key.value)
                                 : std::string("it has no value in the file")) +
                      "; the bracket search doubles and halves a positive value: give --low and "
                      "--high");
  if (!(o.tolerance > 0.0 && o.tolerance < 1.0))
    throw ConfigError(
        fmt::format("--tolerance = {}. Violated constraint: 0 < tolerance < 1", o.tolerance));
  if (o.criteria.empty()) throw ConfigError("threshold needs a criterion");
  std::vector<std::optional<SdeModel>> models = {std::nullopt};
  models.insert(models.end(), o.sde_models.begin(), o.sde_models.end());
  std::vector<Prober> probers;
  for (const std::optional<SdeModel>& m : models) {
    probers.emplace_back(toml_text, source, sets, o, key.integer, m);
    // The ends of the bracket and each model's SDE must build (e.g. an SDE of infinite-variance
    // noise is refused here, before any run).
    for (double v : o.low ? std::vector<double>{*o.low, *o.high} : std::vector<double>{*key.value})
      (void)probers.back().at(v);
  }

  ThresholdReport report;
  report.experiment = e.name;
  report.source = source;
  report.key = o.key;
  report.integer = key.integer;
  report.file_value = key.value;
  report.criteria = o.criteria;
  report.tolerance = o.tolerance;
  report.replicas = e.run.replicas;
  report.steps = e.run.steps;
  report.early_stop = o.early_stop;
  for (Prober& p : probers) {
    ProcessThreshold pt;
    pt.process = p.process();
    for (std::size_t c = 0; c < o.criteria.size(); ++c) pt.results.push_back(bisect(p, o, key, c));
    pt.probes = p.probes();
    const double lo = pt.probes.front().value, hi = pt.probes.back().value;
    for (ThresholdResult& r : pt.results)
      r.prediction = predict_threshold([&p](double v) { return p.at(v); }, lo, hi, key.integer,
                                       pt.process, r.criterion);
    report.quantity = p.quantity();
    report.processes.push_back(std::move(pt));
  }
  return report;
}

ThresholdReport find_thresholds_in_file(const std::string& path,
                                        const std::vector<std::string>& sets,
                                        const ThresholdOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read the experiment file (does it exist?)");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return find_thresholds(buffer.str(), path, sets, options);
}

std::string threshold_json(const ThresholdReport& r) {
  auto verdict_json = [](const StabilityVerdict& v) {
    return nlohmann::json{
        {"unstable", v.unstable}, {"rate_per_step", v.rate ? nlohmann::json(*v.rate) : nullptr},
        {"rate_sem", v.noise},    {"diverging_fraction", v.diverging_fraction},
        {"diverged", v.diverged}, {"reason", v.reason}};
  };
  nlohmann::json j;
  j["experiment"] = r.experiment;
  j["source"] = r.source;
  j["dcsde_version"] = DCSDE_VERSION;
  j["key"] = r.key;
  j["integer"] = r.integer;
  j["file_value"] = r.file_value ? nlohmann::json(*r.file_value) : nullptr;
  j["tolerance"] = r.tolerance;
  j["replicas"] = r.replicas;
  j["steps"] = r.steps;
  j["quantity"] = r.quantity;
  j["early_stop"] = r.early_stop;
  nlohmann::json criteria = nlohmann::json::object();
  for (StabilityCriterion c : r.criteria) criteria[to_string(c)] = describe(c);
  j["criteria"] = criteria;
  j["processes"] = nlohmann::json::array();
  for (const ProcessThreshold& p : r.processes) {
    nlohmann::json pj;
    pj["process"] = p.process;
    pj["results"] = nlohmann::json::array();
    for (const ThresholdResult& t : p.results) {
      const ThresholdPrediction& pr = t.prediction;
      const bool found = t.absent.empty();
      pj["results"].push_back(
          {{"criterion", to_string(t.criterion)},
           {"threshold", found ? nlohmann::json(t.threshold) : nullptr},
           {"absent", found ? nullptr : nlohmann::json(t.absent)},
           {"bracket", found ? nlohmann::json{{"stable", t.stable}, {"unstable", t.unstable}}
                             : nlohmann::json(nullptr)},
           {"prediction",
            {{"kind", pr.kind},
             {"value", pr.value ? nlohmann::json(*pr.value) : nullptr},
             {"rule", pr.rule},
             {"source", pr.source},
             {"note", pr.note}}}});
    }
    pj["probes"] = nlohmann::json::array();
    for (const ThresholdProbe& probe : p.probes) {
      nlohmann::json verdicts = nlohmann::json::object();
      for (std::size_t c = 0; c < r.criteria.size(); ++c)
        verdicts[to_string(r.criteria[c])] = verdict_json(probe.verdicts[c]);
      pj["probes"].push_back({{"value", probe.value},
                              {"verdicts", verdicts},
                              {"wall_seconds", probe.wall_seconds},
                              {"steps_run", probe.steps_run},
                              {"stopped_early", probe.stopped_early}});
    }
    j["processes"].push_back(pj);
  }
  return j.dump(2) + "\n";
}

std::string early_stop_summary(const ThresholdReport& r) {
  if (!r.early_stop) return "early stop: off (every probe ran all its steps)";
  std::size_t probes = 0, stopped = 0;
  std::int64_t run = 0, planned = 0;
  for (const ProcessThreshold& p : r.processes)
    for (const ThresholdProbe& probe : p.probes) {
      ++probes;
      stopped += probe.stopped_early ? 1 : 0;
      run += probe.steps_run;
      planned += r.steps;
    }
  return fmt::format(
      "early stop: {} of {} probes stopped once decided ({:.0f}% of the steps run)", stopped,
      probes,
      planned > 0 ? 100.0 * static_cast<double>(run) / static_cast<double>(planned) : 100.0);
}

}  // namespace dcsde
