#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "../core/simd.hpp"
#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

constexpr int kFlagBits = 8;

// +1, -1, or +0.0 for zero and NaN; written as selects of doubles so that the loops vectorize
// (an integer difference converted to double kept them scalar: 11% of workload (b)).
inline double sign_of(double t) { return t > 0.0 ? 1.0 : (t < 0.0 ? -1.0 : 0.0); }

// Bit words of a predicate over x_0..x_(n-1): bit i of words[w] is x_(64 w + i) < 0 (kNegative;
// false for -0.0 and NaN) or x_(64 w + i) == 0 (+0.0 and -0.0), the last word padded with zeros.
// The negative pass also returns whether any x_j is +-0.0, from the same loads (encode reads its
// input once when there are no zeros). Vector compares move 8 (AVX-512), 4 (AVX2) or 2 (SSE2, the
// x86-64 baseline) results into bits at once; GCC does not vectorize the one-predicate-at-a-time
// loop. Whole words go through vectors, the last partial word (< 64 coordinates) bit by bit.
template <bool kNegative>
bool tail_word(const double* x, Index n, std::uint64_t* word) {
  std::uint64_t w = 0;
  bool zeros = false;
  for (Index i = 0; i < n; ++i) {
    w |= std::uint64_t{kNegative ? x[i] < 0.0 : x[i] == 0.0} << i;
    zeros = zeros || x[i] == 0.0;
  }
  *word = w;
  return zeros;
}

template <bool kNegative>
__attribute__((target("avx512f"))) bool predicate_words_avx512(const double* x, Index n,
                                                               std::uint64_t* words) {
  const __m512d zero = _mm512_setzero_pd();
  __mmask8 zeros = 0;
  Index j = 0;
  for (; j + 64 <= n; j += 64) {
    std::uint64_t word = 0;
    for (int i = 0; i < 64; i += 8) {
      const __m512d v = _mm512_loadu_pd(x + j + i);
      const __mmask8 eq = _mm512_cmp_pd_mask(v, zero, _CMP_EQ_OQ);
      const __mmask8 bits = kNegative ? _mm512_cmp_pd_mask(v, zero, _CMP_LT_OQ) : eq;
      word |= std::uint64_t{bits} << i;
      zeros |= eq;
    }
    words[j / 64] = word;
  }
  const bool tail_zeros = j < n && tail_word<kNegative>(x + j, n - j, words + j / 64);
  return zeros != 0 || tail_zeros;
}

template <bool kNegative>
__attribute__((target("avx2"))) bool predicate_words_avx2(const double* x, Index n,
                                                          std::uint64_t* words) {
  const __m256d zero = _mm256_setzero_pd();
  __m256d zeros = zero;  // all ones in a lane that saw a +-0.0
  Index j = 0;
  for (; j + 64 <= n; j += 64) {
    std::uint64_t word = 0;
    for (int i = 0; i < 64; i += 4) {
      const __m256d v = _mm256_loadu_pd(x + j + i);
      const __m256d eq = _mm256_cmp_pd(v, zero, _CMP_EQ_OQ);
      const __m256d bits = kNegative ? _mm256_cmp_pd(v, zero, _CMP_LT_OQ) : eq;
      word |= static_cast<std::uint64_t>(_mm256_movemask_pd(bits)) << i;
      zeros = _mm256_or_pd(zeros, eq);
    }
    words[j / 64] = word;
  }
  const bool tail_zeros = j < n && tail_word<kNegative>(x + j, n - j, words + j / 64);
  return _mm256_movemask_pd(zeros) != 0 || tail_zeros;
}

// SSE2 compares give 2 results per vector; 8 vectors' results are narrowed to bytes (the low half
// of each 64-bit lane, then two saturating packs, which keep 0 and -1) and moved into 16 bits at
// once, instead of 2 bits and a variable shift per vector.
inline __m128i low_halves(__m128d a, __m128d b) {
  return _mm_castps_si128(
      _mm_shuffle_ps(_mm_castpd_ps(a), _mm_castpd_ps(b), _MM_SHUFFLE(2, 0, 2, 0)));
}

