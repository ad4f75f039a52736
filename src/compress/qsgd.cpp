#include <algorithm>
#include <cmath>
#include <cstdint>

#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

// The message fields of one column: emit(j, negative, q) for j = 0..d-1, one uniform each.
// Shared by apply and encode so that both draw the same numbers.
template <class Emit>
void qsgd_fields(const double* x, Index d, int s, const detail::L2Norm& n, Philox& rng,
                 Emit&& emit) {
  const double sd = s;
  const double s_over_scaled = sd / n.scaled;  // finite: scaled >= 2^-480 (kernels.hpp)
  detail::for_each_uniform(rng, d, [&](Index j, double u) {
    const double r = n.scaled_unit(x[j], s_over_scaled, sd);
    // floor(r) for r in [0, s], s < 2^31: the truncation, exact (std::floor is a libm call on
    // the x86-64 baseline, which has no roundsd).
    const auto l = static_cast<std::uint32_t>(static_cast<std::int32_t>(r));
    const auto q = l + (u < r - static_cast<double>(l) ? 1u : 0u);
    emit(j, x[j] < 0.0, q);
  });
}

// The level q_j of qsgd_fields when ||x|| needs no rescaling (L2Norm::shift == 0), in doubles and
// without libm calls, so that the loops below vectorize (cloned per instruction set: the build
// targets baseline x86-64). floor(r) < 2^31 is exact in a double, so the bits equal the general
// path's (tests/compress: decode(encode) == apply). no-trapping-math lets GCC compute both sides
// of the selects (it will not speculate a division that might trap otherwise); it changes no
// result, as nothing here reads the FP exception flags.
__attribute__((always_inline, optimize("no-trapping-math"))) inline double unscaled_level(
    double x, double u, double s_over_scaled, double s) {
  const double a = std::fabs(x) * s_over_scaled;
  const double clamped = a < s ? a : s;
  const double r = a > 0.0 ? clamped : 0.0;  // NaN: 0, as L2Norm::scaled_unit
  const auto l = static_cast<double>(static_cast<std::int32_t>(r));
  return l + (u < r - l ? 1.0 : 0.0);
}

// apply's values: norm (q / s) with x's sign, +0.0 for q = 0 (qsgd_value).
__attribute__((target_clones("avx2", "default"), optimize("no-trapping-math"))) void
qsgd_apply_unscaled(const double* x, const double* u, Index n, double norm, double s_over_scaled,
                    double s, double* y) {
  for (Index j = 0; j < n; ++j) {
    const double q = unscaled_level(x[j], u[j], s_over_scaled, s);
    const double m = norm * (q / s);
    const double signed_m = x[j] < 0.0 ? -m : m;
    y[j] = q == 0.0 ? 0.0 : signed_m;
  }
}

// encode's fields: q << 1 | (x < 0).
__attribute__((target_clones("avx2", "default"), optimize("no-trapping-math"))) void
qsgd_fields_unscaled(const double* x, const double* u, Index n, double s_over_scaled, double s,
                     std::uint32_t* field) {
  for (Index j = 0; j < n; ++j) {
    const double q = unscaled_level(x[j], u[j], s_over_scaled, s);
    const auto level = static_cast<std::uint32_t>(static_cast<std::int32_t>(q));
    field[j] = (level << 1) | (x[j] < 0.0 ? 1u : 0u);
  }
}

// C(x)_j from the fields; shared by apply and decode, hence bit-identical.
inline double qsgd_value(double norm, bool negative, std::uint64_t q, double s) {
  if (q == 0) return 0.0;
  const double m = norm * (static_cast<double>(q) / s);
  return negative ? -m : m;
}

}  // namespace

QsgdCompressor::QsgdCompressor(int levels) : s_(levels) {
  DCSDE_ASSERT(levels >= 1, "qsgd needs levels >= 1");
}

std::optional<double> QsgdCompressor::omega(Index d) const {
  const double dd = static_cast<double>(d), s = s_;
  return std::min(dd / (s * s), std::sqrt(dd) / s);
}

