// Internal: the schema of experiment files, shared by parse.cpp and to_toml.cpp.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
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
  // An integer that fits T (TOML integers are 64-bit): never truncated, e.g. levels = 2^32 + 1
  // is an error, not 1; unsigned targets (seeds) take no negative value.
  template <class T>
  T integer_as() const {
    static_assert(std::is_integral_v<T>);
    constexpr std::int64_t lo =
        std::is_signed_v<T> ? std::int64_t{std::numeric_limits<T>::min()} : 0;
    constexpr std::int64_t hi = sizeof(T) < sizeof(std::int64_t)
                                    ? static_cast<std::int64_t>(std::numeric_limits<T>::max())
                                    : std::numeric_limits<std::int64_t>::max();
    const std::int64_t value = integer();
    if (value < lo || value > hi) range_error(lo, hi);
    return static_cast<T>(value);
  }
  [[noreturn]] void range_error(std::int64_t lo, std::int64_t hi) const;
  double number() const;
  std::string string() const;
  // A kind of a family (core/kind.hpp): its name, else "key = "x". Violated constraint: one of
  // a, b, c." located at the node.
  template <class Kind>
  Kind kind() const {
    if (auto k = kind_named<Kind>(string())) return *k;
    kind_error(kind_names<Kind>(", "));
  }
  [[noreturn]] void kind_error(const std::string& names) const;
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

// The node as TOML text, e.g. `-1`, `"rand_k"`, `[1, 2]`: exact, for data (sweep labels and
// cells, which name results).
std::string node_text(const toml::node& node);

// The node as TOML text for a message, bounded: arrays show their first 8 values then
// "... (N values)", strings over 120 characters are cut, control characters escaped (a 10^6-value
// array must not print a 3 MB line).
std::string shown_text(const toml::node& node);

// `text` cut to `limit` characters for a message: "abc... (1234 characters)".
std::string clip(const std::string& text, std::size_t limit = 120);

// The key "section.key" in the schema, or nullptr.
const KeySpec* find_spec(const std::string& dotted);

// Throws "unknown key" (or "unknown section") with the keys allowed there.
[[noreturn]] void unknown_key(const std::string& location, const std::string& dotted);

std::string join(const std::vector<std::string>& items, const std::string& sep);

// "file:line:col" of a node, or "--set key" for a command-line override.
std::string where(const toml::node& node);

}  // namespace dcsde::detail