template <bool kNegative>
bool predicate_words_sse2(const double* x, Index n, std::uint64_t* words) {
  const __m128d zero = _mm_setzero_pd();
  __m128d zeros = zero;
  Index j = 0;
  for (; j + 64 <= n; j += 64) {
    std::uint64_t word = 0;
    for (int i = 0; i < 64; i += 16) {
      __m128i half[4];
      for (int k = 0; k < 4; ++k) {
        const __m128d u = _mm_loadu_pd(x + j + i + 4 * k);
        const __m128d v = _mm_loadu_pd(x + j + i + 4 * k + 2);
        const __m128d eu = _mm_cmpeq_pd(u, zero);
        const __m128d ev = _mm_cmpeq_pd(v, zero);
        half[k] = kNegative ? low_halves(_mm_cmplt_pd(u, zero), _mm_cmplt_pd(v, zero))
                            : low_halves(eu, ev);
        zeros = _mm_or_pd(zeros, _mm_or_pd(eu, ev));
      }
      const __m128i bytes =
          _mm_packs_epi16(_mm_packs_epi32(half[0], half[1]), _mm_packs_epi32(half[2], half[3]));
      word |= static_cast<std::uint64_t>(_mm_movemask_epi8(bytes)) << i;
    }
    words[j / 64] = word;
  }
  const bool tail_zeros = j < n && tail_word<kNegative>(x + j, n - j, words + j / 64);
  return _mm_movemask_pd(zeros) != 0 || tail_zeros;
}

// The kernel of the best instruction set (detail::cpu_simd_level: DCSDE_SIMD=sse2|avx2 selects a
// fallback, for tests and benchmarks; every level gives the same words).
using PredicateWords = bool (*)(const double*, Index, std::uint64_t*);
template <bool kNegative>
PredicateWords predicate_words() {
  static const PredicateWords kernel = [] {
    switch (detail::cpu_simd_level()) {
      case detail::SimdLevel::kAvx512:
        return &predicate_words_avx512<kNegative>;
      case detail::SimdLevel::kAvx2:
        return &predicate_words_avx2<kNegative>;
      default:
        return &predicate_words_sse2<kNegative>;
    }
  }();
  return kernel;
}

// The 8 doubles (+1 or -1) of each byte of sign bits without zeros: decode writes 8 coordinates
// per table row instead of one per bit. One row per cache line.
struct ByteSigns {
  alignas(64) double value[256][8];
};
constexpr ByteSigns make_byte_signs() {
  ByteSigns t{};
  for (int b = 0; b < 256; ++b)
    for (int i = 0; i < 8; ++i) t.value[b][i] = ((b >> i) & 1) != 0 ? -1.0 : 1.0;
  return t;
}
constexpr ByteSigns kByteSigns = make_byte_signs();

// Decodes d sign bits without zeros from r into o: +1, or -1 where the bit is set. Per byte of
// bits, one masked blend of 8 doubles (AVX-512: 1.5 times the table's rate at d = 1e6) or a copy
// of its table row (AVX2: two 32-byte moves; SSE2: memcpy).
__attribute__((target("avx512f"))) void expand_signs_avx512(BitReader& r, Index d, double* o) {
  const __m512d plus = _mm512_set1_pd(1.0);
  const __m512d minus = _mm512_set1_pd(-1.0);
  Index j = 0;
  for (; j + 64 <= d; j += 64, o += 64) {
    const std::uint64_t negative = r.get(64, "sign bits");
    for (int i = 0; i < 64; i += 8) {
      const auto m = static_cast<__mmask8>(negative >> i);
      _mm512_storeu_pd(o + i, _mm512_mask_blend_pd(m, plus, minus));
    }
  }
  if (j < d) {
    const int n = static_cast<int>(d - j);
    const std::uint64_t negative = r.get(n, "sign bits");
    for (int i = 0; i < n; ++i) o[i] = ((negative >> i) & 1) != 0 ? -1.0 : 1.0;
  }
}

__attribute__((target("avx2"))) void expand_signs_avx2(BitReader& r, Index d, double* o) {
  for (Index j = 0; j < d; j += 64, o += 64) {
    const int n = static_cast<int>(std::min<Index>(64, d - j));
    const std::uint64_t negative = r.get(n, "sign bits");
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      const double* row = kByteSigns.value[(negative >> i) & 0xff];
      _mm256_storeu_pd(o + i, _mm256_load_pd(row));
      _mm256_storeu_pd(o + i + 4, _mm256_load_pd(row + 4));
    }
    for (; i < n; ++i) o[i] = ((negative >> i) & 1) != 0 ? -1.0 : 1.0;
  }
}

