#include <bit>
#include <vector>

#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

// Keep mask of one encode call, bit j of word j / 64 = b_j (reused across calls).
thread_local std::vector<std::uint64_t> tl_mask;

constexpr int kCountBits = 32;

}  // namespace

BernoulliCompressor::BernoulliCompressor(double p) : p_(p) {
  DCSDE_ASSERT(p > 0.0 && p <= 1.0, "bernoulli needs 0 < p <= 1");
}

void BernoulliCompressor::apply(const ConstBatchRef& V, const DrawContext& ctx,
                                BatchRef out) const {
  const double p = p_;
  detail::for_each_column(V, ctx, out, [p](const double* x, double* y, Index d, Philox& rng) {
    detail::for_each_uniform(rng, d, [&](Index j, double u) { y[j] = u < p ? x[j] / p : 0.0; });
  });
}

void BernoulliCompressor::covariance(const ConstVectorRef& v, Eigen::Ref<Eigen::MatrixXd> K) const {
  DCSDE_ASSERT(K.rows() == v.size() && K.cols() == v.size(), "K must be d x d");
  K.setZero();
  K.diagonal() = (1.0 / p_ - 1.0) * v.array().square().matrix();
}

void BernoulliCompressor::encode(const ConstVectorRef& v, Philox& rng,
                                 std::vector<std::uint8_t>& bytes) const {
  const Index d = v.size();
  detail::check_dim(d);
  const auto words = static_cast<std::size_t>((d + 63) / 64);
  if (tl_mask.size() < words) tl_mask.resize(words);
  std::uint64_t* mask = tl_mask.data();
  std::fill(mask, mask + words, 0);
  std::int64_t m = 0;
  detail::for_each_uniform(rng, d, [&](Index j, double u) {  // the draws of apply
    const bool keep = u < p_;
    mask[j / 64] |= std::uint64_t{keep} << (j % 64);
    m += keep;
  });
  BitWriter w(bytes, kWireHeaderBits + kCountBits + d + 64 * m);
  write_header(w, WireTag::kBernoulli, d);
  w.put(static_cast<std::uint64_t>(m), kCountBits);
  for (std::size_t i = 0; i < words; ++i) {
    w.put(mask[i], static_cast<int>(std::min<Index>(64, d - static_cast<Index>(64 * i))));
  }
  for (std::size_t i = 0; i < words; ++i) {
    for (std::uint64_t bits = mask[i]; bits != 0; bits &= bits - 1) {
      w.put_double(v[static_cast<Index>(64 * i) + std::countr_zero(bits)]);
    }
  }
  w.finish();
}

void BernoulliCompressor::decode(std::span<const std::uint8_t> bytes, Index d,
                                 VectorRef out) const {
  detail::check_dim(d);
  DCSDE_ASSERT(out.size() == d, "out must have size d");
  BitReader r(bytes, "bernoulli");
  read_header(r, WireTag::kBernoulli, d);
  const auto m = static_cast<std::int64_t>(r.get(kCountBits, "kept count m"));
  if (m > d) r.fail("kept count m = " + std::to_string(m) + " > d = " + std::to_string(d));
  r.expect_total_bits(kWireHeaderBits + kCountBits + d + 64 * m);

  const std::uint64_t mask_start = r.bit_position();
  std::int64_t ones = 0;
  for (Index j = 0; j < d; j += 64) {
    ones += std::popcount(r.get(static_cast<int>(std::min<Index>(64, d - j)), "keep mask"));
  }
  if (ones != m) {
    r.seek(mask_start);
    r.get(0, "keep mask");
    r.fail("keep mask has " + std::to_string(ones) + " ones, expected m = " + std::to_string(m));
  }
  BitReader values = r;  // positioned after the mask
  r.seek(mask_start);
  for (Index j = 0; j < d; j += 64) {
    const int n = static_cast<int>(std::min<Index>(64, d - j));
    const std::uint64_t bits = r.get(n, "keep mask");
    for (int i = 0; i < n; ++i) {
      out[j + i] = (bits >> i) & 1 ? values.get_number("value") / p_ : 0.0;
    }
  }
  values.expect_end();
}

double BernoulliCompressor::message_bits(Index d) const {
  return static_cast<double>(kWireHeaderBits + kCountBits + padded_bits(d)) +
         64.0 * p_ * static_cast<double>(d);
}

}  // namespace dcsde
