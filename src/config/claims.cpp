#include "dcsde/config/claims.hpp"

#include <toml++/toml.h>

#include <cctype>
#include <optional>
#include <set>

#include "dcsde/core/error.hpp"
#include "schema.hpp"

namespace dcsde {
namespace {

// `what` names the field in messages: "claim.paper", "claim.thresholds.key".
std::string required_string(const toml::table& table, const char* key, const std::string& at,
                            const std::string& what = "claim") {
  const auto* node = table.get(key);
  if (node == nullptr || !node->is_string())
    throw ConfigError(at + ": " + what + "." + key + " (a string) is missing");
  return *node->value<std::string>();
}

std::vector<std::string> string_array(const toml::table& table, const char* key,
                                      const std::string& what = "claim") {
  std::vector<std::string> out;
  const auto* node = table.get(key);
  if (node == nullptr) return out;
  const auto* array = node->as_array();
  const std::string message = ": " + what + "." + key + " must be an array of strings";
  if (array == nullptr) throw ConfigError(detail::where(*node) + message);
  for (const auto& element : *array) {
    if (!element.is_string()) throw ConfigError(detail::where(element) + message);
    out.push_back(*element.value<std::string>());
  }
  return out;
}

void check_keys(const toml::table& table, const std::set<std::string>& allowed,
                const std::string& what, const std::string& list) {
  for (const auto& [key, value] : table)
    if (!allowed.count(std::string(key.str())))
      throw ConfigError(detail::where(value) + ": unknown key " + what + "." +
                        std::string(key.str()) + ". Allowed: " + list);
}

std::optional<double> number(const toml::table& table, const char* key) {
  const auto* node = table.get(key);
  if (node == nullptr) return std::nullopt;
  if (!node->is_number())
    throw ConfigError(detail::where(*node) + ": claim.thresholds." + key + " must be a number");
  return node->value<double>();
}

// The names become folders of the claim's results: plain names only.
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 100) return false;
  for (char ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') return false;
  return true;
}

// One [[claim.thresholds]] table; what `dcsde threshold` would refuse later (an unknown key of
// the experiment, a bracket without a change) is left to the run, the rest is checked here.
ClaimThreshold parse_threshold(const toml::node& node, const std::filesystem::path& manifest,
                               const std::string& claim) {
  const std::string at = detail::where(node);
  const auto* table = node.as_table();
  if (table == nullptr)
    throw ConfigError(at + ": claim.thresholds must be an array of tables ([[claim.thresholds]])");
  const std::string what = "claim.thresholds";
  check_keys(
      *table,
      {"name", "experiment", "key", "sde", "criteria", "set", "low", "high", "tolerance", "quick"},
      what, "name, experiment, key, sde, criteria, set, low, high, tolerance, quick");
  ClaimThreshold t;
  t.name = required_string(*table, "name", at, what);
  if (!plain_name(t.name))
    throw ConfigError(at + ": claim '" + claim + "': thresholds name '" + detail::clip(t.name) +
                      "' must be a plain folder name (letters, digits, _ and -)");
  t.experiment = manifest.parent_path() / required_string(*table, "experiment", at, what);
  if (!std::filesystem::exists(t.experiment))
    throw ConfigError(at + ": claim '" + claim + "': threshold experiment file " +
                      t.experiment.string() + " does not exist");
  t.key = required_string(*table, "key", at, what);
  for (const std::string& m : string_array(*table, "sde", what)) {
    const auto model = kind_named<SdeModel>(m);
    if (!model)
      throw ConfigError(detail::where(*table->get("sde")) + ": claim.thresholds.sde: unknown " +
                        "SDE model '" + detail::clip(m) + "'; the models are " +
                        kind_names<SdeModel>(", "));
    t.sde.push_back(*model);
  }
  for (const std::string& c : string_array(*table, "criteria", what)) {
    const auto criterion = kind_named<StabilityCriterion>(c);
    if (!criterion)
      throw ConfigError(detail::where(*table->get("criteria")) +
                        ": claim.thresholds.criteria: unknown criterion '" + detail::clip(c) +
                        "'; the criteria are " + kind_names<StabilityCriterion>(", "));
    t.criteria.push_back(*criterion);
  }
  if (t.criteria.empty()) t.criteria = {StabilityCriterion::kMeanSquare};
  t.sets = string_array(*table, "set", what);
  t.low = number(*table, "low");
  t.high = number(*table, "high");
  if (t.low.has_value() != t.high.has_value() || (t.low && !(*t.low < *t.high)))
    throw ConfigError(at + ": claim.thresholds low and high go together, with low < high");
  if (const auto tolerance = number(*table, "tolerance")) {
    if (!(*tolerance > 0.0 && *tolerance < 1.0))
      throw ConfigError(detail::where(*table->get("tolerance")) +
                        ": claim.thresholds.tolerance must lie in (0, 1)");
    t.tolerance = *tolerance;
  }
  if (const toml::node* quick = table->get("quick")) {
    const auto value = quick->value<bool>();
    if (!quick->is_boolean() || !value)
      throw ConfigError(detail::where(*quick) +
                        ": claim.thresholds.quick must be true or false (false: --quick skips "
                        "the entry)");
    t.quick = *value;
  }
  return t;
}

std::vector<ClaimThreshold> parse_thresholds(const toml::table& claim,
                                             const std::filesystem::path& manifest,
                                             const std::string& name) {
  std::vector<ClaimThreshold> out;
  const auto* node = claim.get("thresholds");
  if (node == nullptr) return out;
  const auto* array = node->as_array();
  if (array == nullptr)
    throw ConfigError(detail::where(*node) +
                      ": claim.thresholds must be an array of tables ([[claim.thresholds]])");
  std::set<std::string> names;
  for (const auto& element : *array) {
    out.push_back(parse_threshold(element, manifest, name));
    if (!names.insert(out.back().name).second)
      throw ConfigError(detail::where(element) + ": claim '" + name + "': thresholds name '" +
                        out.back().name + "' appears twice");
  }
  return out;
}

}  // namespace

