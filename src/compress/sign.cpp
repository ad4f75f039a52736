#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

constexpr int kFlagBits = 8;

// +1, -1, or +0.0 for zero and NaN; written as selects of doubles so that the loops vectorize
// (an integer difference converted to double kept them scalar: 11% of workload (b)).
inline double sign_of(double t) { return t > 0.0 ? 1.0 : (t < 0.0 ? -1.0 : 0.0); }

// The words of bits of `pred` over x_0..x_(d-1): bit i of words[w] is pred(x_(64 w + i)), the
// last word padded with zeros. Vector compares move 2 (SSE2, the x86-64 baseline) or 4 (AVX2)
// results into bits at once; GCC does not vectorize the one-predicate-at-a-time loop.
template <int kCmp>
__attribute__((target("avx2"))) void predicate_words_avx2(const double* x, Index d,
                                                          std::uint64_t* words) {
  const __m256d zero = _mm256_setzero_pd();
  for (Index j = 0; j < d; j += 64) {
    const Index n = std::min<Index>(64, d - j);
    std::uint64_t word = 0;
    Index i = 0;
    for (; i + 4 <= n; i += 4) {
      const __m256d v = _mm256_loadu_pd(x + j + i);
      word |= static_cast<std::uint64_t>(_mm256_movemask_pd(_mm256_cmp_pd(v, zero, kCmp))) << i;
    }
    for (; i < n; ++i)
      word |= std::uint64_t{kCmp == _CMP_LT_OQ ? x[j + i] < 0.0 : x[j + i] == 0.0} << i;
    words[j / 64] = word;
  }
}

template <int kCmp>
void predicate_words_sse2(const double* x, Index d, std::uint64_t* words) {
  const __m128d zero = _mm_setzero_pd();
  for (Index j = 0; j < d; j += 64) {
    const Index n = std::min<Index>(64, d - j);
    std::uint64_t word = 0;
    Index i = 0;
    for (; i + 2 <= n; i += 2) {
      const __m128d v = _mm_loadu_pd(x + j + i);
      const __m128d c = kCmp == _CMP_LT_OQ ? _mm_cmplt_pd(v, zero) : _mm_cmpeq_pd(v, zero);
      word |= static_cast<std::uint64_t>(_mm_movemask_pd(c)) << i;
    }
    if (i < n) word |= std::uint64_t{kCmp == _CMP_LT_OQ ? x[j + i] < 0.0 : x[j + i] == 0.0} << i;
    words[j / 64] = word;
  }
}

// x_j < 0 (not -0.0, not NaN), or x_j == 0 (+0.0 and -0.0), as bit words.
template <int kCmp>
void predicate_words(const double* x, Index d, std::uint64_t* words) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) {
    predicate_words_avx2<kCmp>(x, d, words);
  } else {
    predicate_words_sse2<kCmp>(x, d, words);
  }
}

// Whether any x_j is +-0.0: an OR over the whole vector, no early exit, so that it vectorizes.
__attribute__((target_clones("avx2", "default"))) bool any_zero(const double* x, Index d) {
  int zeros = 0;
  for (Index j = 0; j < d; ++j) zeros |= x[j] == 0.0 ? 1 : 0;
  return zeros != 0;
}

// The 8 doubles (+1 or -1) of each byte of sign bits without zeros: decode writes 8 coordinates
// per table row instead of one per bit.
struct ByteSigns {
  double value[256][8];
  ByteSigns() {
    for (int b = 0; b < 256; ++b)
      for (int i = 0; i < 8; ++i) value[b][i] = ((b >> i) & 1) != 0 ? -1.0 : 1.0;
  }
};
const ByteSigns kByteSigns;

// sum_j += sign(x_j), j < d. Cloned per instruction set (the build targets baseline x86-64):
// with AVX2 the loop moves 4 doubles per instruction instead of 2.
__attribute__((target_clones("avx2", "default"))) void add_signs(const double* x, double* sum,
                                                                 Index d) {
  for (Index j = 0; j < d; ++j) sum[j] += sign_of(x[j]);
}

}  // namespace

void SignCompressor::apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const {
  detail::for_each_column(V, ctx, out, [](const double* x, double* y, Index d, Philox&) {
    for (Index j = 0; j < d; ++j) y[j] = sign_of(x[j]);
  });
}

void SignCompressor::accumulate(const ConstBatchRef& V, const DrawContext& ctx,
                                BatchRef sum) const {
  detail::for_each_column(V, ctx, sum,
                          [](const double* x, double* y, Index d, Philox&) { add_signs(x, y, d); });
}

void SignCompressor::encode(const ConstVectorRef& v, Philox&,
                            std::vector<std::uint8_t>& bytes) const {
  const Index d = v.size();
  detail::check_dim(d);
  const double* x = v.data();
  const bool zeros = any_zero(x, d);
  BitWriter w(bytes, kWireHeaderBits + kFlagBits + d * (zeros ? 2 : 1));
  write_header(w, WireTag::kSign, d);
  w.put(zeros ? 1 : 0, kFlagBits);
  // The bit words in chunks of 64 words (4096 coordinates), on the stack.
  constexpr Index kChunk = 4096;
  std::uint64_t bits[kChunk / 64];
  auto put_words = [&](auto fill) {
    for (Index j0 = 0; j0 < d; j0 += kChunk) {
      const Index n = std::min(kChunk, d - j0);
      fill(x + j0, n, bits);
      for (Index j = 0; j < n; j += 64)
        w.put(bits[j / 64], static_cast<int>(std::min<Index>(64, n - j)));
    }
  };
  put_words(predicate_words<_CMP_LT_OQ>);
  if (zeros) put_words(predicate_words<_CMP_EQ_OQ>);
  w.finish();
}

void SignCompressor::decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const {
  detail::check_dim(d);
  DCSDE_ASSERT(out.size() == d, "out must have size d");
  BitReader r(bytes, "sign");
  read_header(r, WireTag::kSign, d);
  const std::uint64_t flag = r.get(kFlagBits, "zero flag");
  if (flag > 1) r.fail("zero flag " + std::to_string(flag) + ", expected 0 or 1");
  r.expect_total_bits(kWireHeaderBits + kFlagBits + d * (flag == 1 ? 2 : 1));
  BitReader zeros = r;
  zeros.seek(r.bit_position() + static_cast<std::uint64_t>(d));
  for (Index j = 0; j < d; j += 64) {
    const int n = static_cast<int>(std::min<Index>(64, d - j));
    const std::uint64_t negative = r.get(n, "sign bits");
    if (flag == 0) {  // no zeros: 8 coordinates per table row
      int i = 0;
      for (; i + 8 <= n; i += 8)
        std::memcpy(&out[j + i], kByteSigns.value[(negative >> i) & 0xff], 8 * sizeof(double));
      for (; i < n; ++i) out[j + i] = ((negative >> i) & 1) != 0 ? -1.0 : 1.0;
      continue;
    }
    const std::uint64_t zero = zeros.get(n, "zero mask");
    if ((negative & zero) != 0) r.fail("a coordinate is marked both negative and zero");
    for (int i = 0; i < n; ++i) {  // (1 - 2 negative) (1 - zero), branch-free
      const auto neg = static_cast<int>((negative >> i) & 1);
      const auto zer = static_cast<int>((zero >> i) & 1);
      out[j + i] = static_cast<double>((1 - 2 * neg) * (1 - zer));
    }
  }
  (flag == 1 ? zeros : r).expect_end();
}

double SignCompressor::message_bits(Index d) const {
  return static_cast<double>(kWireHeaderBits + kFlagBits + padded_bits(d));
}

}  // namespace dcsde
