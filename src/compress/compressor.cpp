#include "dcsde/compress/compressor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "dcsde/core/error.hpp"

namespace dcsde {

void Compressor::covariance(const ConstVectorRef&, Eigen::Ref<Eigen::MatrixXd>) const {
  DCSDE_ASSERT(has_covariance(), "covariance() called on a compressor without a closed form");
}

double Compressor::kept_coordinates(Index, const DrawContext&, Index, Index, std::uint32_t*,
                                    Index*) const {
  DCSDE_ASSERT(sparse(), "kept_coordinates() called on a compressor that is not sparse");
  return 0.0;
}

void Compressor::accumulate(const ConstBatchRef&, const DrawContext&, BatchRef) const {
  DCSDE_ASSERT(accumulates(), "accumulate() called on a compressor that does not accumulate");
}

namespace {

bool violated(std::string* error, std::string* error_key, const std::string& key,
              const std::string& value, const std::string& constraint) {
  if (error != nullptr) {
    *error = "compressor." + key + " = " + value + ". Violated constraint: " + constraint + ".";
  }
  if (error_key != nullptr) *error_key = "compressor." + key;
  return false;
}

}  // namespace

bool compressor_options_valid(const CompressorOptions& options, Index dim, std::string* error,
                              std::string* key) {
  if (dim < 1 || dim > Index{0xffffffff}) {
    return violated(error, key, "dimension", std::to_string(dim), "1 <= d < 2^32");
  }
  const CompressorSpec& spec = spec_of(options.kind);
  if ((spec.keys & kCompressorK) && (options.k < 1 || options.k > dim)) {
    return violated(error, key, "k", std::to_string(options.k),
                    "1 <= k <= dim = " + std::to_string(dim));
  }
  if ((spec.keys & kCompressorP) && !(options.p > 0.0 && options.p <= 1.0)) {
    return violated(error, key, "p", fmt::format("{}", options.p), "0 < p <= 1");
  }
  if ((spec.keys & kCompressorLevels) && (options.levels < 1 || options.levels > spec.max_levels)) {
    return violated(
        error, key, "levels", std::to_string(options.levels),
        "1 <= levels <= " + std::to_string(spec.max_levels) + " for " + std::string(spec.name));
  }
  return true;
}

std::optional<double> keep_probability(const CompressorOptions& options, Index dim) {
  switch (spec_of(options.kind).law) {
    case CompressionLaw::kIdentity:
      return 1.0;
    case CompressionLaw::kBernoulli:
      return options.p;
    case CompressionLaw::kRandK:
      return static_cast<double>(options.k) / static_cast<double>(dim);
    case CompressionLaw::kNone:
      break;
  }
  return std::nullopt;
}

std::optional<CompressorOptions> with_omega(const CompressorOptions& options, Index dim,
                                            double omega) {
  CompressorOptions out = options;
  switch (spec_of(options.kind).law) {
    case CompressionLaw::kRandK: {
      const double k = static_cast<double>(dim) / (1.0 + omega);
      const double rounded = std::round(k);
      if (rounded < 1.0 || std::abs(k - rounded) > 1e-9 * std::max(1.0, k))
        throw ConfigError("compressor.k", fmt::format("compressor.k = d / (1 + omega) = {:.6g} is "
                                                      "not a positive integer; choose factors "
                                                      "that give one",
                                                      k));
      out.k = static_cast<Index>(rounded);
      return out;
    }
    case CompressionLaw::kBernoulli:
      out.p = 1.0 / (1.0 + omega);
      return out;
    default:
      return std::nullopt;
  }
}

CompressionLaw common_law(std::span<const CompressorKind> agents) {
  CompressionLaw law = CompressionLaw::kIdentity;
  for (const CompressorKind kind : agents) {
    const CompressionLaw own = spec_of(kind).law;
    if (own == CompressionLaw::kNone) return CompressionLaw::kNone;
    if (own == CompressionLaw::kIdentity || own == law) continue;
    if (law != CompressionLaw::kIdentity) return CompressionLaw::kNone;
    law = own;
  }
  return law;
}

}  // namespace dcsde
