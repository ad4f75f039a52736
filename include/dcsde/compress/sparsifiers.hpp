// Sparsifying compressors: identity, rand_k, bernoulli (unbiased) and top_k (biased).
// papers.md 3, table "Standard unbiased compressors" [STD], covariances [DERIVED].
//
// Each works for any dimension d with 1 <= d < 2^32 (and k <= d for rand_k and top_k). Wire
// layouts follow the 48-bit header of wire.hpp; b = ceil(log2 d) is the width of an index, and
// every message is padded with zero bits to a whole byte.
#pragma once

#include "dcsde/compress/compressor.hpp"

namespace dcsde {

// identity: C(x) = x.  omega = 0, K(v) = 0.  No randomness drawn.
// Wire: header | d x binary64 x_j.                         message_bits = 48 + 64 d.
class IdentityCompressor final : public Compressor {
 public:
  CompressorKind kind() const override { return CompressorKind::kIdentity; }
  bool unbiased() const override { return true; }
  std::optional<double> omega(Index) const override { return 0.0; }
  void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const override;
  bool has_covariance() const override { return true; }
  void covariance(const ConstVectorRef& v, Eigen::Ref<Eigen::MatrixXd> K) const override;
  void encode(const ConstVectorRef& v, Philox& rng,
              std::vector<std::uint8_t>& bytes) const override;
  void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const override;
  double message_bits(Index d) const override;
};

// rand_k: S a uniform random k-subset of {0..d-1},
//   C(x) = (d/k) sum_{j in S} x_j e_j                                       [papers.md 3, STD]
//   omega = d/k - 1 (E||C(x) - x||^2 = omega ||x||^2 exactly),
//   K(v) = c (d diag(v^2) - v v^T),  c = (d - k) / (k (d - 1))  (K = 0 when k = d) [DERIVED]
//   so tr K(v) = omega ||v||^2.
// Sampling: Floyd's algorithm (Bentley & Floyd 1987): for j = d-k..d-1, t = below(j + 1), keep t
// unless already kept, else keep j; membership in a thread-local flag array cleared afterwards:
// exactly k draws and O(k) work, no allocation after warm-up, and the subset depends on the
// stream only.
// The output is (d/k) * x_j computed as `scale * x_j` with scale = double(d) / double(k).
// Wire: header | k x b-bit index (in draw order) | k x binary64 x_j (the original values;
// the decoder multiplies by the same scale).  message_bits = pad8(48 + k b + 64 k).
// Decode rejects an index >= d and a repeated index.
class RandKCompressor final : public Compressor {
 public:
  explicit RandKCompressor(Index k);
  CompressorKind kind() const override { return CompressorKind::kRandK; }
  bool unbiased() const override { return true; }
  std::optional<double> omega(Index d) const override;
  void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const override;
  bool sparse() const override { return true; }
  double kept_coordinates(Index d, const DrawContext& ctx, Index c0, Index c1, std::uint32_t* kept,
                          Index* count) const override;
  bool has_covariance() const override { return true; }
  void covariance(const ConstVectorRef& v, Eigen::Ref<Eigen::MatrixXd> K) const override;
  void encode(const ConstVectorRef& v, Philox& rng,
              std::vector<std::uint8_t>& bytes) const override;
  void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const override;
  double message_bits(Index d) const override;
  Index k() const { return k_; }

 private:
  Index k_;
};

// bernoulli: b_j ~ Bernoulli(p) independent, b_j = [uniform() < p], one draw per coordinate in
// order j = 0..d-1,
//   C(x)_j = b_j x_j / p                                                    [papers.md 3, STD]
//   omega = 1/p - 1 (equality), K(v) = (1/p - 1) diag(v^2)                  [DERIVED]
// Wire (variable size, m = number of kept coordinates):
//   header | 32-bit m | d-bit keep mask (bit j = b_j) | m x binary64 x_j of the kept j, in
//   increasing j | zero padding to a byte.  size = 80 + d + 64 m, rounded up to 8 bits.
// message_bits(d) is the expectation 80 + pad8(d) + 64 p d (the padding does not depend on m).
// Decode rejects m > d and a mask whose popcount is not m.
class BernoulliCompressor final : public Compressor {
 public:
  explicit BernoulliCompressor(double p);
  CompressorKind kind() const override { return CompressorKind::kBernoulli; }
  bool unbiased() const override { return true; }
  std::optional<double> omega(Index) const override { return 1.0 / p_ - 1.0; }
  void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const override;
  bool has_covariance() const override { return true; }
  void covariance(const ConstVectorRef& v, Eigen::Ref<Eigen::MatrixXd> K) const override;
  void encode(const ConstVectorRef& v, Philox& rng,
              std::vector<std::uint8_t>& bytes) const override;
  void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const override;
  double message_bits(Index d) const override;
  bool fixed_size() const override { return false; }
  double p() const { return p_; }

 private:
  double p_;
};

// top_k (biased, deterministic): keep the k coordinates of largest |x_j|, zero the rest
//   C(x) = sum_{j in T_k(x)} x_j e_j.                                       [STD]
// Order: |x_a| before |x_b| when larger, ties broken by the lower index (a total order; +inf
// counts as largest). The k-th largest magnitude is found by std::nth_element, for d >= 2^16
// inside the one bucket of a histogram of the top key bits that holds it.
// No omega, no covariance, no randomness.
// Wire: header | k x b-bit index, increasing | k x binary64 x_j.
//   message_bits = pad8(48 + k b + 64 k).  Decode rejects an index >= d and a repeated index.
class TopKCompressor final : public Compressor {
 public:
  explicit TopKCompressor(Index k);
  CompressorKind kind() const override { return CompressorKind::kTopK; }
  bool unbiased() const override { return false; }
  std::optional<double> omega(Index) const override { return std::nullopt; }
  void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const override;
  void encode(const ConstVectorRef& v, Philox& rng,
              std::vector<std::uint8_t>& bytes) const override;
  void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const override;
  double message_bits(Index d) const override;
  Index k() const { return k_; }

 private:
  Index k_;
};

}  // namespace dcsde
