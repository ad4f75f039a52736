// Counter-based random streams (Random123 Philox4x32-10, generated in SIMD blocks).
//
// Every random draw of a run comes from a stream named by what it is for:
//   key     = seed ^ kStreamTag, as two 32-bit words
//   counter = (block, step, replica, agent << 8 | sequence << 4 | purpose), 32 bits each
// (when the step or the replica does not fit in 32 bits, their high halves are folded into the key
// by one extra Philox evaluation). A stream is created for one (replica, agent, purpose, step).
// Nothing depends on which thread, which column block or which MPI rank computes a replica, so
// results are bit-identical for any thread count and layout (DESIGN.md "Reproducible").
//
// A stream holds three independent sequences, told apart by the `sequence` field of the counter.
// Block b of a sequence is Philox of counter word 0 = b, giving the 64-bit words
// w0 = x0 | x1 << 32 and w1 = x2 | x3 << 32, and U(w) = (top 52 bits of w + 1/2) 2^-52, in (0, 1).
//   words     w0, w1 of block 0, then of block 1, ...: next_u64, uniform, below, rademacher.
//   normals   the pair (2b, 2b + 1) from block b by Box-Muller (Box & Muller 1958):
//             rho = sqrt(-2 log U(w0)), and the angle phi from w1: a = (pi/4) U(w1 << 3), mirrored
//             to pi/2 - a if bit 63 is set, the signs of cos and sin flipped by bits 62 and 61
//             (uniform on the circle); the pair is (rho cos phi, rho sin phi).
//   student_t value b from block b by Bailey's polar method (Bailey 1994) in polar coordinates:
//             (u, v) uniform in the unit disc is w = u^2 + v^2 ~ U(0, 1) and an independent
//             uniform angle, so t = u sqrt(nu (w^(-2/nu) - 1) / w) = cos phi sqrt(nu expm1(
//             -(2/nu) log U(w0))), phi as above. Exact in law for every nu > 0 (nu = 1: Cauchy).
// No rejection step: value i of a sequence depends on block i (or i/2) alone. So the bulk calls
// agree value for value with the one-at-a-time calls however calls are split, drawing uniforms in
// between changes no normal, and normals_at / student_ts_at give any values of the sequence
// directly: a sparse compressor draws the noise of its k kept coordinates only, and gets exactly
// the numbers the dense draw would have put there (method/method.hpp). The bulk calls run
// vectorized kernels (AVX-512, AVX2, SSE2 or scalar, chosen at run time for this CPU) whose
// results are bit-identical on every path: one block per lane, only exact IEEE operations (no
// contraction into FMA), and our own log, expm1, sin and cos (musl/fdlibm, errors below 1 ulp
// for log, sin, cos and 2 ulp for expm1). U >= 2^-53 bounds |normal| by 8.57 (the normal law
// beyond has mass 1e-17) and truncates Student-t's tail at mass 2^-53.
//
// Limits: agent < 2^24; per stream at most 2^32 blocks of each sequence (2^33 words, 2^33
// normals, 2^32 Student-t values), beyond any vector of d < 2^32 coordinates.
#pragma once

#include <Random123/philox.h>

#include <cstdint>

#include "dcsde/core/types.hpp"

namespace dcsde {

__extension__ using Uint128 = unsigned __int128;  // GCC/Clang extension; silences -Wpedantic

// What a stream is for. The value is part of the counter: two purposes never share numbers.
enum class Purpose : std::uint32_t {
  kInit = 0,         // initial states
  kNoise = 1,        // gradient noise of an agent
  kCompression = 2,  // compressor randomness of an agent
  kBrownian = 3,     // Brownian increments of an SDE
  kProblem = 4,      // problem data (random rotations, synthetic datasets)
  kLaw = 5,          // Monte Carlo estimates of a method's update law (SDE coefficients)
  kTest = 15,        // tests and benchmarks
};

namespace detail {

// The fixed part of one stream's Philox input: key (k0, k1) and counter words 1..3.
struct StreamKey {
  std::uint32_t k0 = 0, k1 = 0;
  std::uint32_t c1 = 0, c2 = 0;  // step, replica (low 32 bits)
  std::uint32_t c3 = 0;          // agent << 8 | purpose; a sequence adds its field
};

// The `sequence` field (counter word 3, bits 4..7) of each sequence.
inline constexpr std::uint32_t kWordSequence = 0u << 4;
inline constexpr std::uint32_t kNormalSequence = 1u << 4;
inline constexpr std::uint32_t kStudentTSequence = 2u << 4;

}  // namespace detail

class Philox {
 public:
  Philox(std::uint64_t seed, std::uint64_t replica, std::uint32_t agent, Purpose purpose,
         std::uint64_t step) {
    std::uint64_t k = seed ^ kStreamTag;
    if (((step | replica) >> 32) != 0) k = fold_high_halves(k, step, replica);
    key_ = {static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(k >> 32),
            static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(replica),
            (agent << 8) | static_cast<std::uint32_t>(purpose)};
  }

