// Internal: the schema of experiment files, shared by parse.cpp and to_toml.cpp.
#pragma once

#include <toml++/toml.h>

#include <functional>
#include <string>
#include <vector>

#include "dcsde/config/experiment.hpp"

namespace dcsde::detail {

// Reads typed values from TOML nodes, throwing ConfigError located at the node.
struct Reader {
  std::string key;  // "section.key"
  const toml::node& node;
  std::string location;  // "file:line:col" (toml++ does not copy source regions with nodes)

  std::string where() const;
  [[noreturn]] void type_error(const std::string& expected) const;
  std::int64_t integer() const;
  double number() const;
  std::string string() const;
  bool boolean() const;
  std::vector<double> numbers() const;  // a number or an array of numbers
  std::vector<std::pair<std::int64_t, double>> step_points() const;  // [[step, value], ...]
};

struct KeySpec {
  KeyInfo info;
  std::function<void(Experiment&, const Reader&)> read;
};

const std::vector<KeySpec>& key_specs();
const std::vector<std::string>& section_names();

// The node as TOML text, e.g. `-1`, `"rand_k"`, `[1, 2]`.
std::string node_text(const toml::node& node);

// The key "section.key" in the schema, or nullptr.
const KeySpec* find_spec(const std::string& dotted);

// Throws "unknown key" (or "unknown section") with the keys allowed there.
[[noreturn]] void unknown_key(const std::string& location, const std::string& dotted);

std::string join(const std::vector<std::string>& items, const std::string& sep);

// "file:line:col" of a node, or "--set key" for a command-line override.
std::string where(const toml::node& node);

}  // namespace dcsde::detail
