#include <algorithm>
#include <bit>
#include <functional>
#include <vector>

#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

// Scratch of one call, reused: keys, a histogram, then the kept indices in increasing order.
struct Scratch {
  std::vector<std::uint64_t> keys;
  std::vector<std::uint32_t> histogram;
  std::vector<std::uint32_t> kept;
};
thread_local Scratch tl_scratch;

constexpr int kBucketShift = 48;  // 2^15 buckets: 11 exponent bits and 4 mantissa bits
constexpr std::size_t kBuckets = std::size_t{1} << 15;
constexpr Index kDirectBelow = Index{1} << 16;  // smaller d: nth_element on all keys

// Bit pattern of |t|: ordered like |t| for every non-NaN double (+inf largest).
inline std::uint64_t magnitude_key(double t) {
  return std::bit_cast<std::uint64_t>(t) & ~(std::uint64_t{1} << 63);
}

// The k-th largest key of x. For large d a histogram of the top key bits first finds the bucket
// that holds it, so nth_element runs on that bucket only (a radix select step).
std::uint64_t kth_largest_key(const double* x, Index d, Index k, Scratch& s) {
  std::uint64_t* keys = s.keys.data();
  Index n = d, rank = k - 1;  // find the element of this rank (0 = largest) among keys[0..n)
  if (d < kDirectBelow) {
    for (Index j = 0; j < d; ++j) keys[j] = magnitude_key(x[j]);
  } else {
    if (s.histogram.size() < kBuckets) s.histogram.resize(kBuckets);
    std::uint32_t* h = s.histogram.data();
    std::fill(h, h + kBuckets, 0u);
    for (Index j = 0; j < d; ++j) ++h[magnitude_key(x[j]) >> kBucketShift];
    std::size_t bucket = kBuckets;
    Index above = 0;
    while (above + h[bucket - 1] <= rank) above += h[--bucket];
    --bucket;
    n = 0;
    for (Index j = 0; j < d; ++j) {
      const std::uint64_t key = magnitude_key(x[j]);
      if (key >> kBucketShift == bucket) keys[n++] = key;
    }
    rank -= above;
  }
  std::nth_element(keys, keys + rank, keys + n, std::greater<>());
  return keys[rank];
}

// The indices of the k largest |x_j|, ties to the lower index, in increasing order: every key
// above the k-th largest key T, then the first (k - #{key > T}) keys equal to T.
const std::uint32_t* select_top_k(const double* x, Index d, Index k) {
  Scratch& s = tl_scratch;
  if (s.keys.size() < static_cast<std::size_t>(d)) s.keys.resize(static_cast<std::size_t>(d));
  if (s.kept.size() < static_cast<std::size_t>(k)) s.kept.resize(static_cast<std::size_t>(k));
  const std::uint64_t threshold = kth_largest_key(x, d, k, s);
  Index above = 0;
  for (Index j = 0; j < d; ++j) above += magnitude_key(x[j]) > threshold;
  Index ties = k - above, n = 0;
  for (Index j = 0; j < d; ++j) {
    const std::uint64_t key = magnitude_key(x[j]);
    if (key > threshold || (key == threshold && ties-- > 0)) {
      s.kept[static_cast<std::size_t>(n++)] = static_cast<std::uint32_t>(j);
    }
  }
  return s.kept.data();
}

}  // namespace

TopKCompressor::TopKCompressor(Index k) : k_(k) { DCSDE_ASSERT(k >= 1, "need k >= 1"); }

void TopKCompressor::apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const {
  DCSDE_ASSERT(k_ <= V.rows(), "top_k needs k <= d");
  detail::for_each_column(V, ctx, out, [&](const double* x, double* y, Index d, Philox&) {
    std::fill(y, y + d, 0.0);
    const std::uint32_t* kept = select_top_k(x, d, k_);
    for (Index i = 0; i < k_; ++i) y[kept[i]] = x[kept[i]];
  });
}

void TopKCompressor::encode(const ConstVectorRef& v, Philox&,
                            std::vector<std::uint8_t>& bytes) const {
  const Index d = v.size();
  detail::check_dim(d);
  DCSDE_ASSERT(k_ <= d, "top_k needs k <= d");
  // Increasing index order: the message bytes do not depend on nth_element's implementation.
  const std::uint32_t* kept = select_top_k(v.data(), d, k_);
  const int b = index_bits(d);
  BitWriter w(bytes, static_cast<std::int64_t>(message_bits(d)));
  write_header(w, WireTag::kTopK, d);
  for (Index i = 0; i < k_; ++i) w.put(kept[i], b);
  for (Index i = 0; i < k_; ++i) w.put_double(v[kept[i]]);
  w.finish();
}

void TopKCompressor::decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const {
  detail::check_dim(d);
  DCSDE_ASSERT(out.size() == d && k_ <= d, "out must have size d >= k");
  BitReader r(bytes, "top_k");
  read_header(r, WireTag::kTopK, d);
  r.expect_total_bits(static_cast<std::int64_t>(message_bits(d)));
  detail::decode_indexed_values(r, k_, 1.0, out);
}

double TopKCompressor::message_bits(Index d) const {
  return static_cast<double>(padded_bits(kWireHeaderBits + k_ * (index_bits(d) + 64)));
}

}  // namespace dcsde
