#include <bit>
#include <cmath>

#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

// The message fields of one column: emit(j, negative, i) with level index i in [0, s], one
// uniform per coordinate. Levels ell_0 = 0, ell_i = 2^(i - s) (quantizers.hpp).
template <class Emit>
void dithering_fields(const double* x, Index d, int s, const detail::L2Norm& n, Philox& rng,
                      Emit&& emit) {
  const double to_first = detail::exp2i(s - 1);  // 1 / ell_1
  const double inv_scaled = 1.0 / n.scaled;      // finite: scaled >= 2^-480 (kernels.hpp)
  for (Index j = 0; j < d; ++j) {
    const double r = n.scaled_unit(x[j], inv_scaled, 1.0);
    const double u = rng.uniform();
    int i = 0;
    if (r >= 1.0) {
      i = s;
    } else if (r > 0.0) {  // also false for a NaN (invalid input)
      // 2^a <= r < 2^(a+1); the level 2^a has index a + s. For a normal r = (1 + f 2^-52) 2^a
      // the bit pattern gives a and the round-up probability (r - 2^a) / 2^a = f 2^-52.
      const auto bits = std::bit_cast<std::uint64_t>(r);
      const auto biased = static_cast<int>(bits >> 52);
      int lower;
      double up;
      if (biased != 0) {
        lower = biased - 1023 + s;
        up = static_cast<double>(bits & ((std::uint64_t{1} << 52) - 1)) * 0x1p-52;
      } else {  // subnormal r
        int e = 0;
        const double m = std::frexp(r, &e);  // r = m 2^e, m in [1/2, 1)
        lower = e - 1 + s;
        up = 2.0 * m - 1.0;
      }
      if (lower >= 1) {
        i = lower + (u < up ? 1 : 0);
      } else {
        i = u < r * to_first ? 1 : 0;  // between 0 and ell_1: r / ell_1, exact
      }
    }
    emit(j, x[j] < 0.0, i);
  }
}

// C(x)_j from the fields; shared by apply and decode, hence bit-identical.
inline double dithering_value(double norm, bool negative, int i, int s) {
  if (i == 0) return 0.0;
  const double m = norm * detail::exp2i(i - s);
  return negative ? -m : m;
}

}  // namespace

NaturalDitheringCompressor::NaturalDitheringCompressor(int levels) : s_(levels) {
  DCSDE_ASSERT(levels >= 1 && levels <= 1024, "natural_dithering needs 1 <= levels <= 1024");
}

std::optional<double> NaturalDitheringCompressor::omega(Index d) const {
  const double dd = static_cast<double>(d);
  return 0.125 + std::min(std::ldexp(std::sqrt(dd), 1 - s_), std::ldexp(dd, 2 * (1 - s_)));
}

void NaturalDitheringCompressor::apply(const ConstBatchRef& V, const DrawContext& ctx,
                                       BatchRef out) const {
  const int s = s_;
  detail::for_each_column(V, ctx, out, [s](const double* x, double* y, Index d, Philox& rng) {
    const detail::L2Norm n = detail::l2_norm(x, d);
    if (n.scaled == 0.0) {
      std::fill(y, y + d, 0.0);
      return;
    }
    dithering_fields(x, d, s, n, rng, [&](Index j, bool negative, int i) {
      y[j] = dithering_value(n.norm, negative, i, s);
    });
  });
}

void NaturalDitheringCompressor::encode(const ConstVectorRef& v, Philox& rng,
                                        std::vector<std::uint8_t>& bytes) const {
  const Index d = v.size();
  detail::check_dim(d);
  const int field_bits = 1 + bits_for_max(static_cast<std::uint64_t>(s_));
  BitWriter w(bytes, static_cast<std::int64_t>(message_bits(d)));
  write_header(w, WireTag::kNaturalDithering, d);
  const detail::L2Norm n = detail::l2_norm(v.data(), d);
  w.put_double(n.norm);
  if (n.scaled == 0.0) {
    for (Index j = 0; j < d; ++j) w.put(0, field_bits);
  } else {
    dithering_fields(v.data(), d, s_, n, rng, [&](Index, bool negative, int i) {
      w.put((static_cast<std::uint64_t>(i) << 1) | (negative ? 1u : 0u), field_bits);
    });
  }
  w.finish();
}

void NaturalDitheringCompressor::decode(std::span<const std::uint8_t> bytes, Index d,
                                        VectorRef out) const {
  detail::check_dim(d);
  DCSDE_ASSERT(out.size() == d, "out must have size d");
  const int field_bits = 1 + bits_for_max(static_cast<std::uint64_t>(s_));
  BitReader r(bytes, "natural_dithering");
  read_header(r, WireTag::kNaturalDithering, d);
  r.expect_total_bits(static_cast<std::int64_t>(message_bits(d)));
  const double norm = r.get_number("norm");
  if (std::signbit(norm)) r.fail("negative norm");
  for (Index j = 0; j < d; ++j) {
    const std::uint64_t field = r.get(field_bits, "sign and level index");
    const std::uint64_t i = field >> 1;
    if (i > static_cast<std::uint64_t>(s_)) {
      r.fail("level index " + std::to_string(i) + " > s = " + std::to_string(s_));
    }
    out[j] = dithering_value(norm, field & 1, static_cast<int>(i), s_);
  }
  r.expect_end();
}

double NaturalDitheringCompressor::message_bits(Index d) const {
  const std::int64_t field_bits = 1 + bits_for_max(static_cast<std::uint64_t>(s_));
  return static_cast<double>(padded_bits(kWireHeaderBits + 64 + d * field_bits));
}

}  // namespace dcsde
