// The compressor kinds: one spec per kind, with its traits and factory (STYLE.md "Key
// abstractions"; core/kind.hpp; no static self-registration).

#include <limits>

#include "dcsde/compress/compressor.hpp"
#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde {
namespace {

template <class C, class... Args>
std::unique_ptr<Compressor> build(Args... args) {
  return std::make_unique<C>(args...);
}

constexpr int kMaxNaturalDitheringLevels = 1024;  // 2^(1-s) stays a normal double
constexpr int kMaxInt = std::numeric_limits<int>::max();

// name, meaning, keys, max_levels, identity, sends_signs, sparse, law, factory.
const CompressorSpec kSpecs[] = {
    {CompressorKind::kIdentity, "identity", "no compression: C(x) = x, omega = 0", 0, 0, true,
     false, false, CompressionLaw::kIdentity,
     [](const CompressorOptions&) { return build<IdentityCompressor>(); }},
    {CompressorKind::kRandK, "rand_k",
     "k uniformly random coordinates scaled by d/k, omega = d/k - 1", kCompressorK, 0, false, false,
     true, CompressionLaw::kRandK,
     [](const CompressorOptions& o) { return build<RandKCompressor>(o.k); }},
    {CompressorKind::kBernoulli, "bernoulli",
     "each coordinate kept with probability p and scaled by 1/p, omega = 1/p - 1", kCompressorP, 0,
     false, false, false, CompressionLaw::kBernoulli,
     [](const CompressorOptions& o) { return build<BernoulliCompressor>(o.p); }},
    {CompressorKind::kQsgd, "qsgd",
     "QSGD random dithering with s levels of the l2 norm, omega = min(d/s^2, sqrt(d)/s)",
     kCompressorLevels, kMaxInt, false, false, false, CompressionLaw::kNone,
     [](const CompressorOptions& o) { return build<QsgdCompressor>(o.levels); }},
    {CompressorKind::kNatural, "natural",
     "natural compression: random rounding to a power of two, omega = 1/8", 0, 0, false, false,
     false, CompressionLaw::kNone,
     [](const CompressorOptions&) { return build<NaturalCompressor>(); }},
    {CompressorKind::kNaturalDithering, "natural_dithering",
     "natural dithering: random rounding of |x_j|/||x|| to {0, 2^(1-s), ..., 1/2, 1}",
     kCompressorLevels, kMaxNaturalDitheringLevels, false, false, false, CompressionLaw::kNone,
     [](const CompressorOptions& o) { return build<NaturalDitheringCompressor>(o.levels); }},
    {CompressorKind::kSign, "sign",
     "biased: C(x)_j = sign(x_j) in {-1, 0, 1}, 1 bit per coordinate", 0, 0, false, true, false,
     CompressionLaw::kNone, [](const CompressorOptions&) { return build<SignCompressor>(); }},
    {CompressorKind::kTopK, "top_k",
     "biased: the k coordinates of largest magnitude, deterministic", kCompressorK, 0, false, false,
     false, CompressionLaw::kNone,
     [](const CompressorOptions& o) { return build<TopKCompressor>(o.k); }},
};

}  // namespace

std::span<const CompressorSpec> kind_specs(CompressorKind) { return kSpecs; }

std::unique_ptr<Compressor> make_compressor(const CompressorOptions& options, Index dim) {
  std::string error, key;
  if (!compressor_options_valid(options, dim, &error, &key)) throw ConfigError(key, error);
  return spec_of(options.kind).make(options);
}

}  // namespace dcsde
