// TOML -> ExperimentPlan: overrides, sweep expansion, typed reading, range validation.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "dcsde/core/error.hpp"
#include "limits.hpp"
#include "schema.hpp"
#include "sweep.hpp"

namespace dcsde {
namespace {

using detail::find_spec;
using detail::join;
using detail::key_specs;
using detail::shown_text;
using detail::unknown_key;
using detail::where;

// Where each section and key of a table was written: toml++ does not copy source regions when
// nodes are copied (sweep points, overrides), so locations are recorded once, here.
using Positions = std::map<std::string, std::string>;

void record_positions(const toml::table& table, Positions& positions) {
  for (auto&& [section, node] : table) {
    const std::string name(section.str());
    positions[name] = where(node);
    if (const toml::table* sub = node.as_table())
      for (auto&& [key, value] : *sub)
        positions[name + "." + std::string(key.str())] = where(value);
  }
}

// Puts `value` at "section.key" of `table`, creating the section.
void assign(toml::table& table, const std::string& dotted, const toml::node& value,
            const std::string& location) {
  const auto dot = dotted.find('.');
  if (dot == std::string::npos || dotted.find('.', dot + 1) != std::string::npos)
    throw ConfigError(location + ": '" + dotted + "' is not a key of the form section.key.");
  if (!find_spec(dotted)) unknown_key(location, dotted);
  const std::string section = dotted.substr(0, dot);
  auto* sub = table[section].as_table();
  if (!sub) {
    table.insert_or_assign(section, toml::table{});
    sub = table[section].as_table();
  }
  sub->insert_or_assign(dotted.substr(dot + 1), value);
}

// --set key=value: the value is TOML; a bare word is taken as a string for convenience.
void apply_override(toml::table& table, const std::string& text, Positions& positions) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set " + detail::clip(text) +
                      ": expected key=value, e.g. --set noise.sigma=0.5");
  const std::string key = text.substr(0, eq);
  const std::string value = text.substr(eq + 1);
  const std::string location = "--set " + detail::clip(text);  // the location of messages
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value, location);
  } catch (const toml::parse_error&) {
    try {
      parsed = toml::parse("v = \"" + value + "\"", location);
    } catch (const toml::parse_error& e) {
      throw ConfigError(location + ": the value is not TOML: " + std::string(e.description()));
    }
  }
  assign(table, key, *parsed.get("v"), location);
  positions[key] = location;
  positions.emplace(key.substr(0, key.find('.')), location);
}

struct Located {
  std::map<std::string, const toml::node*> nodes;  // "section.key" -> node, for given keys
  std::string file;
  const Positions* positions;
  std::string where(const std::string& key) const {
    auto it = positions->find(key);
    return it != positions->end() ? it->second : file;
  }
};

// Throws "location: key = value, ... Violated constraint: ...", located at the first key given
// in the file; the value of a key not given is `value` (its default).
[[noreturn]] void violated(const Located& at,
                           const std::vector<std::pair<std::string, std::string>>& keys,
                           const std::string& constraint) {
  std::string location, shown;
  for (const auto& [key, value] : keys) {
    auto it = at.nodes.find(key);
    if (it != at.nodes.end() && location.empty()) location = at.where(key);
    shown += (shown.empty() ? "" : ", ") + key + " = " +
             (it != at.nodes.end() ? shown_text(*it->second) : value + " (default)");
  }
  throw ConfigError((location.empty() ? at.file : location) + ": " + shown +
                    ". Violated constraint: " + constraint + ".");
}

[[noreturn]] void violated(const Located& at, const std::string& key, const std::string& value,
                           const std::string& constraint) {
  violated(at, {{key, value}}, constraint);
}

// An error of the library about one key, located where the key was written (else at the file).
ConfigError located(const Located& at, const ConfigError& error) {
  const std::string& key = error.key();
  return ConfigError(key, (at.nodes.count(key) ? at.where(key) : at.file) + ": " + error.what());
}

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

