// Internal: the [sweep] axes of an experiment file, read and checked before any point is expanded
// (parse.cpp expands them into points).
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace dcsde::detail {

// One value of an axis sets these keys to these nodes (nodes of the parsed file's table).
using Assignments = std::vector<std::pair<std::string, const toml::node*>>;

// "section.key" = [values] (a key axis) or name = [{ label, "section.key" = value, ... }].
struct SweepAxis {
  std::string name;
  std::vector<std::pair<std::string, Assignments>> values;  // label, what the value sets
  bool key_axis() const { return name.find('.') != std::string::npos; }
};

// The axes of the [sweep] table `sweep`, in file order. Throws ConfigError, located at the value,
// when a value is malformed or names an unknown key.
std::vector<SweepAxis> read_sweep_axes(const toml::node& sweep);

}  // namespace dcsde::detail
