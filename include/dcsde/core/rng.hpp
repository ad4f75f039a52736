// Counter-based random streams (Random123 Philox4x64-10).
//
// Every random draw of a run comes from a stream named by what it is for:
//   key     = (seed, kStreamTag)
//   counter = (block, step, replica, agent << 8 | purpose)
// A stream is created for one (replica, agent, purpose, step) and yields as many blocks of four
// 64-bit words as that step needs. Nothing depends on which thread, which column block or which
// MPI rank computes a replica, so results are bit-identical for any thread count and layout
// (DESIGN.md "Reproducible").
#pragma once

#include <Random123/philox.h>

#include <cmath>
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

class Philox {
 public:
  Philox(std::uint64_t seed, std::uint64_t replica, std::uint32_t agent, Purpose purpose,
         std::uint64_t step)
      : ctr_{{0, step, replica, (std::uint64_t{agent} << 8) | static_cast<std::uint64_t>(purpose)}},
        key_{{seed, kStreamTag}} {}

  // Next raw 64-bit word.
  std::uint64_t next_u64() {
    if (pos_ == 4) refill();
    return out_.v[pos_++];
  }

  // Uniform in the open interval (0, 1): 53 random bits, offset by half an ulp so that neither
  // 0 nor 1 occurs (log and 1/x stay finite).
  double uniform() { return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53; }

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

  // Standard normal (Box-Muller; the second variate of each pair is kept for the next call).
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double a, b;
    box_muller(uniform(), uniform(), a, b);
    spare_ = b;
    has_spare_ = true;
    return a;
  }

  // Fills out[0..n) with standard normals, two per pair of uniforms.
  void normals(double* out, Index n) {
    Index i = 0;
    for (; i + 1 < n; i += 2) box_muller(uniform(), uniform(), out[i], out[i + 1]);
    if (i < n) out[i] = normal();
  }

  // Student-t with nu > 0 degrees of freedom (Bailey's polar method, exact for every nu,
  // including the Cauchy case nu = 1): draw (u, v) uniform in the unit disc, w = u^2 + v^2,
  // then t = u * sqrt(nu (w^(-2/nu) - 1) / w).
  double student_t(double nu) {
    for (;;) {
      const double u = 2.0 * uniform() - 1.0;
      const double v = 2.0 * uniform() - 1.0;
      const double w = u * u + v * v;
      if (w > 1.0) continue;
      return u * std::sqrt(nu * (std::pow(w, -2.0 / nu) - 1.0) / w);
    }
  }

  // Rademacher sign, +1 or -1 with probability 1/2 each.
  double rademacher() { return (next_u64() >> 63) ? 1.0 : -1.0; }

  static constexpr std::uint64_t kStreamTag = 0x64637364655f7631ULL;  // "dcsde_v1"

 private:
  using Generator = r123::Philox4x64;

  void refill() {
    out_ = Generator()(ctr_, key_);
    ++ctr_.v[0];
    pos_ = 0;
  }

  static void box_muller(double u1, double u2, double& z0, double& z1) {
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 6.283185307179586476925286766559 * u2;
    z0 = r * std::cos(theta);
    z1 = r * std::sin(theta);
  }

  Generator::ctr_type ctr_;
  Generator::key_type key_;
  Generator::ctr_type out_{};
  int pos_ = 4;
  bool has_spare_ = false;
  double spare_ = 0.0;
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
};

}  // namespace dcsde
