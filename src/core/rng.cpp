// Philox streams: the scalar and bulk draws of the three sequences (rng.hpp). The bulk work is
// done by the vectorized kernels of rng_simd.cpp.
#include "dcsde/core/rng.hpp"

#include <algorithm>

namespace dcsde {

std::uint64_t Philox::fold_high_halves(std::uint64_t key, std::uint64_t step,
                                       std::uint64_t replica) {
  using G = r123::Philox4x32;
  const G::ctr_type ctr = {{static_cast<std::uint32_t>(step >> 32),
                            static_cast<std::uint32_t>(replica >> 32), 0xffffffffu, 0xffffffffu}};
  const G::ctr_type x = G()(
      ctr, G::key_type{{static_cast<std::uint32_t>(key), static_cast<std::uint32_t>(key >> 32)}});
  return x.v[0] | (std::uint64_t{x.v[1]} << 32);
}

void Philox::words(std::uint64_t* out, Index n) {
  Index i = 0;
  while (i < n && pos_ < 2) out[i++] = buf_[pos_++];
  const Index blocks = (n - i) / 2;
  if (blocks > 0) {
    detail::rng_kernels().words(key_, detail::kWordSequence, block_, out + i, blocks);
    block_ += static_cast<std::uint32_t>(blocks);
    i += 2 * blocks;
  }
  if (i < n) out[i] = next_u64();
}

void Philox::discard(std::uint64_t n) {
  while (n > 0 && pos_ < 2) {
    ++pos_;
    --n;
  }
  block_ += static_cast<std::uint32_t>(n / 2);
  if (n % 2 != 0) {
    refill();
    pos_ = 1;
  }
}

void Philox::uniforms(double* out, Index n) {
  Index i = 0;
  while (i < n && pos_ < 2) out[i++] = to_uniform(buf_[pos_++]);
  const Index blocks = (n - i) / 2;
  if (blocks > 0) {
    detail::rng_kernels().uniforms(key_, detail::kWordSequence, block_, out + i, blocks);
    block_ += static_cast<std::uint32_t>(blocks);
    i += 2 * blocks;
  }
  if (i < n) out[i] = uniform();
}

double Philox::normal() {
  double z;
  normals(&z, 1);
  return z;
}

void Philox::normals(double* out, Index n) {
  if (n <= 0) return;
  Index i = 0;
  if (normal_next_ & 1) {  // the second half of a pair computed by the previous call
    out[i++] = normal_spare_;
    ++normal_next_;
  }
  const detail::RngKernels& k = detail::rng_kernels();
  const Index pairs = (n - i) / 2;
  if (pairs > 0) {
    k.normals(key_, static_cast<std::uint32_t>(normal_next_ / 2), out + i, pairs);
    normal_next_ += 2 * static_cast<std::uint64_t>(pairs);
    i += 2 * pairs;
  }
  if (i < n) {  // one more: compute its pair, keep the second half
    double pair[2];
    k.normals(key_, static_cast<std::uint32_t>(normal_next_ / 2), pair, 1);
    out[i] = pair[0];
    normal_spare_ = pair[1];
    ++normal_next_;
  }
}

void Philox::normals_at(const std::uint32_t* index, Index n, double* out) const {
  if (n > 0) detail::rng_kernels().normals_at(key_, nullptr, index, out, n);
}

double Philox::student_t(double nu) {
  double t;
  student_ts(&t, 1, nu);
  return t;
}

void Philox::student_ts(double* out, Index n, double nu) {
  if (n <= 0) return;
  detail::rng_kernels().student_ts(key_, nu, t_next_, out, n);
  t_next_ += static_cast<std::uint32_t>(n);
}

void Philox::student_ts_at(const std::uint32_t* index, Index n, double nu, double* out) const {
  if (n > 0) detail::rng_kernels().student_ts_at(key_, nu, nullptr, index, out, n);
}

namespace {

// The draws of many columns: the streams of columns c share key and counter words 1 and 3 and
// differ in word 2 = low 32 bits of first_replica + c, unless a replica or the step needs more
// than 32 bits (their high halves are folded into the key): then column by column.
template <class Kernel, class One>
void columns_at(const DrawContext& ctx, Purpose purpose, const std::uint32_t* column,
                const std::uint32_t* index, Index n, double* out, Kernel&& kernel, One&& one) {
  if (n <= 0) return;
  std::uint32_t last = 0;
  for (Index i = 0; i < n; ++i) last = std::max(last, column[i]);
  if (((ctx.first_replica + last) >> 32) != 0 || (ctx.step >> 32) != 0) {
    for (Index i = 0; i < n; ++i) one(ctx.stream(column[i], purpose), index + i, out + i);
    return;
  }
  const Philox first = ctx.stream(0, purpose);
  constexpr Index kChunk = 256;
  std::uint32_t c2[kChunk];
  for (Index i0 = 0; i0 < n; i0 += kChunk) {
    const Index m = std::min(kChunk, n - i0);
    for (Index i = 0; i < m; ++i)
      c2[i] = static_cast<std::uint32_t>(ctx.first_replica + column[i0 + i]);
    kernel(first.key(), c2, index + i0, out + i0, m);
  }
}

}  // namespace

void DrawContext::words_columns(Purpose purpose, Index c0, Index c1, Index w,
                                std::uint64_t* out) const {
  const Index cols = c1 - c0;
  if (cols <= 0 || w <= 0) return;
  if (((first_replica + static_cast<std::uint64_t>(c1 - 1)) >> 32) != 0 || (step >> 32) != 0) {
    std::uint64_t word[2];
    for (Index c = c0; c < c1; ++c) {
      Philox rng = stream(c, purpose);
      for (Index b = 0; b < w / 2; ++b) {
        rng.words(word, 2);
        out[b * 2 * cols + 2 * (c - c0)] = word[0];
        out[b * 2 * cols + 2 * (c - c0) + 1] = word[1];
      }
    }
    return;
  }
  if (cols == 1) {  // the layout is the plain sequence: one bulk call, not one call per block
    stream(c0, purpose).words(out, w);
    return;
  }
  const detail::StreamKey key = stream(c0, purpose).key();
  for (Index b = 0; b < w / 2; ++b) {
    detail::rng_kernels().replica_blocks(key, detail::kWordSequence, static_cast<std::uint32_t>(b),
                                         out + b * 2 * cols, cols);
  }
}

void DrawContext::normals_at(Purpose purpose, const std::uint32_t* column,
                             const std::uint32_t* index, Index n, double* out) const {
  columns_at(
      *this, purpose, column, index, n, out,
      [](const detail::StreamKey& key, const std::uint32_t* c2, const std::uint32_t* idx, double* o,
         Index m) { detail::rng_kernels().normals_at(key, c2, idx, o, m); },
      [](const Philox& rng, const std::uint32_t* idx, double* o) { rng.normals_at(idx, 1, o); });
}

void DrawContext::student_ts_at(Purpose purpose, double nu, const std::uint32_t* column,
                                const std::uint32_t* index, Index n, double* out) const {
  columns_at(
      *this, purpose, column, index, n, out,
      [nu](const detail::StreamKey& key, const std::uint32_t* c2, const std::uint32_t* idx,
           double* o, Index m) { detail::rng_kernels().student_ts_at(key, nu, c2, idx, o, m); },
      [nu](const Philox& rng, const std::uint32_t* idx, double* o) {
        rng.student_ts_at(idx, 1, nu, o);
      });
}

}  // namespace dcsde
