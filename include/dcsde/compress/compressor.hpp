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

#include "dcsde/core/kind.hpp"
#include "dcsde/core/rng.hpp"
#include "dcsde/core/types.hpp"

namespace dcsde {

// The compressor kinds; their specs are in kind_specs(CompressorKind) below.
enum class CompressorKind {
  kIdentity,
  kRandK,
  kBernoulli,
  kQsgd,
  kNatural,
  kNaturalDithering,
  kSign,
  kTopK
};

class Compressor {
 public:
  virtual ~Compressor() = default;

  virtual CompressorKind kind() const = 0;
  std::string name() const { return std::string(kind_name(kind())); }
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

// TOML table [compressor]; `kind` is one of kind_specs(CompressorKind), which says which of the
// other keys it reads.
struct CompressorOptions {
  CompressorKind kind = CompressorKind::kIdentity;
  Index k = 1;     // rand_k, top_k: coordinates kept (1 <= k <= d)
  double p = 0.5;  // bernoulli: keep probability (0 < p <= 1)
  int levels = 1;  // qsgd, natural_dithering: levels s (1 <= s <= the kind's max_levels)
  bool operator==(const CompressorOptions&) const = default;
};

// The [compressor] keys besides `kind`, as bits of CompressorSpec::keys.
enum CompressorKey : unsigned { kCompressorK = 1u, kCompressorP = 2u, kCompressorLevels = 4u };

// What the closed-form SDE law (sde/law.hpp, papers.md 5.1 Thm 1) knows of a compressor: its
// coordinate j is v_j b_j / q with b_j ~ Bernoulli(q), independent across j (kBernoulli, q = p),
// exactly k of d kept (kRandK, q = k/d), or always kept (kIdentity, q = 1). kNone: no closed form
// (the law is estimated by Monte Carlo).
enum class CompressionLaw { kNone, kIdentity, kBernoulli, kRandK };

// One compressor kind, declared once: the schema, validation, to_toml, `dcsde list`, the methods,
// the SDE law and the theory read it (core/kind.hpp).
struct CompressorSpec {
  CompressorKind kind;
  std::string_view name, meaning;
  unsigned keys;       // the CompressorKey bits it reads
  int max_levels;      // the largest `levels` it takes (when it reads levels)
  bool identity;       // no compression: the message is the vector itself
  bool sends_signs;    // messages are signs (what dsignsgd and majority_vote send)
  bool sparse;         // Compressor::sparse(): a random subset independent of v, scaled
  CompressionLaw law;  // what the closed-form SDE law knows of it
  std::unique_ptr<Compressor> (*make)(const CompressorOptions&);
};
std::span<const CompressorSpec> kind_specs(CompressorKind);

// The law the closed-form SDE law can use for agents with these compressors: L when every agent's
// compressor is the identity or of CompressionLaw L (kIdentity when all are the identity), kNone
// when one has no closed form or two have different ones (papers.md 5.1, Thm 1 with omega_i).
CompressionLaw common_law(std::span<const CompressorKind> agents);

// Ceres-style validation against dimension d (d >= 1 and d < 2^32, the wire header's limit).
// Returns true if valid; otherwise writes a sentence such as
//   "compressor.k = 0. Violated constraint: 1 <= k <= dim = 10."
// into *error and the key ("compressor.k") into *key (when not null) and returns false.
bool compressor_options_valid(const CompressorOptions& options, Index dim, std::string* error,
                              std::string* key = nullptr);

// The probability q that a coordinate is kept (and scaled by 1/q), for the kinds whose law is
// known (CompressionLaw): 1, p or k/d; nothing for the others.
std::optional<double> keep_probability(const CompressorOptions& options, Index dim);

// Options of the same kind whose omega for dimension d is `omega`, as far as the kind's
// parameter allows (rand_k: k = d / (1 + omega), a ConfigError unless that is a positive
// integer; bernoulli: p = 1 / (1 + omega)); nothing when no parameter of the kind sets omega.
std::optional<CompressorOptions> with_omega(const CompressorOptions& options, Index dim,
                                            double omega);

// Builds the compressor for vectors of dimension `dim`. Throws ConfigError with the sentence of
// compressor_options_valid when the options are invalid.
std::unique_ptr<Compressor> make_compressor(const CompressorOptions& options, Index dim);

}  // namespace dcsde