std::vector<Claim> load_claims(const std::filesystem::path& manifest) {
  toml::table root;
  try {
    root = toml::parse_file(manifest.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(manifest.string() + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()));
  } catch (const std::exception& e) {
    throw IoError(manifest.string() + ": cannot read the claims manifest (" + e.what() + ")");
  }
  const auto* claims = root.get_as<toml::array>("claim");
  if (claims == nullptr) throw ConfigError(manifest.string() + ": no [[claim]] tables");
  std::vector<Claim> out;
  std::set<std::string> names;
  for (const auto& node : *claims) {
    const auto* table = node.as_table();
    const std::string at = detail::where(node);
    if (table == nullptr) throw ConfigError(at + ": each claim is a [[claim]] table");
    check_keys(*table,
               {"name", "paper", "statement", "analysis", "criterion", "scope", "experiments",
                "thresholds", "quick", "ranks"},
               "claim",
               "name, paper, statement, criterion, scope, experiments, thresholds, analysis, "
               "quick, ranks");
    Claim c;
    c.name = required_string(*table, "name", at);
    c.paper = required_string(*table, "paper", at);
    c.statement = required_string(*table, "statement", at);
    c.analysis = required_string(*table, "analysis", at);
    if (table->get("criterion") != nullptr) c.criterion = required_string(*table, "criterion", at);
    if (const auto* scope = table->get("scope")) {
      c.scope = required_string(*table, "scope", at);
      if (c.scope != "paper" && c.scope != "beyond")
        throw ConfigError(detail::where(*scope) + ": claim.scope = '" + detail::clip(c.scope) +
                          "'. Violated constraint: scope is \"paper\" or \"beyond\"");
    }
    for (const auto& file : string_array(*table, "experiments")) {
      const auto path = manifest.parent_path() / file;
      if (!std::filesystem::exists(path))
        throw ConfigError(at + ": claim '" + c.name + "': experiment file " + path.string() +
                          " does not exist");
      c.experiments.push_back(path);
    }
    c.thresholds = parse_thresholds(*table, manifest, c.name);
    if (c.experiments.empty() && c.thresholds.empty())
      throw ConfigError(at + ": claim '" + c.name + "' lists no experiments and no thresholds");
    c.quick = string_array(*table, "quick");
    if (const auto* ranks = table->get("ranks")) {
      const auto value = ranks->value<std::int64_t>();
      if (!ranks->is_integer() || !value || *value < 1 || *value > 64)
        throw ConfigError(detail::where(*ranks) + ": claim.ranks must be an integer in 1..64");
      c.ranks = static_cast<int>(*value);
    }
    if (!names.insert(c.name).second)
      throw ConfigError(at + ": claim name '" + c.name + "' appears twice");
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace dcsde
