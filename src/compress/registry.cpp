// The compressor kinds: an explicit name -> meaning + factory table (STYLE.md "Key
// abstractions"; no static self-registration).

#include "dcsde/compress/compressor.hpp"
#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

using Factory = std::unique_ptr<Compressor> (*)(const CompressorOptions&);

struct Entry {
  CompressorKindInfo info;
  Factory make;
};

const std::vector<Entry>& table() {
  static const std::vector<Entry> entries = {
      {{"identity", "no compression: C(x) = x, omega = 0"},
       [](const CompressorOptions&) -> std::unique_ptr<Compressor> {
         return std::make_unique<IdentityCompressor>();
       }},
      {{"rand_k", "k uniformly random coordinates scaled by d/k, omega = d/k - 1"},
       [](const CompressorOptions& o) -> std::unique_ptr<Compressor> {
         return std::make_unique<RandKCompressor>(o.k);
       }},
      {{"bernoulli", "each coordinate kept with probability p and scaled by 1/p, omega = 1/p - 1"},
       [](const CompressorOptions& o) -> std::unique_ptr<Compressor> {
         return std::make_unique<BernoulliCompressor>(o.p);
       }},
      {{"qsgd",
        "QSGD random dithering with s levels of the l2 norm, omega = min(d/s^2, sqrt(d)/s)"},
       [](const CompressorOptions& o) -> std::unique_ptr<Compressor> {
         return std::make_unique<QsgdCompressor>(o.levels);
       }},
      {{"natural", "natural compression: random rounding to a power of two, omega = 1/8"},
       [](const CompressorOptions&) -> std::unique_ptr<Compressor> {
         return std::make_unique<NaturalCompressor>();
       }},
      {{"natural_dithering",
        "natural dithering: random rounding of |x_j|/||x|| to {0, 2^(1-s), ..., 1/2, 1}"},
       [](const CompressorOptions& o) -> std::unique_ptr<Compressor> {
         return std::make_unique<NaturalDitheringCompressor>(o.levels);
       }},
      {{"sign", "biased: C(x)_j = sign(x_j) in {-1, 0, 1}, 1 bit per coordinate"},
       [](const CompressorOptions&) -> std::unique_ptr<Compressor> {
         return std::make_unique<SignCompressor>();
       }},
      {{"top_k", "biased: the k coordinates of largest magnitude, deterministic"},
       [](const CompressorOptions& o) -> std::unique_ptr<Compressor> {
         return std::make_unique<TopKCompressor>(o.k);
       }},
  };
  return entries;
}

}  // namespace

const std::vector<CompressorKindInfo>& compressor_kinds() {
  static const std::vector<CompressorKindInfo> kinds = [] {
    std::vector<CompressorKindInfo> out;
    for (const auto& e : table()) out.push_back(e.info);
    return out;
  }();
  return kinds;
}

std::unique_ptr<Compressor> make_compressor(const CompressorOptions& options, Index dim) {
  std::string error, key;
  if (!compressor_options_valid(options, dim, &error, &key)) throw ConfigError(key, error);
  for (const auto& e : table()) {
    if (e.info.kind == options.kind) return e.make(options);
  }
  throw ConfigError("compressor.kind",
                    "compressor.kind = '" + options.kind + "': unknown");  // unreachable
}

}  // namespace dcsde