void check_per_agent(const Located& at, const std::string& key, const std::vector<double>& v,
                     Index agents, bool positive) {
  if (v.size() != 1 && static_cast<Index>(v.size()) != agents)
    violated(at, key, "",
             "one value or one per agent (agents.count = " + std::to_string(agents) + ")");
  for (double x : v) {
    if (!std::isfinite(x) || (positive ? x <= 0.0 : x < 0.0))
      violated(at, key, num(x), positive ? "every value > 0" : "every value >= 0");
  }
}

// The [compressor] keys given as arrays (one value per agent).
std::vector<std::string> compressor_lists(const Located& at) {
  std::vector<std::string> lists;
  for (const char* key : {"compressor.kind", "compressor.k", "compressor.p", "compressor.levels"}) {
    auto it = at.nodes.find(key);
    if (it != at.nodes.end() && it->second->is_array()) lists.emplace_back(key);
  }
  return lists;
}

// Each agent's compressor options, its constraint written once by the compressor's spec
// (compress/compressor.hpp); per-agent lists name the agent and must have one value per agent,
// and a list no agent's kind reads is a mistake.
void check_compressors(const Experiment& e, const Located& at) {
  const Index d = e.objective.dim;
  std::string error, key;
  if (e.uniform_compressors()) {
    if (!compressor_options_valid(e.compressor, d, &error, &key))
      throw located(at, ConfigError(key, error));
    return;
  }
  const std::vector<std::string> lists = compressor_lists(at);
  const auto count = static_cast<Index>(e.agent_compressors.size());
  if (count != e.agents)
    violated(at, lists.front(), "",
             "one value or one per agent (agents.count = " + std::to_string(e.agents) + ")");
  std::string kinds;
  for (Index i = 0; i < count; ++i) {
    const CompressorOptions& agent = e.compressor_of(i);
    kinds += (i ? ", " : "") + std::string(kind_name(agent.kind));
    if (!compressor_options_valid(agent, d, &error, &key))
      throw located(at,
                    ConfigError(key, error + " (agent " + std::to_string(i) + "'s compressor, " +
                                         std::string(kind_name(agent.kind)) + ")"));
  }
  for (const std::string& list : lists) {
    const std::string name = list.substr(list.find('.') + 1);
    const unsigned bit = name == "k"        ? kCompressorK
                         : name == "p"      ? kCompressorP
                         : name == "levels" ? kCompressorLevels
                                            : ~0u;  // kind: every agent reads it
    bool read = false;
    for (Index i = 0; i < count; ++i) read = read || (spec_of(e.compressor_of(i).kind).keys & bit);
    if (!read)
      violated(at, list, "",
               "a key one of the agents' compressors reads; the agents' kinds (" + kinds +
                   ") do not read " + name);
  }
}

