// Internal: the [sweep] axes of an experiment file, read and checked before any point is expanded
// (parse.cpp expands them into points).
#pragma once

#include <toml++/toml.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace dcsde::detail {

// The most points a sweep may have. Every point is read, validated and built once before anything
// runs, and gets its own results folder: a 1.35M-point sweep took 59 s and 3.4 GB only to
// validate. 10^5 points validate in seconds and are already more runs than one call should hold;
// larger studies are several files (or a loop over --set).
inline constexpr std::size_t kMaxSweepPoints = 100000;

// One value of an axis sets these keys to these nodes (nodes of the parsed file's table).
using Assignments = std::vector<std::pair<std::string, const toml::node*>>;

// "section.key" = [values] (a key axis) or name = [{ label, "section.key" = value, ... }].
struct SweepAxis {
  std::string name;
  std::vector<std::pair<std::string, Assignments>> values;  // label, what the value sets
  bool key_axis() const { return name.find('.') != std::string::npos; }
};

// The axes of the [sweep] table `sweep`, in file order. Throws ConfigError, located at the value,
// when a value is malformed or names an unknown key, when two axes set the same key (each point
// would take a value from both and the later would silently win, so the earlier axis's values
// would never be checked or run), and when the cartesian product exceeds kMaxSweepPoints (before
// any point is expanded).
std::vector<SweepAxis> read_sweep_axes(const toml::node& sweep);

}  // namespace dcsde::detail
