#include <algorithm>

#include "dcsde/compress/quantizers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

constexpr int kFlagBits = 8;

// +1, -1, or +0.0 for zero and NaN; written as selects of doubles so that the loops vectorize
// (an integer difference converted to double kept them scalar: 11% of workload (b)).
inline double sign_of(double t) { return t > 0.0 ? 1.0 : (t < 0.0 ? -1.0 : 0.0); }

// Bits [j, j + n) of the predicate `pred(x_j)`, n <= 64, bit i = pred(x_(j+i)).
template <class Pred>
std::uint64_t pack(const double* x, Index j, int n, Pred pred) {
  std::uint64_t word = 0;
  for (int i = 0; i < n; ++i) word |= std::uint64_t{pred(x[j + i])} << i;
  return word;
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
  const bool zeros = std::any_of(x, x + d, [](double t) { return t == 0.0; });
  BitWriter w(bytes, kWireHeaderBits + kFlagBits + d * (zeros ? 2 : 1));
  write_header(w, WireTag::kSign, d);
  w.put(zeros ? 1 : 0, kFlagBits);
  for (Index j = 0; j < d; j += 64) {
    const int n = static_cast<int>(std::min<Index>(64, d - j));
    w.put(pack(x, j, n, [](double t) { return t < 0.0; }), n);
  }
  if (zeros) {
    for (Index j = 0; j < d; j += 64) {
      const int n = static_cast<int>(std::min<Index>(64, d - j));
      w.put(pack(x, j, n, [](double t) { return t == 0.0; }), n);
    }
  }
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
    const std::uint64_t zero = flag == 1 ? zeros.get(n, "zero mask") : 0;
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