void expand_signs_table(BitReader& r, Index d, double* o) {
  for (Index j = 0; j < d; j += 64, o += 64) {
    const int n = static_cast<int>(std::min<Index>(64, d - j));
    const std::uint64_t negative = r.get(n, "sign bits");
    int i = 0;
    for (; i + 8 <= n; i += 8)
      std::memcpy(o + i, kByteSigns.value[(negative >> i) & 0xff], 8 * sizeof(double));
    for (; i < n; ++i) o[i] = ((negative >> i) & 1) != 0 ? -1.0 : 1.0;
  }
}

using ExpandSigns = void (*)(BitReader&, Index, double*);
ExpandSigns expand_signs() {
  static const ExpandSigns kernel = [] {
    switch (detail::cpu_simd_level()) {
      case detail::SimdLevel::kAvx512:
        return &expand_signs_avx512;
      case detail::SimdLevel::kAvx2:
        return &expand_signs_avx2;
      default:
        return &expand_signs_table;
    }
  }();
  return kernel;
}

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
  // The zero flag is known only once the sign pass, which also looks for zeros, has seen every
  // coordinate: it is written as 0 and set after `finish`. It is the whole byte after the header.
  static_assert(kWireHeaderBits % 8 == 0 && kFlagBits == 8, "the zero flag is one whole byte");
  const std::size_t flag_byte = bytes.size() + kWireHeaderBits / 8;
  BitWriter w(bytes, kWireHeaderBits + kFlagBits + d);  // grows once more if there are zeros
  write_header(w, WireTag::kSign, d);
  w.put(0, kFlagBits);
  // The bit words in chunks of 64 words (4096 coordinates), on the stack.
  constexpr Index kChunk = 4096;
  std::uint64_t bits[kChunk / 64];
  auto put_words = [&](PredicateWords fill) {
    bool zeros = false;
    for (Index j0 = 0; j0 < d; j0 += kChunk) {
      const Index n = std::min(kChunk, d - j0);
      zeros = fill(x + j0, n, bits) || zeros;
      for (Index j = 0; j < n; j += 64)
        w.put(bits[j / 64], static_cast<int>(std::min<Index>(64, n - j)));
    }
    return zeros;
  };
  const bool zeros = put_words(predicate_words<true>());
  if (zeros) put_words(predicate_words<false>());
  w.finish();
  if (zeros) bytes[flag_byte] = 1;
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
  double* o = out.data();
  if (flag == 0) {  // no zeros
    expand_signs()(r, d, o);
    r.expect_end();
    return;
  }
  for (Index j = 0; j < d; j += 64, o += 64) {
    const int n = static_cast<int>(std::min<Index>(64, d - j));
    const std::uint64_t negative = r.get(n, "sign bits");
    const std::uint64_t zero = zeros.get(n, "zero mask");
    if ((negative & zero) != 0) r.fail("a coordinate is marked both negative and zero");
    int i = 0;
    // sign * (1 + z) / 2, z = -1 where the zero bit is set (the table of the zero byte): +1, -1,
    // or +0.0 for a zero (whose sign bit is 0), exactly.
    for (; i + 8 <= n; i += 8) {
      const double* s = kByteSigns.value[(negative >> i) & 0xff];
      const double* z = kByteSigns.value[(zero >> i) & 0xff];
      for (int l = 0; l < 8; ++l) o[i + l] = s[l] * (0.5 + 0.5 * z[l]);
    }
    for (; i < n; ++i) {  // (1 - 2 negative) (1 - zero)
      const auto neg = static_cast<int>((negative >> i) & 1);
      const auto zer = static_cast<int>((zero >> i) & 1);
      o[i] = static_cast<double>((1 - 2 * neg) * (1 - zer));
    }
  }
  zeros.expect_end();
}

double SignCompressor::message_bits(Index d) const {
  return static_cast<double>(kWireHeaderBits + kFlagBits + padded_bits(d));
}

}  // namespace dcsde
