#include "dcsde/compress/compressor.hpp"

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
  bool known = false;
  for (const auto& info : compressor_kinds()) known = known || info.kind == options.kind;
  if (!known) {
    std::string kinds;
    for (const auto& info : compressor_kinds()) kinds += (kinds.empty() ? "" : " | ") + info.kind;
    return violated(error, key, "kind", "'" + options.kind + "'", "kind is one of " + kinds);
  }
  const std::string& kind = options.kind;
  if ((kind == "rand_k" || kind == "top_k") && (options.k < 1 || options.k > dim)) {
    return violated(error, key, "k", std::to_string(options.k),
                    "1 <= k <= dim = " + std::to_string(dim));
  }
  if (kind == "bernoulli" && !(options.p > 0.0 && options.p <= 1.0)) {
    return violated(error, key, "p", std::to_string(options.p), "0 < p <= 1");
  }
  if (kind == "qsgd" && options.levels < 1) {
    return violated(error, key, "levels", std::to_string(options.levels), "levels >= 1");
  }
  if (kind == "natural_dithering" && (options.levels < 1 || options.levels > 1024)) {
    return violated(error, key, "levels", std::to_string(options.levels), "1 <= levels <= 1024");
  }
  return true;
}

}  // namespace dcsde
