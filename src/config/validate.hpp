// Internal: range validation of one experiment (validate.cpp), with errors located where the
// keys were written (shared by parse.cpp).
#pragma once

#include <toml++/toml.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dcsde/config/experiment.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde::detail {

// Where each section and key of a table was written: toml++ does not copy source regions when
// nodes are copied (sweep points, overrides), so locations are recorded once, by parse.cpp.
using Positions = std::map<std::string, std::string>;

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
                           const std::string& constraint);
[[noreturn]] void violated(const Located& at, const std::string& key, const std::string& value,
                           const std::string& constraint);
// An error of the library about one key, located where the key was written (else at the file).
ConfigError located(const Located& at, const ConfigError& error);
std::string num(double v);

// Every range and combination the schema's types cannot express, then the memory estimate
// (`available` bytes; nothing when unknown).
void validate(const Experiment& e, const Located& at, std::optional<double> available);

}  // namespace dcsde::detail