void validate(const Experiment& e, const Located& at, std::optional<double> available) {
  const bool network = spec_of(e.objective.kind).keys & kObjectiveNetwork;
  if (!at.nodes.count("problem.objective"))
    throw ConfigError(at.file + ": missing required key problem.objective (one of " +
                      kind_names<ObjectiveKind>(", ") + ").");
  if (!at.nodes.count("problem.dim") && !network)
    throw ConfigError(at.file + ": missing required key problem.dim (the dimension d >= 1).");
  if (!at.nodes.count("method.kind"))
    throw ConfigError(at.file + ": missing required key method.kind.");
  if (!at.nodes.count("method.steps"))
    throw ConfigError(at.file + ": missing required key method.steps (number of steps >= 1).");

  const Index d = e.objective.dim;
  if (d < 1) violated(at, "problem.dim", "", "dim >= 1");
  if (auto error = dcsde::validate(e.objective)) throw located(at, *error);
  if (e.x0.size() != 1 && static_cast<Index>(e.x0.size()) != d)
    violated(at, "problem.x0", "", "one value or d = " + std::to_string(d) + " values");
  for (double x : e.x0)
    if (!std::isfinite(x)) violated(at, "problem.x0", num(x), "finite values");

  if (e.agents < 1) violated(at, "agents.count", "", "count >= 1");

  check_per_agent(at, "noise.sigma", e.noise.sigma, e.agents, false);
  check_per_agent(at, "noise.sigma0", e.noise.sigma0, e.agents, false);
  check_per_agent(at, "noise.sigma1", e.noise.sigma1, e.agents, false);
  if (!(e.noise.nu > 0.0) || !std::isfinite(e.noise.nu))
    violated(at, "noise.nu", num(e.noise.nu), "nu > 0");
  if (e.noise.batch < 1) violated(at, "noise.batch", "", "batch >= 1");
  if (!e.noise.coordinate_scale.empty()) {
    if (static_cast<Index>(e.noise.coordinate_scale.size()) != d)
      violated(at, "noise.coordinate_scale", "", "d = " + std::to_string(d) + " values");
    for (double c : e.noise.coordinate_scale)
      if (!(c > 0.0) || !std::isfinite(c))
        violated(at, "noise.coordinate_scale", num(c), "every value > 0");
  }

  check_compressors(e, at);
  if (e.method.sign_draw == SignDraw::kLaw) {
    for (const CompressorKind kind : e.compressor_kinds())
      if (!spec_of(kind).sends_signs)
        violated(at, "method.sign_draw", "law",
                 "only with compressor.kind = 'sign' (dsignsgd, majority_vote); got '" +
                     std::string(kind_name(kind)) + "'");
    const NoiseFamily family = spec_of(e.noise.kind).family;
    if (family != NoiseFamily::kGaussian && family != NoiseFamily::kStudentT)
      violated(at, "method.sign_draw", "law",
               "a noise law to draw from: noise.kind gaussian, student_t or their affine kinds; "
               "got '" +
                   std::string(kind_name(e.noise.kind)) + "'");
  }
  if (!spec_of(e.method.kind).reads_lr) {
    if (at.nodes.count("method.lr"))
      violated(at, "method.lr", "",
               "not set for normalized_dcsgd, whose step is 2 eps / ((L0 + L1 ||g||) P + Q); set "
               "method.eps");
    if (!(e.method.eps > 0.0 && e.method.eps < 1.0))
      violated(at, "method.eps", num(e.method.eps), "0 < eps < 1");
    for (const char* key : {"L0", "L1", "sigma0", "sigma1"}) {
      const auto& value = std::string(key) == "L0"       ? e.method.L0
                          : std::string(key) == "L1"     ? e.method.L1
                          : std::string(key) == "sigma0" ? e.method.sigma0
                                                         : e.method.sigma1;
      if (value && !(*value >= 0.0 && std::isfinite(*value)))
        violated(at, std::string("method.") + key, num(*value), std::string(key) + " >= 0");
    }
  } else {
    if (!at.nodes.count("method.lr"))
      throw ConfigError(at.file + ": missing required key method.lr (the learning rate eta > 0).");
    if (!(e.method.lr > 0.0) || !std::isfinite(e.method.lr))
      violated(at, "method.lr", num(e.method.lr), "lr > 0");
  }
  if (spec_of(e.method.schedule.kind).reads_points) {
    const auto& pts = e.method.schedule.points;
    if (pts.empty())
      violated(at, "method.schedule_points", "[]", "given when schedule = piecewise");
    if (pts.front().first != 0) violated(at, "method.schedule_points", "", "the first step is 0");
    for (std::size_t i = 0; i < pts.size(); ++i) {
      if (i > 0 && pts[i].first <= pts[i - 1].first)
        violated(at, "method.schedule_points", "", "steps strictly increasing");
      if (!(pts[i].second > 0.0) || !std::isfinite(pts[i].second))
        violated(at, "method.schedule_points", "", "every multiplier > 0");
    }
  } else if (!e.method.schedule.points.empty()) {
    violated(at, "method.schedule_points", "",
             "only with a schedule that reads points (schedule = piecewise)");
  }
  if (e.method.steps < 1) violated(at, "method.steps", "", "steps >= 1");

  if (e.sde) {
    if (e.sde->substeps < 1) violated(at, "sde.substeps", "", "substeps >= 1");
    if (e.sde->law.samples < 2) violated(at, "sde.law_samples", "", "law_samples >= 2");
  }
  if (e.run.replicas < 1) violated(at, "run.replicas", "", "replicas >= 1");
  if (e.run.record_every < 1) violated(at, "run.record_every", "", "record_every >= 1");
  if (e.run.threads < 0) violated(at, "run.threads", "", "threads >= 0");
  if (e.run.checkpoint_every < 0) violated(at, "run.checkpoint_every", "", "checkpoint_every >= 0");
  if (e.run.block_size < 1 || e.run.block_size > 4096)
    violated(at, "run.block_size", "", "1 <= block_size <= 4096");
  // Last: the memory estimate needs every size in range; nothing has been allocated yet.
  if (auto limit = detail::check_limits(e, available)) violated(at, limit->keys, limit->constraint);
}

