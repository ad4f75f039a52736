// Range validation of one experiment: the constraints no family owns, each family's own
// (compressor_options_valid, validate(ObjectiveOptions)), per-agent lists, the memory estimate.
#include "validate.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "limits.hpp"
#include "schema.hpp"

namespace dcsde::detail {

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

namespace {

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

}  // namespace

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

}  // namespace dcsde::detail