void QsgdCompressor::apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const {
  const int s = s_;
  detail::for_each_column(V, ctx, out, [s](const double* x, double* y, Index d, Philox& rng) {
    const detail::L2Norm n = detail::l2_norm(x, d);
    if (n.scaled == 0.0) {
      std::fill(y, y + d, 0.0);
      return;
    }
    if (n.shift == 0) {
      const double sd = s, s_over_scaled = sd / n.scaled;
      constexpr Index kChunk = 256;
      double u[kChunk];
      for (Index j0 = 0; j0 < d; j0 += kChunk) {  // the uniforms of for_each_uniform
        const Index m = std::min(kChunk, d - j0);
        rng.uniforms(u, m);
        qsgd_apply_unscaled(x + j0, u, m, n.norm, s_over_scaled, sd, y + j0);
      }
      return;
    }
    qsgd_fields(x, d, s, n, rng, [&](Index j, bool negative, std::uint32_t q) {
      y[j] = qsgd_value(n.norm, negative, q, s);
    });
  });
}

void QsgdCompressor::encode(const ConstVectorRef& v, Philox& rng,
                            std::vector<std::uint8_t>& bytes) const {
  const Index d = v.size();
  detail::check_dim(d);
  const int field_bits = 1 + bits_for_max(static_cast<std::uint64_t>(s_));
  BitWriter w(bytes, static_cast<std::int64_t>(message_bits(d)));
  write_header(w, WireTag::kQsgd, d);
  const detail::L2Norm n = detail::l2_norm(v.data(), d);
  w.put_double(n.norm);
  if (n.scaled == 0.0) {
    for (Index j = 0; j < d; ++j) w.put(0, field_bits);
  } else if (n.shift == 0) {
    // The fields of qsgd_fields, vectorized, then written `per_word` at a time (the writer is
    // least significant bit first, so one put of the packed fields writes the same bits).
    const double sd = s_, s_over_scaled = sd / n.scaled;
    const int per_word = 64 / field_bits;
    constexpr Index kChunk = 256;
    double u[kChunk];
    std::uint32_t field[kChunk];
    for (Index j0 = 0; j0 < d; j0 += kChunk) {
      const Index m = std::min(kChunk, d - j0);
      rng.uniforms(u, m);
      qsgd_fields_unscaled(v.data() + j0, u, m, s_over_scaled, sd, field);
      for (Index i = 0; i < m; i += per_word) {
        const int count = static_cast<int>(std::min<Index>(per_word, m - i));
        std::uint64_t word = 0;
        for (int t = 0; t < count; ++t) word |= std::uint64_t{field[i + t]} << (t * field_bits);
        w.put(word, count * field_bits);
      }
    }
  } else {
    qsgd_fields(v.data(), d, s_, n, rng, [&](Index, bool negative, std::uint32_t q) {
      w.put((std::uint64_t{q} << 1) | (negative ? 1u : 0u), field_bits);
    });
  }
  w.finish();
}

void QsgdCompressor::decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const {
  detail::check_dim(d);
  DCSDE_ASSERT(out.size() == d, "out must have size d");
  const int field_bits = 1 + bits_for_max(static_cast<std::uint64_t>(s_));
  BitReader r(bytes, "qsgd");
  read_header(r, WireTag::kQsgd, d);
  r.expect_total_bits(static_cast<std::int64_t>(message_bits(d)));
  const double norm = r.get_number("norm");
  if (std::signbit(norm)) r.fail("negative norm");
  const auto s = static_cast<std::uint64_t>(s_);
  // The fields per_word at a time (the message's size was checked above, so no read runs out);
  // a group holding a level > s is read again field by field, which reports that field.
  const int per_word = 64 / field_bits;
  const std::uint64_t mask = (std::uint64_t{1} << field_bits) - 1;
  for (Index j0 = 0; j0 < d; j0 += per_word) {
    const int count = static_cast<int>(std::min<Index>(per_word, d - j0));
    const BitReader group_start = r;
    const std::uint64_t word = r.get(count * field_bits, "sign and level");
    bool bad = false;
    for (int t = 0; t < count; ++t) {
      const std::uint64_t field = (word >> (t * field_bits)) & mask;
      const std::uint64_t q = field >> 1;
      bad = bad || q > s;
      out[j0 + t] = qsgd_value(norm, field & 1, q, s_);
    }
    if (!bad) continue;
    r = group_start;
    for (int t = 0; t < count; ++t) {
      const std::uint64_t q = r.get(field_bits, "sign and level") >> 1;
      if (q > s) r.fail("level " + std::to_string(q) + " > s = " + std::to_string(s_));
    }
  }
  r.expect_end();
}

double QsgdCompressor::message_bits(Index d) const {
  const std::int64_t field_bits = 1 + bits_for_max(static_cast<std::uint64_t>(s_));
  return static_cast<double>(padded_bits(kWireHeaderBits + 64 + d * field_bits));
}

}  // namespace dcsde
