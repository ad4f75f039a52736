// Shared fixtures of the compressor tests: options per kind, test vectors, exact comparison.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "dcsde/compress/compressor.hpp"
#include "dcsde/core/rng.hpp"

namespace dcsde::testing {

inline constexpr std::uint64_t kSeed = 0x5eed'c0de'2024ULL;  // printed by failing tests

// Options that exercise each kind at dimension d; a kind not listed here gets the defaults.
// The names of every compressor kind, in table order.
inline std::vector<std::string> compressor_names() {
  std::vector<std::string> names;
  for (const CompressorSpec& spec : kind_specs(CompressorKind{})) names.emplace_back(spec.name);
  return names;
}

inline CompressorOptions test_options(const std::string& kind, Index d) {
  CompressorOptions o;
  o.kind = *kind_named<CompressorKind>(kind);
  o.k = std::max<Index>(1, d / 4);
  o.p = 0.3;
  o.levels = kind == "qsgd" ? 4 : 3;
  return o;
}

// Dimension 20, mixed magnitudes and signs, one zero, two exact powers of two.
inline Vector mixed_vector() {
  Vector x(20);
  x << 3.0, -0.5, 1e-3, -7.25, 0.0, 2.0, 0.15, -1.5, 40.0, -0.01, 5.5, -3.3, 0.7, 1.1, -2.2, 9.0,
      -0.3, 0.05, 12.0, -6.0;
  return x;
}

// Round-trip inputs of dimension d: kind 0 gaussian with magnitudes over 1e-3..1e3, 1 with
// zeros (+0 and -0), 2 with subnormals, 3 with huge values (up to the largest double), 4 all
// zero, 5 only subnormals, 6 powers of two.
inline constexpr int kVectorKinds = 7;
inline Vector wire_vector(int kind, Index d, std::uint64_t replica) {
  Philox g(kSeed, replica, 0, Purpose::kTest, static_cast<std::uint64_t>(kind));
  Vector x(d);
  constexpr double kMax = std::numeric_limits<double>::max();
  for (Index j = 0; j < d; ++j) {
    const double base = g.normal() * std::pow(10.0, 6.0 * g.uniform() - 3.0);
    switch (kind) {
      case 0:
        x[j] = base;
        break;
      case 1:
        x[j] = g.uniform() < 0.5 ? (g.uniform() < 0.5 ? 0.0 : -0.0) : base;
        break;
      case 2: {
        const double sub[] = {4.9e-324, -1e-310, 2.2e-308, -3 * 4.9e-324, 1.5e-320};
        x[j] = g.uniform() < 0.5 ? sub[g.below(5)] : base;
        break;
      }
      case 3: {
        const double huge[] = {1e300, -1.7e308, kMax, -kMax, 8.9e307};
        x[j] = g.uniform() < 0.5 ? huge[g.below(5)] : base;
        break;
      }
      case 4:
        x[j] = 0.0;
        break;
      case 5:
        x[j] = (g.uniform() < 0.5 ? -1.0 : 1.0) * 4.9e-324 * static_cast<double>(g.below(1000));
        break;
      default:
        x[j] =
            (g.uniform() < 0.5 ? -1.0 : 1.0) * std::ldexp(1.0, static_cast<int>(g.below(40)) - 20);
    }
  }
  return x;
}

inline bool bitwise_equal(const Vector& a, const Vector& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), static_cast<std::size_t>(a.size()) * sizeof(double)) == 0;
}

// C applied to the single column v with the stream of `ctx` column 0.
inline Vector apply_one(const Compressor& c, const Vector& v, const DrawContext& ctx) {
  Batch V = v;
  Batch out(v.size(), 1);
  c.apply(V, ctx, out);
  return out.col(0);
}

}  // namespace dcsde::testing
