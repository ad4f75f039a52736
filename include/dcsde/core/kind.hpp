// Kinds: each family (compressor, method, noise, schedule, SDE model, ...) declares its kinds
// once, as an enum and a table of specs in the header that owns the family (docs/architecture.md
// "Kinds"). A spec holds the kind's name, its one-line meaning and the traits the rest of the code
// asks (which keys it reads, whether it sends signs, ...). The parser turns a name into the enum
// with kind_named; past it, code asks spec_of(kind), never compares names.
//
// A family makes its table visible to these helpers with one function found by argument-dependent
// lookup, taking the enum as a tag:
//   std::span<const CompressorSpec> kind_specs(CompressorKind);
// where each spec has the members `kind`, `name` and `meaning`.
#pragma once

#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "dcsde/core/error.hpp"

namespace dcsde {

// The spec of `kind` in its family's table.
template <class Kind>
const auto& spec_of(Kind kind) {
  for (const auto& spec : kind_specs(Kind{}))
    if (spec.kind == kind) return spec;
  assertion_failed("spec_of(kind)", __FILE__, __LINE__, "a kind without a spec");
}

template <class Kind>
std::string_view kind_name(Kind kind) {
  return spec_of(kind).name;
}

// The kind called `name`, or nothing.
template <class Kind>
std::optional<Kind> kind_named(std::string_view name) {
  for (const auto& spec : kind_specs(Kind{}))
    if (spec.name == name) return spec.kind;
  return std::nullopt;
}

// The names of a family's kinds, in table order, e.g. "none | gaussian | student_t".
template <class Kind>
std::string kind_names(std::string_view separator = " | ") {
  std::string out;
  for (const auto& spec : kind_specs(Kind{})) {
    if (!out.empty()) out += separator;
    out += spec.name;
  }
  return out;
}

// A kind prints as its name (messages, test failures).
template <class Kind>
requires requires(Kind kind) { kind_specs(kind); }
std::ostream& operator<<(std::ostream& os, Kind kind) { return os << kind_name(kind); }

}  // namespace dcsde