// Reads one experiment table (no [sweep]); checks unknown sections and keys, types, ranges.
Experiment read_experiment(const toml::table& table, const std::string& file,
                           const std::string& default_name, const Positions& positions,
                           std::optional<double> available) {
  Experiment e;
  e.name = default_name;
  Located at{{}, file, &positions};
  for (auto&& [section_key, section_node] : table) {
    const std::string section(section_key.str());
    const auto& names = detail::section_names();
    if (std::find(names.begin(), names.end(), section) == names.end() || section == "sweep")
      unknown_key(at.where(section), section);
    const toml::table* sub = section_node.as_table();
    if (!sub)
      throw ConfigError(at.where(section) + ": '" + section + "' must be a table ([" + section +
                        "]).");
    if (section == "sde") e.sde.emplace();  // an [sde] section, even empty, asks for the SDE
    for (auto&& [key, node] : *sub) {
      const std::string dotted = section + "." + std::string(key.str());
      const detail::KeySpec* spec = find_spec(dotted);
      if (!spec) unknown_key(at.where(dotted), dotted);
      spec->read(e, detail::Reader{dotted, node, at.where(dotted)});
      at.nodes[dotted] = &node;
    }
  }
  // The methods that send signs default to the sign compressor.
  if (!at.nodes.count("compressor.kind") && spec_of(e.method.kind).needs == CompressorNeed::kSigns)
    e.compressor.kind = CompressorKind::kSign;
  e.run.steps = e.method.steps;
  const bool network = spec_of(e.objective.kind).keys & kObjectiveNetwork;
  if (network) {
    // A network's dimension is its parameter count: build it (the data is loaded once per
    // process) and locate its errors at the key they name.
    for (const char* key : {"problem.dim", "problem.x0"})
      if (at.nodes.count(key))
        throw ConfigError(at.where(key) + ": " + key +
                          " is set by the network for objective = 'torch' (its parameter count "
                          "and its own initialisation); remove it");
    try {
      e.objective.dim = make_objective(e.objective)->dim();
    } catch (const ConfigError& error) {
      throw located(at, error);
    }
  }
  if (!network) {
    for (const char* key :
         {"problem.model", "problem.dataset", "problem.data_path", "problem.width", "problem.depth",
          "problem.heads", "problem.patch", "problem.context", "problem.full_batch",
          "problem.test_examples", "problem.precision"})
      if (at.nodes.count(key))
        throw ConfigError(at.where(key) + ": " + key +
                          " applies to objective = 'torch' only (this "
                          "experiment's objective is '" +
                          std::string(kind_name(e.objective.kind)) + "')");
  }
  validate(e, at, available);
  // Lists of equal entries are one compressor for all (the same bits, a shared object).
  if (!e.uniform_compressors() &&
      std::all_of(e.agent_compressors.begin(), e.agent_compressors.end(),
                  [&](const CompressorOptions& c) { return c == e.agent_compressors.front(); }))
    e.agent_compressors.clear();
  // The default statistic follows the noise (validated now): without a finite variance the
  // loss may have no mean.
  if (!at.nodes.count("output.statistic"))
    e.statistic = finite_variance(e.noise) ? Statistic::kMean : Statistic::kMedian;
  // Combinations the ranges cannot see (dsgd with rand_k, Eq. 15 without L0): the constructors
  // say why; locate the message at the key it names.
  try {
    assemble(e);
  } catch (const ConfigError& error) {
    throw located(at, error);
  }
  return e;
}

std::string stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

}  // namespace

