#include <bit>
#include <numeric>
#include <vector>

#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"

namespace dcsde {
namespace {

// The index array of the partial Fisher-Yates shuffle. It holds the identity permutation between
// uses, so a subset depends only on the stream, never on earlier calls on this thread.
struct Shuffle {
  std::vector<std::uint32_t> perm;
  std::vector<std::uint32_t> swapped_with;
};
thread_local Shuffle tl_shuffle;

// Restores the identity permutation on scope exit, even if the caller's code throws.
class SubsetSample {
 public:
  SubsetSample(Index d, Index k, Philox& rng) : s_(tl_shuffle), k_(k) {
    const auto n = static_cast<std::size_t>(d);
    if (s_.perm.size() < n) {
      const std::size_t old = s_.perm.size();
      s_.perm.resize(n);
      std::iota(s_.perm.begin() + static_cast<std::ptrdiff_t>(old), s_.perm.end(),
                static_cast<std::uint32_t>(old));
    }
    if (s_.swapped_with.size() < static_cast<std::size_t>(k)) {
      s_.swapped_with.resize(static_cast<std::size_t>(k));
    }
    std::uint32_t* p = s_.perm.data();
    for (Index i = 0; i < k; ++i) {
      const auto j = static_cast<std::uint32_t>(static_cast<std::uint64_t>(i) +
                                                rng.below(static_cast<std::uint64_t>(d - i)));
      std::swap(p[i], p[j]);
      s_.swapped_with[static_cast<std::size_t>(i)] = j;
    }
  }
  ~SubsetSample() {
    std::uint32_t* p = s_.perm.data();
    for (Index i = k_ - 1; i >= 0; --i) std::swap(p[i], p[s_.swapped_with[i]]);
  }
  SubsetSample(const SubsetSample&) = delete;
  SubsetSample& operator=(const SubsetSample&) = delete;

  // The i-th selected index, i < k, in draw order.
  std::uint32_t operator[](Index i) const { return s_.perm[static_cast<std::size_t>(i)]; }

 private:
  Shuffle& s_;
  Index k_;
};

constexpr std::uint64_t kUnseen = 0;  // bit pattern of +0.0, what decode starts from
constexpr std::uint64_t kSeen = 0x7ff4dc5de0000001ULL;  // a NaN no decoded value can be

double scale_of(Index d, Index k) { return static_cast<double>(d) / static_cast<double>(k); }

}  // namespace

namespace detail {

void decode_indexed_values(BitReader& r, Index k, double scale, VectorRef out) {
  const Index d = out.size();
  const int b = index_bits(d);
  // Pass 1 validates the indices, marking each seen one in `out` itself (no scratch memory).
  out.setZero();
  const std::uint64_t first_index = r.bit_position();
  for (Index i = 0; i < k; ++i) {
    const std::uint64_t j = r.get(b, "index");
    if (j >= static_cast<std::uint64_t>(d)) {
      r.fail("index " + std::to_string(j) + " >= d = " + std::to_string(d));
    }
    double& slot = out[static_cast<Index>(j)];
    if (std::bit_cast<std::uint64_t>(slot) != kUnseen) {
      r.fail("index " + std::to_string(j) + " repeated");
    }
    slot = std::bit_cast<double>(kSeen);
  }
  // Pass 2 pairs each index with its value; every marked slot is overwritten.
  BitReader values = r;
  r.seek(first_index);
  for (Index i = 0; i < k; ++i) {
    const auto j = static_cast<Index>(r.get(b, "index"));
    out[j] = scale * values.get_number("value");
  }
  values.expect_end();
}

}  // namespace detail

RandKCompressor::RandKCompressor(Index k) : k_(k) { DCSDE_ASSERT(k >= 1, "need k >= 1"); }

std::optional<double> RandKCompressor::omega(Index d) const { return scale_of(d, k_) - 1.0; }

void RandKCompressor::apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const {
  DCSDE_ASSERT(k_ <= V.rows(), "rand_k needs k <= d");
  const double scale = scale_of(V.rows(), k_);
  detail::for_each_column(V, ctx, out, [&](const double* x, double* y, Index d, Philox& rng) {
    std::fill(y, y + d, 0.0);
    const SubsetSample subset(d, k_, rng);
    for (Index i = 0; i < k_; ++i) y[subset[i]] = scale * x[subset[i]];
  });
}

void RandKCompressor::covariance(const ConstVectorRef& v, Eigen::Ref<Eigen::MatrixXd> K) const {
  const Index d = v.size();
  DCSDE_ASSERT(K.rows() == d && K.cols() == d, "K must be d x d");
  DCSDE_ASSERT(k_ <= d, "rand_k needs k <= d");
  if (k_ == d) {
    K.setZero();
    return;
  }
  const double c = static_cast<double>(d - k_) / (static_cast<double>(k_) * (d - 1.0));
  K.noalias() = -c * v * v.transpose();
  K.diagonal() += (c * static_cast<double>(d)) * v.array().square().matrix();
}

void RandKCompressor::encode(const ConstVectorRef& v, Philox& rng,
                             std::vector<std::uint8_t>& bytes) const {
  const Index d = v.size();
  detail::check_dim(d);
  DCSDE_ASSERT(k_ <= d, "rand_k needs k <= d");
  const int b = index_bits(d);
  BitWriter w(bytes, static_cast<std::int64_t>(message_bits(d)));
  write_header(w, WireTag::kRandK, d);
  const SubsetSample subset(d, k_, rng);
  for (Index i = 0; i < k_; ++i) w.put(subset[i], b);
  for (Index i = 0; i < k_; ++i) w.put_double(v[subset[i]]);
  w.finish();
}

void RandKCompressor::decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const {
  detail::check_dim(d);
  DCSDE_ASSERT(out.size() == d && k_ <= d, "out must have size d >= k");
  BitReader r(bytes, "rand_k");
  read_header(r, WireTag::kRandK, d);
  r.expect_total_bits(static_cast<std::int64_t>(message_bits(d)));
  detail::decode_indexed_values(r, k_, scale_of(d, k_), out);
}

double RandKCompressor::message_bits(Index d) const {
  return static_cast<double>(padded_bits(kWireHeaderBits + k_ * (index_bits(d) + 64)));
}

}  // namespace dcsde
