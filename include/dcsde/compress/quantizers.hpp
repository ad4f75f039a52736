// Quantizing compressors: qsgd, natural, natural_dithering (unbiased) and sign (biased).
// papers.md 3, table "Standard unbiased compressors" [STD]; sign: papers.md 2.3.
//
// Norms. qsgd and natural_dithering scale by ||x||_2, computed in a fixed summation order (the
// result does not depend on the address of x); when the sum of squares would underflow or
// overflow, x is first scaled by an exact power of two, so r_j = |x_j| / ||x|| stays accurate
// for subnormal and huge inputs. A norm above the largest double is sent as +inf; the nonzero
// outputs are then +-inf. The zero vector maps to zero and draws nothing.
//
// Randomness. Every unbiased rounding here draws one `uniform()` per coordinate, in order
// j = 0..d-1 (zero coordinates included), and rounds up when u < P(up); uniform() has 53-bit
// resolution, so P(up) is exact for the natural compressor.
#pragma once

#include "dcsde/compress/compressor.hpp"

namespace dcsde {

// qsgd (random dithering, Alistarh et al. 2017), s levels:                 [papers.md 3, STD]
//   r_j = s |x_j| / ||x||_2 in [0, s],  l = floor(r_j),
//   q_j = l + 1 with probability r_j - l, else l,
//   C(x)_j = ||x||_2 sign(x_j) q_j / s   (computed as norm * (double(q) / s); q = 0 gives +0).
//   omega = min(d / s^2, sqrt(d) / s) (a bound).
// Wire: header | binary64 norm | d x (1 sign bit (1 = negative), L-bit level q_j) | padding,
//   L = ceil(log2(s + 1)).  message_bits = pad8(48 + 64 + d (1 + L)).
// Decode rejects a NaN or negative norm and a level q > s.
class QsgdCompressor final : public Compressor {
 public:
  explicit QsgdCompressor(int levels);
  CompressorKind kind() const override { return CompressorKind::kQsgd; }
  bool unbiased() const override { return true; }
  std::optional<double> omega(Index d) const override;
  void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const override;
  void encode(const ConstVectorRef& v, Philox& rng,
              std::vector<std::uint8_t>& bytes) const override;
  void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const override;
  double message_bits(Index d) const override;
  int levels() const { return s_; }

 private:
  int s_;
};

// natural (natural compression, Horvath et al. 2019), per coordinate t:   [papers.md 3, STD]
//   0 and exact powers of two map to themselves; otherwise, with 2^a <= |t| < 2^(a+1),
//   C(t) = sign(t) 2^a with probability (2^(a+1) - |t|) / 2^a, else sign(t) 2^(a+1).
//   omega = 1/8 (a bound). Exponents come from the bit pattern (subnormals included, a down to
//   -1074); 2^1024 rounds to +-inf, and +-inf maps to itself. The sign of zero is kept.
// Wire: header | d x (1 sign bit, 12-bit exponent code e) | padding, where e = 0 means zero and
//   e = a + 1075 means 2^a, a in [-1074, 1024] (e in [1, 2099]; a = 1024 is inf).
//   message_bits = pad8(48 + 13 d).  Decode rejects e > 2099.
class NaturalCompressor final : public Compressor {
 public:
  CompressorKind kind() const override { return CompressorKind::kNatural; }
  bool unbiased() const override { return true; }
  std::optional<double> omega(Index) const override { return 0.125; }
  void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const override;
  void encode(const ConstVectorRef& v, Philox& rng,
              std::vector<std::uint8_t>& bytes) const override;
  void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const override;
  double message_bits(Index d) const override;
};

// natural_dithering (Horvath et al. 2019), s levels:                      [papers.md 3, STD]
//   r_j = |x_j| / ||x||_2 in [0, 1], rounded at random, unbiasedly, between the adjacent levels
//   of ell_0 = 0, ell_i = 2^(i - s) for i = 1..s, i.e. {0, 2^(1-s), ..., 1/2, 1}:
//   for ell_i <= r < ell_(i+1) go up with probability (r - ell_i) / (ell_(i+1) - ell_i);
//   C(x)_j = ||x||_2 sign(x_j) ell_(i_j)   (computed as norm * 2^(i - s); i = 0 gives +0).
//   omega = 1/8 + min(sqrt(d) / 2^(s-1), d / 2^(2(s-1))) (a bound).
// Wire: header | binary64 norm | d x (1 sign bit, L-bit level index i_j) | padding,
//   L = ceil(log2(s + 1)); index 0 is level 0, index i in [1, s] is level 2^(i - s).
//   message_bits = pad8(48 + 64 + d (1 + L)).
// Decode rejects a NaN or negative norm and an index i > s.
class NaturalDitheringCompressor final : public Compressor {
 public:
  explicit NaturalDitheringCompressor(int levels);
  CompressorKind kind() const override { return CompressorKind::kNaturalDithering; }
  bool unbiased() const override { return true; }
  std::optional<double> omega(Index d) const override;
  void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const override;
  void encode(const ConstVectorRef& v, Philox& rng,
              std::vector<std::uint8_t>& bytes) const override;
  void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const override;
  double message_bits(Index d) const override;
  int levels() const { return s_; }

 private:
  int s_;
};

// sign (biased, deterministic): C(x)_j = sign(x_j) in {-1, 0, +1}, sign(0) = 0.  [papers.md 2.3]
// No omega, no covariance, no randomness.
// Wire: header | 8-bit flag z (1 if some x_j == 0, else 0) | d sign bits (1 = negative; 0 for
//   zeros) | if z = 1: d-bit zero mask (1 = the output is 0) | padding.
//   Size: 56 + d (1 + z) bits rounded up to bytes; without zeros header + 1 + ceil(d/8) bytes.
//   message_bits(d) = 56 + pad8(d), the size without zeros (almost sure under continuous noise);
//   fixed_size() is false. Decode rejects z > 1 and a coordinate marked both negative and zero.
class SignCompressor final : public Compressor {
 public:
  CompressorKind kind() const override { return CompressorKind::kSign; }
  bool unbiased() const override { return false; }
  std::optional<double> omega(Index) const override { return std::nullopt; }
  void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const override;
  bool accumulates() const override { return true; }
  void accumulate(const ConstBatchRef& V, const DrawContext& ctx, BatchRef sum) const override;
  void encode(const ConstVectorRef& v, Philox& rng,
              std::vector<std::uint8_t>& bytes) const override;
  void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const override;
  double message_bits(Index d) const override;
  bool fixed_size() const override { return false; }
};

}  // namespace dcsde