Assembled assemble(const Experiment& e) {
  Assembled a;
  ObjectiveOptions objective = e.objective;
  objective.network.threads = e.run.threads > 0 ? e.run.threads : omp_get_num_procs();
  a.objective = make_objective(objective);
  a.noise = std::make_unique<NoiseModel>(e.noise, e.agents, e.objective.dim);
  a.compressor = make_compressor(e.compressor, e.objective.dim);
  std::vector<const Compressor*> per_agent = {a.compressor.get()};
  if (!e.uniform_compressors()) {
    for (Index i = 1; i < e.agents; ++i)
      a.agent_compressors.push_back(make_compressor(e.compressor_of(i), e.objective.dim));
    for (const auto& c : a.agent_compressors) per_agent.push_back(c.get());
  }
  a.method = std::make_unique<Method>(e.method, *a.objective, *a.noise, per_agent, e.agents);
  if (e.sde) a.sde = std::make_unique<SdeProcess>(*a.method, *e.sde);
  a.x0 = a.objective->initial_point().value_or(e.initial_state());
  return a;
}

std::vector<CompressorKind> Experiment::compressor_kinds() const {
  if (agent_compressors.empty()) return {compressor.kind};
  std::vector<CompressorKind> kinds;
  for (const CompressorOptions& c : agent_compressors) kinds.push_back(c.kind);
  return kinds;
}

Vector Experiment::initial_state() const {
  const Index d = objective.dim;
  if (x0.size() == 1) return Vector::Constant(d, x0[0]);
  return Eigen::Map<const Vector>(x0.data(), d);
}

ExperimentPlan parse_experiment(const std::string& toml_text, const std::string& source_name,
                                const std::vector<std::string>& overrides) {
  toml::table table;
  try {
    table = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(source_name + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " +
                      std::string(e.description()));
  }
  Positions positions;
  record_positions(table, positions);
  for (const auto& text : overrides) apply_override(table, text, positions);

  ExperimentPlan plan;
  plan.source = source_name;
  std::vector<detail::SweepAxis> axes;
  toml::table base = table;
  if (const toml::node* sweep = table.get("sweep")) {
    axes = detail::read_sweep_axes(*sweep);
    for (const auto& axis : axes) plan.swept_keys.push_back(axis.name);
    base.erase("sweep");
  }
  // A --set of a swept key would be overridden at every point, and its value never used.
  for (const std::string& text : overrides) {
    const std::string key = text.substr(0, text.find('='));
    for (const auto& axis : axes)
      for (const auto& value : axis.values)
        for (const auto& assigned : value.second)
          if (assigned.first == key)
            throw ConfigError("--set " + detail::clip(text) + ": " + key + " is swept by sweep." +
                              (axis.key_axis() ? "\"" + axis.name + "\"" : axis.name) +
                              ", which sets it at every point; change the sweep instead");
  }

  const std::string name = stem(source_name);
  const std::optional<double> available = detail::available_memory();  // once for every point
  std::vector<std::size_t> index(axes.size(), 0);
  for (;;) {
    toml::table point_table = base;
    Positions point_positions = positions;
    SweepPoint point;
    std::vector<std::string> labels;
    for (std::size_t a = 0; a < axes.size(); ++a) {
      const auto& [label, assigns] = axes[a].values[index[a]];
      labels.push_back(label);
      point.cells.push_back(axes[a].key_axis() ? detail::node_text(*assigns.front().second)
                                               : label);
      for (const auto& [key, node] : assigns) {
        assign(point_table, key, *node, where(*node));
        point_positions[key] = where(*node);
        point.values.push_back({key, detail::node_text(*node)});
      }
    }
    point.label = axes.empty() ? name : join(labels, ", ");
    point.experiment = read_experiment(point_table, source_name, name, point_positions, available);
    plan.points.push_back(std::move(point));
    // Next index of the cartesian product, the last axis fastest.
    std::size_t a = axes.size();
    while (a > 0 && ++index[a - 1] == axes[a - 1].values.size()) index[--a] = 0;
    if (a == 0) break;
  }
  std::ostringstream os;
  os << table;
  plan.resolved_toml = os.str();
  return plan;
}

ExperimentPlan load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read the experiment file (does it exist?)");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_experiment(buffer.str(), path, overrides);
}

}  // namespace dcsde