  // Next raw 64-bit word.
  std::uint64_t next_u64() {
    if (pos_ == 2) refill();
    return buf_[pos_++];
  }
  // Words next_u64() would return, n of them, vectorized.
  void words(std::uint64_t* out, Index n);
  // Skips n words, as n calls of next_u64() would (after words drawn elsewhere: DrawContext).
  void discard(std::uint64_t n);

  // Uniform in the open interval (0, 1): (a + 1/2) 2^-52 with a the top 52 bits of a word, so
  // that neither 0 nor 1 occurs (log and 1/x stay finite); computed exactly.
  double uniform() { return to_uniform(next_u64()); }
  // What n calls of uniform() would return, vectorized.
  void uniforms(double* out, Index n);

  // Uniform integer in [0, n), n > 0, without modulo bias (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t n) {
    Uint128 m = static_cast<Uint128>(next_u64()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<Uint128>(next_u64()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

  // Standard normal: the next value of the normal sequence (header comment).
  double normal();
  // Fills out[0..n) with the next n standard normals (vectorized; same values as normal()).
  void normals(double* out, Index n);
  // out[i] = normal number index[i] of this stream (0-based, what the (index[i] + 1)-th call of
  // normal() on a fresh stream returns), for any indices; does not move the stream.
  void normals_at(const std::uint32_t* index, Index n, double* out) const;

  // Student-t with nu > 0 degrees of freedom: the next value of the Student-t sequence.
  double student_t(double nu);
  // The next n Student-t values (vectorized; same values as student_t(nu)).
  void student_ts(double* out, Index n, double nu);
  // out[i] = Student-t value number index[i] of this stream; does not move the stream.
  void student_ts_at(const std::uint32_t* index, Index n, double nu, double* out) const;

  // Rademacher sign, +1 or -1 with probability 1/2 each.
  double rademacher() { return (next_u64() >> 63) ? 1.0 : -1.0; }

  static constexpr std::uint64_t kStreamTag = 0x64637364655f7633ULL;  // "dcsde_v3"

  static double to_uniform(std::uint64_t word) {
    const std::uint64_t bits = (word >> 12) | 0x3ff0000000000000ULL;  // 1 + a 2^-52, exact
    double one_plus;
    __builtin_memcpy(&one_plus, &bits, sizeof bits);
    return (one_plus - 1.0) + 0x1.0p-53;
  }

  const detail::StreamKey& key() const { return key_; }

 private:
  // A key for streams whose step or replica needs more than 32 bits: Philox of their high
  // halves under the seed's key (rng.cpp).
  static std::uint64_t fold_high_halves(std::uint64_t key, std::uint64_t step,
                                        std::uint64_t replica);
  void refill() {
    using G = r123::Philox4x32;
    const G::ctr_type ctr = {{block_++, key_.c1, key_.c2, key_.c3 | detail::kWordSequence}};
    const G::ctr_type x = G()(ctr, G::key_type{{key_.k0, key_.k1}});
    buf_[0] = x.v[0] | (std::uint64_t{x.v[1]} << 32);
    buf_[1] = x.v[2] | (std::uint64_t{x.v[3]} << 32);
    pos_ = 0;
  }

  detail::StreamKey key_;
  std::uint32_t block_ = 0;  // next block of the word sequence
  int pos_ = 2;              // words of buf_ already returned
  std::uint64_t buf_[2];
  std::uint64_t normal_next_ = 0;  // index of the next normal
  double normal_spare_ = 0.0;      // normal number normal_next_ when that index is odd
  std::uint32_t t_next_ = 0;       // index of the next Student-t value
};

// Where the draws of one batched call come from: column c of the block is replica
// `first_replica + c`; `agent` and `step` complete the stream name.
struct DrawContext {
  std::uint64_t seed = 0;
  std::uint64_t first_replica = 0;
  std::uint32_t agent = 0;
  std::uint64_t step = 0;

  Philox stream(Index column, Purpose purpose) const {
    return Philox(seed, first_replica + static_cast<std::uint64_t>(column), agent, purpose, step);
  }

  // Words [0, w) (w even) of the fresh streams of columns c0 .. c1 - 1, C = c1 - c0 of them, in
  // vectorized calls: word i of column c0 + c is out[(i / 2) 2 C + 2 c + i % 2] (by block, then
  // column: lanes hold columns).
  void words_columns(Purpose purpose, Index c0, Index c1, Index w, std::uint64_t* out) const;
  // out[i] = normal (Student-t) value number index[i] of stream(column[i], purpose), for n pairs
  // of many columns: one vectorized call where the columns' streams differ in the replica only.
  void normals_at(Purpose purpose, const std::uint32_t* column, const std::uint32_t* index, Index n,
                  double* out) const;
  void student_ts_at(Purpose purpose, double nu, const std::uint32_t* column,
                     const std::uint32_t* index, Index n, double* out) const;
};

namespace detail {

// The kernels behind Philox's bulk calls, one table per instruction set. Every table computes the
// same bits; tests compare them. All take the stream key and positions in a sequence.
struct RngKernels {
  const char* name;  // "avx512", "avx2", "sse2", "scalar"
  // Words of blocks [first_block, first_block + blocks) of a sequence, two per block;
  // `uniforms` gives them as Philox::to_uniform would.
  void (*words)(const StreamKey& key, std::uint32_t sequence, std::uint32_t first_block,
                std::uint64_t* out, std::int64_t blocks);
  void (*uniforms)(const StreamKey& key, std::uint32_t sequence, std::uint32_t first_block,
                   double* out, std::int64_t blocks);
  // Normals 2 first_pair .. 2 (first_pair + pairs) - 1 of the normal sequence.
  void (*normals)(const StreamKey& key, std::uint32_t first_pair, double* out, std::int64_t pairs);
  // Student-t values first .. first + n - 1.
  void (*student_ts)(const StreamKey& key, double nu, std::uint32_t first, double* out,
                     std::int64_t n);
  // out[i] = value index[i] of the normal / Student-t sequence of the stream whose counter word
  // 2 (the replica) is c2[i], or key.c2 when c2 is null.
  void (*normals_at)(const StreamKey& key, const std::uint32_t* c2, const std::uint32_t* index,
                     double* out, std::int64_t n);
  void (*student_ts_at)(const StreamKey& key, double nu, const std::uint32_t* c2,
                        const std::uint32_t* index, double* out, std::int64_t n);
  // out[2r], out[2r + 1] = the words of block `block` of a sequence of the stream whose counter
  // word 2 is key.c2 + r (mod 2^32), for r < replicas.
  void (*replica_blocks)(const StreamKey& key, std::uint32_t sequence, std::uint32_t block,
                         std::uint64_t* out, std::int64_t replicas);
};

// The table in use: the best instruction set of this CPU (simd.hpp: DCSDE_SIMD caps it), or the
// one set by set_rng_kernels.
const RngKernels& rng_kernels();
// Every table this CPU can run, best first, the scalar one last (for tests and benchmarks).
const RngKernels* const* available_rng_kernels(int* count);
// Makes `kernels` the table in use (nullptr: back to the best); returns the previous one. For
// tests and benchmarks only: not safe while other threads draw.
const RngKernels* set_rng_kernels(const RngKernels* kernels);

}  // namespace detail

}  // namespace dcsde
