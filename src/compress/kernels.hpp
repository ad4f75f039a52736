// Private helpers of the compressor kernels (not installed).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "dcsde/compress/compressor.hpp"
#include "dcsde/compress/wire.hpp"
#include "dcsde/core/error.hpp"

namespace dcsde::detail {

// Runs `column(x, y, d, rng)` for every column: x = V.col(c), y = out.col(c), both contiguous,
// rng = ctx.stream(c, Purpose::kCompression).
template <class Column>
void for_each_column(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out,
                     Column&& column) {
  DCSDE_ASSERT(out.rows() == V.rows() && out.cols() == V.cols(), "out must have V's shape");
  DCSDE_ASSERT(V.rows() >= 1 && V.rows() <= Index{0xffffffff}, "need 1 <= d < 2^32");
  for (Index c = 0; c < V.cols(); ++c) {
    Philox rng = ctx.stream(c, Purpose::kCompression);
    column(V.col(c).data(), out.col(c).data(), V.rows(), rng);
  }
}

// Calls f(j, u_j) for j = 0..d-1 with u_j the j-th uniform of rng: what d calls of
// rng.uniform() give, drawn in vectorized chunks (one scalar Philox block per two uniforms made
// the per-coordinate compressors run at the scalar generator's rate).
template <class F>
void for_each_uniform(Philox& rng, Index d, F&& f) {
  constexpr Index kChunk = 256;
  double u[kChunk];
  for (Index j0 = 0; j0 < d; j0 += kChunk) {
    const Index n = std::min(kChunk, d - j0);
    rng.uniforms(u, n);
    for (Index j = 0; j < n; ++j) f(j0 + j, u[j]);
  }
}

inline void check_dim(Index d) {
  DCSDE_ASSERT(d >= 1 && d <= Index{0xffffffff}, "need 1 <= d < 2^32");
}

// ||x||_2 with a fixed summation order and no spurious underflow or overflow (quantizers.hpp).
struct L2Norm {
  double norm = 0.0;    // ||x||_2, +inf when it exceeds the largest double
  double scaled = 0.0;  // ||x 2^-shift||_2, finite and > 0 unless x == 0
  int shift = 0;        // 0 on the fast path

  // s |x_j| / ||x|| clamped to [0, s], given s_over_scaled = s / scaled (a NaN, from invalid
  // input, gives 0).
  double scaled_unit(double xj, double s_over_scaled, double s) const {
    double a = std::fabs(xj);
    if (shift != 0) a = std::ldexp(a, -shift);
    const double r = a * s_over_scaled;
    return r > 0.0 ? std::min(r, s) : 0.0;
  }
};

inline L2Norm l2_norm(const double* x, Index d) {
  // Four interleaved accumulators: a fixed order that the compiler can still pipeline.
  double s[4] = {0, 0, 0, 0};
  Index j = 0;
  for (; j + 4 <= d; j += 4) {
    for (int l = 0; l < 4; ++l) s[l] += x[j + l] * x[j + l];
  }
  for (; j < d; ++j) s[0] += x[j] * x[j];
  const double ss = (s[0] + s[1]) + (s[2] + s[3]);
  L2Norm n;
  // 2^-960: below it the squares of the larger coordinates may have lost bits to underflow.
  if (ss >= 0x1p-960 && ss <= 0x1p+1020) {
    n.norm = n.scaled = std::sqrt(ss);
    return n;
  }
  double m = 0.0;
  for (Index i = 0; i < d; ++i) m = std::max(m, std::fabs(x[i]));
  if (m == 0.0) return n;
  std::frexp(m, &n.shift);  // m = f 2^shift, f in [1/2, 1): the scaled coordinates are < 1
  if (n.shift == 0) n.shift = 1;
  double t[4] = {0, 0, 0, 0};
  j = 0;
  for (; j + 4 <= d; j += 4) {
    for (int l = 0; l < 4; ++l) {
      const double y = std::ldexp(x[j + l], -n.shift);
      t[l] += y * y;
    }
  }
  for (; j < d; ++j) {
    const double y = std::ldexp(x[j], -n.shift);
    t[0] += y * y;
  }
  n.scaled = std::sqrt((t[0] + t[1]) + (t[2] + t[3]));
  n.norm = std::ldexp(n.scaled, n.shift);
  return n;
}

// 2^e, exactly, for e in [-1074, 1024] (1024 gives +inf); built from the bit pattern.
inline double exp2i(int e) {
  const std::uint64_t bits =
      e >= -1022 ? static_cast<std::uint64_t>(e + 1023) << 52 : std::uint64_t{1} << (e + 1074);
  return std::bit_cast<double>(bits);
}

// Payload of rand_k and top_k after the header: k b-bit indices, then k binary64 values;
// out = sum_i scale * value_i e_(index_i). Rejects an index >= d, a repeated index, a NaN value
// and anything after the message (sparsifiers.hpp). Defined in rand_k.cpp.
void decode_indexed_values(BitReader& r, Index k, double scale, VectorRef out);

}  // namespace dcsde::detail
