// Compressor: what one agent does to its stochastic gradient before sending it (papers.md 3).
//
// An unbiased (omega-)compressor satisfies  E C(x) = x  and  E||C(x) - x||^2 <= omega ||x||^2.
// Biased compressors (sign, top-k) report `unbiased() == false` and no omega.
//
// Every compressor has a real wire format: `encode` compresses one vector and writes the message
// that would cross the network; `decode` reads it back. The contract, checked for every
// registered compressor by tests/compress/compressor_contract_test.cpp:
//   * decode(encode(v, rng)) == apply(v, rng') bit for bit, when rng and rng' are the same stream;
//   * the encoded size in bits equals `message_bits(d)` for fixed-size formats, and
//     `header + payload` as documented for variable-size ones (bernoulli, sign);
//   * decode of truncated or malformed bytes throws WireFormatError, never reads out of bounds.
//
// Inputs must not contain NaN (+-inf is allowed where a compressor says so). The kinds and their
// math: sparsifiers.hpp (identity, rand_k, bernoulli, top_k), quantizers.hpp (qsgd, natural,
// natural_dithering, sign); the wire format: wire.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dcsde/core/rng.hpp"
#include "dcsde/core/types.hpp"

namespace dcsde {

class Compressor {
 public:
  virtual ~Compressor() = default;

  virtual std::string name() const = 0;
  virtual bool unbiased() const = 0;
  // The variance parameter omega for vectors of dimension d; empty for biased compressors.
  virtual std::optional<double> omega(Index d) const = 0;

  // out.col(c) = C(V.col(c)) with the randomness of stream ctx.stream(c, Purpose::kCompression).
  // V and out may not alias. One virtual call per block; no heap allocation after warm-up.
  virtual void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const = 0;
  // Compressors that can add their messages straight into a running sum: for them accumulates()
  // is true, and accumulate(V, ctx, sum) does sum += apply(V, ctx) with the same bits, without
  // writing the message (sign: one read of V and one update of the sum, where apply and a sum
  // take two passes more). A method's aggregation uses it (method/method.hpp). Calling it when
  // accumulates() is false is a programmer error (DCSDE_ASSERT).
  virtual bool accumulates() const { return false; }
  virtual void accumulate(const ConstBatchRef& V, const DrawContext& ctx, BatchRef sum) const;

  // Sparse compressors: C(v)_j = scale v_j for j in a random subset S that does not depend on v,
  // 0 elsewhere (rand_k). For them sparse() is true, and kept_coordinates draws the S of columns
  // c0 .. c1 - 1 of a block of d rows, each from ctx.stream(c, Purpose::kCompression) exactly as
  // apply() draws it: writes them column after column to kept (room for (c1 - c0) d), their
  // sizes to count[c - c0], and returns the scale. So a method can draw the noise of the kept
  // coordinates only and add scale v_j where apply() would have written it: the same bits for
  // a fraction of the random numbers (method/method.hpp). Calling kept_coordinates when
  // sparse() is false is a programmer error (DCSDE_ASSERT).
  virtual bool sparse() const { return false; }
  virtual double kept_coordinates(Index d, const DrawContext& ctx, Index c0, Index c1,
                                  std::uint32_t* kept, Index* count) const;

  // Exact compression covariance K(v) = Cov_xi C(v) (papers.md 3, [DERIVED]), where a closed
  // form exists; `has_covariance()` says whether it does. K must be d x d. Calling it when
  // `has_covariance()` is false is a programmer error (DCSDE_ASSERT).
  virtual bool has_covariance() const { return false; }
  virtual void covariance(const ConstVectorRef& v, Eigen::Ref<Eigen::MatrixXd> K) const;

  // Wire format. `encode` appends one message for vector v to `bytes`, drawing from `rng` exactly
  // as `apply` draws for one column. `decode` reads a whole message of dimension d (out has size
  // d); bytes after the message are an error. After a WireFormatError `out` is unspecified.
  virtual void encode(const ConstVectorRef& v, Philox& rng,
                      std::vector<std::uint8_t>& bytes) const = 0;
  virtual void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const = 0;

  // Size in bits of one message for dimension d, header and final padding included: exact when
  // `fixed_size()`; otherwise the expectation (bernoulli), or the size for vectors without zero
  // coordinates, almost sure under any continuous gradient law (sign).
  virtual double message_bits(Index d) const = 0;
  virtual bool fixed_size() const { return true; }
};

// TOML table [compressor]. kind is one of compressor_kinds():
//   identity | rand_k | bernoulli | qsgd | natural | natural_dithering | sign | top_k
struct CompressorOptions {
  std::string kind = "identity";
  Index k = 1;     // rand_k, top_k: coordinates kept (1 <= k <= d)
  double p = 0.5;  // bernoulli: keep probability (0 < p <= 1)
  int levels = 1;  // qsgd (1 <= s < 2^31), natural_dithering (1 <= s <= 1024): levels s
};

// Ceres-style validation against dimension d (d >= 1 and d < 2^32, the wire header's limit).
// Returns true if valid; otherwise writes a sentence such as
//   "compressor.k = 0. Violated constraint: 1 <= k <= dim = 10."
// into *error and the key ("compressor.k") into *key (when not null) and returns false.
bool compressor_options_valid(const CompressorOptions& options, Index dim, std::string* error,
                              std::string* key = nullptr);

struct CompressorKindInfo {
  std::string kind;
  std::string meaning;
};
const std::vector<CompressorKindInfo>& compressor_kinds();

// Builds the compressor for vectors of dimension `dim`. Throws ConfigError with the sentence of
// compressor_options_valid when the options are invalid.
std::unique_ptr<Compressor> make_compressor(const CompressorOptions& options, Index dim);

}  // namespace dcsde
