#include <cmath>

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
  for (Index j = 0; j < d; ++j) {
    const std::uint64_t field = r.get(field_bits, "sign and level");
    const std::uint64_t q = field >> 1;
    if (q > s) r.fail("level " + std::to_string(q) + " > s = " + std::to_string(s_));
    out[j] = qsgd_value(norm, field & 1, q, s_);
  }
  r.expect_end();
}

double QsgdCompressor::message_bits(Index d) const {
  const std::int64_t field_bits = 1 + bits_for_max(static_cast<std::uint64_t>(s_));
  return static_cast<double>(padded_bits(kWireHeaderBits + 64 + d * field_bits));
}

}  // namespace dcsde
