// [sweep] -> axes and their values.
#include "sweep.hpp"

#include <algorithm>

#include "dcsde/core/error.hpp"
#include "schema.hpp"

namespace dcsde::detail {
namespace {

SweepAxis read_axis(const std::string& name, const toml::node& node) {
  const toml::array* values = node.as_array();
  if (!values || values->empty())
    throw ConfigError(where(node) + ": sweep." + name + " must be a non-empty array of values.");
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
  return axes;
}

}  // namespace dcsde::detail
