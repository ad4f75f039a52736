// [sweep] -> axes: their values, and the checks that need all axes at once.
#include "sweep.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "dcsde/core/error.hpp"
#include "schema.hpp"

namespace dcsde::detail {
namespace {

SweepAxis read_axis(const std::string& name, const toml::node& node) {
  const toml::array* values = node.as_array();
  if (!values || values->empty())
    throw ConfigError(where(node) + ": sweep." + clip(name) +
                      " must be a non-empty array of values.");
  SweepAxis axis{name, {}};
  if (axis.key_axis() && !find_spec(name)) unknown_key(where(node), name);
  std::size_t index = 0;
  for (const toml::node& value : *values) {
    ++index;
    if (axis.key_axis()) {
      axis.values.push_back({name + "=" + node_text(value), {{name, &value}}});
      continue;
    }
    const toml::table* group = value.as_table();
    if (!group)
      throw ConfigError(where(value) + ": sweep." + name +
                        " values must be tables of overrides, e.g. { label = \"A\", "
                        "\"method.kind\" = \"dcsgd\" }.");
    std::string label = name + "=" + std::to_string(index);
    Assignments assigns;
    for (auto&& [gkey, gnode] : *group) {
      const std::string gname(gkey.str());
      if (gname == "label") {
        if (!gnode.is_string()) throw ConfigError(where(gnode) + ": label must be a string.");
        label = *gnode.value<std::string>();
      } else {
        if (!find_spec(gname)) unknown_key(where(gnode), gname);
        assigns.push_back({gname, &gnode});
      }
    }
    axis.values.push_back({label, assigns});
  }
  return axis;
}

// How messages name an axis: sweep."noise.sigma" (a key axis) or sweep.methods.
std::string axis_name(const SweepAxis& axis) {
  return axis.key_axis() ? "sweep.\"" + axis.name + "\"" : "sweep." + axis.name;
}

// A key set by two axes would take both axes' values at every point, the later winning unseen.
void check_disjoint(const std::vector<SweepAxis>& axes) {
  std::map<std::string, std::pair<const SweepAxis*, const toml::node*>> first;  // key -> setter
  for (const SweepAxis& axis : axes) {
    std::map<std::string, const toml::node*> keys;  // this axis's keys, at their first value
    for (const auto& [label, assigns] : axis.values)
      for (const auto& [key, node] : assigns) keys.emplace(key, node);
    for (const auto& [key, node] : keys) {
      const auto [it, fresh] = first.emplace(key, std::pair{&axis, node});
      if (fresh) continue;
      throw ConfigError(where(*node) + ": " + axis_name(axis) + " sets " + key + ", which " +
                        axis_name(*it->second.first) + " (" + where(*it->second.second) +
                        ") sets too. Violated constraint: each key is swept by one axis only "
                        "(every point would take both values, the later axis's winning).");
    }
  }
}

// The cartesian product's size, before anything is expanded.
void check_size(const std::vector<SweepAxis>& axes, const toml::node& sweep) {
  double points = 1.0;  // a double: 30 axes of 1000 values must not overflow into a small count
  std::vector<std::string> lengths;
  for (const SweepAxis& axis : axes) {
    points *= static_cast<double>(axis.values.size());
    lengths.push_back(fmt::format("{} {}", axis_name(axis), axis.values.size()));
  }
  if (points <= static_cast<double>(kMaxSweepPoints)) return;
  const std::string count =
      points < 1e18 ? fmt::format("{:.0f}", points) : fmt::format("{:.3g}", points);
  throw ConfigError(where(sweep) + ": [sweep] has " + count + " points (" + join(lengths, " x ") +
                    "). Violated constraint: at most " + std::to_string(kMaxSweepPoints) +
                    " points (split the study into several files).");
}

}  // namespace

std::vector<SweepAxis> read_sweep_axes(const toml::node& sweep_node) {
  const toml::table* sweep = sweep_node.as_table();
  if (!sweep) throw ConfigError(where(sweep_node) + ": 'sweep' must be a table ([sweep]).");
  // toml++ tables iterate in key order; axes run in file order.
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (auto&& [key, node] : *sweep) entries.emplace_back(std::string(key.str()), &node);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& sa = a.second->source().begin;
    const auto& sb = b.second->source().begin;
    return sa.line != sb.line ? sa.line < sb.line : sa.column < sb.column;
  });
  std::vector<SweepAxis> axes;
  for (const auto& [name, node] : entries) axes.push_back(read_axis(name, *node));
  check_disjoint(axes);
  check_size(axes, sweep_node);
  return axes;
}

}  // namespace dcsde::detail
