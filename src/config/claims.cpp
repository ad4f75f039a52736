#include "dcsde/config/claims.hpp"

#include <toml++/toml.h>

#include <set>

#include "dcsde/core/error.hpp"
#include "schema.hpp"

namespace dcsde {
namespace {

std::string required_string(const toml::table& claim, const char* key, const std::string& at) {
  const auto* node = claim.get(key);
  if (node == nullptr || !node->is_string())
    throw ConfigError(at + ": claim." + key + " (a string) is missing");
  return *node->value<std::string>();
}

std::vector<std::string> string_array(const toml::table& claim, const char* key) {
  std::vector<std::string> out;
  const auto* node = claim.get(key);
  if (node == nullptr) return out;
  const auto* array = node->as_array();
  if (array == nullptr)
    throw ConfigError(detail::where(*node) + ": claim." + key + " must be an array of strings");
  for (const auto& element : *array) {
    if (!element.is_string())
      throw ConfigError(detail::where(element) + ": claim." + key + " must be an array of strings");
    out.push_back(*element.value<std::string>());
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
    for (const auto& [key, value] : *table) {
      static const std::set<std::string> allowed = {"name",        "paper", "statement", "analysis",
                                                    "experiments", "quick", "ranks"};
      if (!allowed.count(std::string(key.str())))
        throw ConfigError(detail::where(value) + ": unknown key claim." + std::string(key.str()) +
                          ". Allowed: name, paper, statement, experiments, analysis, quick, ranks");
    }
    Claim c;
    c.name = required_string(*table, "name", at);
    c.paper = required_string(*table, "paper", at);
    c.statement = required_string(*table, "statement", at);
    c.analysis = required_string(*table, "analysis", at);
    for (const auto& file : string_array(*table, "experiments")) {
      const auto path = manifest.parent_path() / file;
      if (!std::filesystem::exists(path))
        throw ConfigError(at + ": claim '" + c.name + "': experiment file " + path.string() +
                          " does not exist");
      c.experiments.push_back(path);
    }
    if (c.experiments.empty())
      throw ConfigError(at + ": claim '" + c.name + "' lists no experiments");
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
