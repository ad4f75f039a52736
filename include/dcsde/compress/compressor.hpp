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
//     `header + payload` as documented for variable-size ones (Bernoulli);
//   * decode of truncated or malformed bytes throws WireFormatError, never reads out of bounds.
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
  // V and out may not alias.
  virtual void apply(const ConstBatchRef& V, const DrawContext& ctx, BatchRef out) const = 0;

  // Exact compression covariance K(v) = Cov_xi C(v) (papers.md 3, [DERIVED]), where a closed
  // form exists; `has_covariance()` says whether it does.
  virtual bool has_covariance() const { return false; }
  virtual void covariance(const ConstVectorRef& v, Eigen::Ref<Eigen::MatrixXd> K) const;

  // Wire format. `encode` appends one message for vector v to `bytes`, drawing from `rng` exactly
  // as `apply` draws for one column. `decode` reads a whole message of dimension d.
  virtual void encode(const ConstVectorRef& v, Philox& rng, std::vector<std::uint8_t>& bytes) const = 0;
  virtual void decode(std::span<const std::uint8_t> bytes, Index d, VectorRef out) const = 0;

  // Size in bits of one message for dimension d: exact when `fixed_size()`, the expectation
  // otherwise. Includes the header.
  virtual double message_bits(Index d) const = 0;
  virtual bool fixed_size() const { return true; }
};

struct CompressorOptions {
  std::string kind = "identity";  // identity | rand_k | bernoulli | qsgd | natural | natural_dithering | sign | top_k
  Index k = 1;          // rand_k, top_k: coordinates kept (1 <= k <= d)
  double p = 0.5;       // bernoulli: keep probability (0 < p <= 1)
  int levels = 1;       // qsgd (s >= 1), natural_dithering (s >= 1): quantization levels
};

struct CompressorKindInfo {
  std::string kind;
  std::string meaning;
};
const std::vector<CompressorKindInfo>& compressor_kinds();

// Builds the compressor for vectors of dimension `dim`; options must have passed validation.
std::unique_ptr<Compressor> make_compressor(const CompressorOptions& options, Index dim);

}  // namespace dcsde
