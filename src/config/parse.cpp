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
#include "validate.hpp"

namespace dcsde {
namespace {

using detail::find_spec;
using detail::join;
using detail::key_specs;
using detail::shown_text;
using detail::unknown_key;
using detail::where;

using detail::located;
using detail::Located;
using detail::Positions;
using detail::violated;

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

// The objective's options as a run builds them: a network uses run.threads (all cores for 0).
ObjectiveOptions objective_to_run(const Experiment& e) {
  ObjectiveOptions objective = e.objective;
  objective.network.threads = e.run.threads > 0 ? e.run.threads : omp_get_num_procs();
  return objective;
}

// assemble(e), with the objective already built when `objective` is given (a network built for
// its dimension is not built again to check the experiment's combinations).
Assembled assemble_with(const Experiment& e, std::unique_ptr<Objective> objective);

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
  std::unique_ptr<Objective> built;  // a network, built once for its dimension and the checks
  if (network) {
    // A network's dimension is its parameter count: build it (the data is loaded once per
    // process) and locate its errors at the key they name.
    for (const char* key : {"problem.dim", "problem.x0"})
      if (at.nodes.count(key))
        throw ConfigError(at.where(key) + ": " + key +
                          " is set by the network for objective = 'torch' (its parameter count "
                          "and its own initialisation); remove it");
    try {
      built = make_objective(objective_to_run(e));
      e.objective.dim = built->dim();
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
    assemble_with(e, std::move(built));
  } catch (const ConfigError& error) {
    throw located(at, error);
  }
  return e;
}

std::string stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

}  // namespace

Assembled assemble(const Experiment& e) { return assemble_with(e, nullptr); }

namespace {

Assembled assemble_with(const Experiment& e, std::unique_ptr<Objective> objective) {
  Assembled a;
  a.objective = objective ? std::move(objective) : make_objective(objective_to_run(e));
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

}  // namespace

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
