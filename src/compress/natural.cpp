#include <bit>

#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;
constexpr std::uint64_t kFraction = (std::uint64_t{1} << 52) - 1;
constexpr std::uint64_t kMaxCode = 2099;  // a = 1024: +-inf
constexpr int kCodeBits = 12;

// The exponent code of C(t) (quantizers.hpp), drawing one uniform. Works on the bit pattern,
// so the probabilities are exact, subnormals included: for a normal |t| = (1 + f 2^-52) 2^a
// the round-up probability is f 2^-52; for a subnormal |t| = f 2^-1074 with top bit h of f it
// is (f - 2^h) / 2^h.
inline std::uint64_t natural_code(std::uint64_t magnitude, Philox& rng) {
  const double u = rng.uniform();
  if (magnitude == 0) return 0;
  const std::uint64_t biased = magnitude >> 52, f = magnitude & kFraction;
  if (biased == 0x7ff) return kMaxCode;  // +-inf maps to itself (NaN is invalid input)
  if (biased != 0) {
    return biased + 52 + (u < static_cast<double>(f) * 0x1p-52 ? 1 : 0);
  }
  const int h = std::bit_width(f) - 1;  // 2^h <= f < 2^(h+1), a = h - 1074
  const auto low = std::uint64_t{1} << h;
  const double up = static_cast<double>(f - low) / static_cast<double>(low);
  return static_cast<std::uint64_t>(h) + 1 + (u < up ? 1 : 0);
}

// sign * 2^(code - 1075), or a signed zero for code 0; built from the bit pattern.
inline double natural_value(std::uint64_t negative, std::uint64_t code) {
  std::uint64_t bits = 0;
  if (code > 52) {
    bits = (code - 52) << 52;  // normal powers of two, and code 2099 -> exponent 0x7ff: inf
  } else if (code > 0) {
    bits = std::uint64_t{1} << (code - 1);  // subnormal powers of two
  }
  return std::bit_cast<double>(bits | (negative << 63));
}

template <class Emit>  // emit(j, negative, code)
void natural_fields(const double* x, Index d, Philox& rng, Emit&& emit) {
  for (Index j = 0; j < d; ++j) {
    const auto bits = std::bit_cast<std::uint64_t>(x[j]);
    emit(j, bits >> 63, natural_code(bits & ~kSignBit, rng));
  }
}

}  // namespace

void NaturalCompressor::apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const {
  detail::for_each_column(V, ctx, out, [](const double* x, double* y, Index d, Philox& rng) {
    natural_fields(x, d, rng, [y](Index j, std::uint64_t negative, std::uint64_t code) {
      y[j] = natural_value(negative, code);
    });
  });
}

void NaturalCompressor::encode(const ConstVectorRef& v, Philox& rng,
                               std::vector<std::uint8_t>& bytes) const {
  const Index d = v.size();
  detail::check_dim(d);
  BitWriter w(bytes, static_cast<std::int64_t>(message_bits(d)));
  write_header(w, WireTag::kNatural, d);
  natural_fields(v.data(), d, rng, [&w](Index, std::uint64_t negative, std::uint64_t code) {
    w.put((code << 1) | negative, 1 + kCodeBits);
  });
  w.finish();
}

void NaturalCompressor::decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const {
  detail::check_dim(d);
  DCSDE_ASSERT(out.size() == d, "out must have size d");
  BitReader r(bytes, "natural");
  read_header(r, WireTag::kNatural, d);
  r.expect_total_bits(static_cast<std::int64_t>(message_bits(d)));
  for (Index j = 0; j < d; ++j) {
    const std::uint64_t field = r.get(1 + kCodeBits, "sign and exponent code");
    const std::uint64_t code = field >> 1;
    if (code > kMaxCode) r.fail("exponent code " + std::to_string(code) + " > 2099");
    out[j] = natural_value(field & 1, code);
  }
  r.expect_end();
}

double NaturalCompressor::message_bits(Index d) const {
  return static_cast<double>(padded_bits(kWireHeaderBits + d * (1 + kCodeBits)));
}

}  // namespace dcsde
