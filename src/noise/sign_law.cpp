#include "dcsde/noise/sign_law.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dcsde/core/error.hpp"
#include "dcsde/theory/special.hpp"

namespace dcsde {
namespace {

constexpr double kMaxFinite = std::numeric_limits<double>::max();
constexpr double kTwo32 = 4294967296.0;
constexpr std::uint32_t kMaxWord = 0xffffffffu;

// The 32-bit halves of a stream's 64-bit words, read in place (low half first: value j is half
// j % 2 of word j / 2). may_alias (GCC, Clang) makes reading the words so well-defined.
using WordHalf = std::uint32_t __attribute__((may_alias));

// floor(p 2^32) and ceil(p 2^32) - 1, clamped into [0, 2^32 - 1] (sign_law.hpp).
std::uint32_t word_below(double p) {
  return static_cast<std::uint32_t>(std::min(std::floor(p * kTwo32), kTwo32 - 1.0));
}
std::uint32_t word_above(double p) {
  return static_cast<std::uint32_t>(std::clamp(std::ceil(p * kTwo32) - 1.0, 0.0, kTwo32 - 1.0));
}

// The word limits of n values (sign_law.hpp); limits[cell] = below(cell) | above(cell + 3) << 32.
// The cell comes from u = x / (1 + |x|) in single precision: its error, about 1e-3 cells (a
// float ulp, 6e-8, against cells 6e-5 wide), is covered by the slack cell, and any valid bracket
// gives the same sign (only undecided words differ, and those are decided exactly), so the rounding
// cannot change a result. Values beyond the float range (and +-inf, NaN) give u = NaN and the cell
// INT_MIN, read as cell M and counted: the caller sets their limits. Branch-free and cloned per
// instruction set (the build targets baseline x86-64) so that it vectorizes: AVX2 divides 8 floats
// and gathers 4 limits at once.
__attribute__((target_clones("avx2", "default"))) std::int32_t bracket_loop(
    const std::uint64_t* limits, const double* x, Index n, std::uint32_t* below,
    std::uint32_t* above) {
  constexpr float kHalfCells = 0.5f * SignLaw::kCells;
  std::int32_t outside = 0;
  for (Index j = 0; j < n; ++j) {
    const auto xf = static_cast<float>(x[j]);
    const float u = xf / (1.0f + std::abs(xf));                   // in [-1, 1], or NaN
    const auto cell = static_cast<int>((u + 1.0f) * kHalfCells);  // in [0, M], or INT_MIN
    outside += cell < 0 ? 1 : 0;
    const std::uint64_t limit =
        limits[std::min(static_cast<unsigned>(cell), static_cast<unsigned>(SignLaw::kCells))];
    below[j] = static_cast<std::uint32_t>(limit);
    above[j] = static_cast<std::uint32_t>(limit >> 32);
  }
  return outside;
}

// sum_j += +1 (w < below), -1 (w > above), 0 (undecided); returns the number undecided. Integer
// lanes throughout: 8 per AVX2 instruction.
__attribute__((target_clones("avx512f", "avx2", "default"))) std::int32_t decided_signs(
    const std::uint32_t* below, const std::uint32_t* above, const std::uint64_t* words,
    std::int32_t* sum, Index n) {
  const auto* w = reinterpret_cast<const WordHalf*>(words);
  std::int32_t undecided = 0;
  for (Index j = 0; j < n; ++j) {
    const std::int32_t plus = w[j] < below[j] ? 1 : 0;
    const std::int32_t minus = w[j] > above[j] ? 1 : 0;
    sum[j] += plus - minus;
    undecided += 1 - plus - minus;
  }
  return undecided;
}

}  // namespace

SignLaw::SignLaw(double nu)
    : nu_(nu),
      limits_(static_cast<std::size_t>(kCells) + 1),
      node_x_(static_cast<std::size_t>(kCells) + 1),
      node_f_(static_cast<std::size_t>(kCells) + 1) {
  DCSDE_ASSERT(nu > 0.0, "SignLaw needs nu > 0");
  // F at node k = 0..M: x_k = u_k / (1 - |u_k|), u_k = -1 + 2k/M (x_0 = -inf, x_M = +inf); u_k
  // and 1 - |u_k| are exact, and x_(M-k) = -x_k, so with Xi odd F(x_k) = 1 - F(x_(M-k)) bit for
  // bit: half the incomplete betas.
  const int m = kCells;
  std::vector<double>& f = node_f_;
  for (int k = m / 2; k <= m; ++k) {
    const double u = -1.0 + 2.0 * k / m;
    const double x = u / (1.0 - u);
    const double xi = xi_nu(x, nu_);
    node_x_[static_cast<std::size_t>(k)] = x;
    node_x_[static_cast<std::size_t>(m - k)] = -x;
    f[static_cast<std::size_t>(k)] = 0.5 + xi;
    f[static_cast<std::size_t>(m - k)] = 0.5 - xi;
  }
  // Cell c spans nodes c, c + 1 (c = M: u = 1 exactly); with one cell of slack each side its
  // bracket is F(x_(c-1)) .. F(x_(c+2)), the nodes clamped into 0..M.
  for (int c = 0; c <= m; ++c) {
    const double lo = f[static_cast<std::size_t>(std::max(c - 1, 0))];
    const double hi = f[static_cast<std::size_t>(std::min(c + 2, m))];
    limits_[static_cast<std::size_t>(c)] =
        word_below(lo) | (static_cast<std::uint64_t>(word_above(hi)) << 32);
  }
}

double SignLaw::positive_probability(double x) const { return 0.5 + xi_nu(x, nu_); }

double SignLaw::exact_sign(double x, std::uint32_t w, const Philox& stream,
                           Index coordinate) const {
  if (std::isnan(x)) return 0.0;
  const double p = positive_probability(x) * kTwo32;  // exact scaling
  const double word = w;
  if (word + 1.0 <= p) return 1.0;
  if (word >= p) return -1.0;
  // w < p 2^32 < w + 1: U = (w + V) 2^-32 < p iff V < p 2^32 - w, exact (Sterbenz).
  Philox refine = stream;
  refine.discard(kRefineWord + static_cast<std::uint64_t>(coordinate));
  return refine.uniform() < p - word ? 1.0 : -1.0;
}

double SignLaw::undecided_sign(double x, std::uint32_t w, const Philox& stream,
                               Index coordinate) const {
  if (!std::isnan(x)) {
    // The cell of x itself, its nodes compared exactly (the rounded u is off by at most one
    // cell): a third of the slack bracket's width, so a third of the exact evaluations.
    const int m = kCells;
    const double u = x / (1.0 + std::abs(x));  // NaN for +-inf: then the end cells below
    int k = std::isnan(u) ? (x > 0.0 ? m - 1 : 0)
                          : std::clamp(static_cast<int>((u + 1.0) * (0.5 * m)), 0, m - 1);
    if (k > 0 && x < node_x_[static_cast<std::size_t>(k)]) --k;
    if (k < m - 1 && x >= node_x_[static_cast<std::size_t>(k + 1)]) ++k;
    if (w < word_below(node_f_[static_cast<std::size_t>(k)])) return 1.0;
    if (w > word_above(node_f_[static_cast<std::size_t>(k + 1)])) return -1.0;
  }
  return exact_sign(x, w, stream, coordinate);
}

void SignLaw::bracket(const double* x, Index n, std::uint32_t* below, std::uint32_t* above) const {
  if (bracket_loop(limits_.data(), x, n, below, above) == 0) return;
  constexpr double kFloatMax = std::numeric_limits<float>::max();
  for (Index j = 0; j < n; ++j) {
    const double xj = x[j];
    if (std::abs(xj) < kFloatMax) continue;
    if (std::abs(xj) <= kMaxFinite) {  // huge but finite: the end cell of its sign
      const std::uint64_t limit = limits_[xj > 0.0 ? static_cast<std::size_t>(kCells) : 0];
      below[j] = static_cast<std::uint32_t>(limit);
      above[j] = static_cast<std::uint32_t>(limit >> 32);
    } else {
      // +inf: +1 (below = above = 2^32 - 1); -inf: -1 (below = above = 0); NaN: undecided
      // (below = 0, above = 2^32 - 1), for which exact_sign returns 0.
      below[j] = xj > 0.0 ? kMaxWord : 0u;
      above[j] = xj < 0.0 ? 0u : kMaxWord;
    }
  }
}

void SignLaw::add_signs(const double* x, const std::uint32_t* below, const std::uint32_t* above,
                        const std::uint64_t* words, const DrawContext& ctx, Index column,
                        Index first, std::int32_t* sum, Index n) const {
  if (decided_signs(below, above, words, sum, n) == 0) return;
  const auto* w = reinterpret_cast<const WordHalf*>(words);
  const Philox stream = ctx.stream(column, Purpose::kNoise);
  for (Index j = 0; j < n; ++j) {
    if (w[j] >= below[j] && w[j] <= above[j])
      sum[j] += static_cast<std::int32_t>(undecided_sign(x[j], w[j], stream, first + j));
  }
}

}  // namespace dcsde
