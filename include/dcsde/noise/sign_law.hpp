// SignLaw: an agent's sign message drawn from its law, one 32-bit random word per coordinate.
//
// With the noise of NoiseModel, coordinate j of agent i's gradient is g_j + s_j T_j, T_j i.i.d.
// N(0,1) or t_nu and symmetric, so its sign is +1 with probability
//   P(g_j + s_j T_j > 0) = P(T_j > -g_j/s_j) = F(x_j),   x_j = g_j / s_j,        [papers.md 4.2]
// F the CDF of T (F = 1/2 + Xi_nu, theory/special.hpp), and -1 otherwise (ties have probability
// 0). Signs of different coordinates and agents are independent. So
//   sign_j = +1 if U_j < F(x_j), else -1,   U_j ~ U(0, 1)
// has exactly the law of sign(g_j + s_j T_j), jointly over coordinates and agents: DSignSGD and
// majority vote need one uniform per agent-coordinate instead of one Student-t value (a log, an
// expm1, a sine and a square root); method.sign_draw = "law" draws them so (method.hpp).
//
// The uniform is U = (w + V) 2^-32 with w the coordinate's 32-bit word and V ~ U(0, 1) drawn only
// when w does not decide: U < p surely when w + 1 <= p 2^32, U >= p surely when w >= p 2^32, and
// otherwise (probability 2^-32) U < p iff V < p 2^32 - w (exact in binary64). V is the 52-bit
// uniform of word 2^31 + j of the same stream (core/rng.hpp), so the draw resolves p to 2^-84.
//
// F costs a regularized incomplete beta (Boost), ~1000x a word, so it is rarely evaluated: a
// table holds F at the nodes x(u_k) of a grid u_k = -1 + 2k/M of the map u = x / (1 + |x|) from
// the real line onto (-1, 1). F is increasing, so the nodes one cell beyond the cell of x bracket
// it, lo <= F(x) <= hi (one cell of slack each side covers the rounding of u, computed in single
// precision: about 1e-3 of a cell). In words: w < floor(lo 2^32) decides +1, w > ceil(hi 2^32) - 1
// decides -1 (both limits clamped into [0, 2^32 - 1], which only leaves more words undecided).
// An undecided word, probability (hi - lo) + 2^-31 <= 3 (2/M) max dF/du + 2^-31, tries the
// bracket of x's own cell (its nodes compared exactly, a third as wide) and then evaluates F(x).
// With dF/du = f(x) (1 + |x|)^2, max dF/du = 4 f(1) <= 0.97 for the Gaussian and every nu >= 1
// (undecided at most 1.8e-4 at M = 2^15); for nu < 1 it grows like |x|^(1 - nu) in the tails
// (measured 4e-3 at nu = 0.5, 4e-2 at nu = 0.25, at |x| ~ 1e4): still exact, but slower there.
// Any valid bracket gives the same sign, so none of this changes a result.
//
// A zero scale s_j = 0 makes the sign deterministic: sign(g_j), 0 for g_j = 0 (x = +-inf or NaN),
// as the noise path computes it.
#pragma once

#include <cstdint>
#include <vector>

#include "dcsde/core/rng.hpp"
#include "dcsde/core/types.hpp"

namespace dcsde {

class SignLaw {
 public:
  // T ~ t_nu, nu > 0; nu = kGaussianNu (theory/special.hpp) for T ~ N(0, 1).
  explicit SignLaw(double nu);

  double nu() const { return nu_; }
  // P(sign = +1) = F(x), exactly (Boost.Math through xi_nu); 1 at +inf, 0 at -inf.
  double positive_probability(double x) const;

  // The word limits of x_j, j < n: w < below_j decides +1, w > above_j decides -1 (header).
  void bracket(const double* x, Index n, std::uint32_t* below, std::uint32_t* above) const;
  // sum_j += the sign of coordinate first + j (j < n) from its word w_j, the 32-bit half j % 2
  // of words[j / 2] (low half first: the order of Philox's outputs), words of the stream
  // ctx.stream(column, Purpose::kNoise); the undecided ones read F(x_j) and, rarely, V from a
  // fresh copy of that stream.
  void add_signs(const double* x, const std::uint32_t* below, const std::uint32_t* above,
                 const std::uint64_t* words, const DrawContext& ctx, Index column, Index first,
                 std::int32_t* sum, Index n) const;
  // The sign of one coordinate from its word, exactly (the undecided path); `stream` is fresh.
  double exact_sign(double x, std::uint32_t w, const Philox& stream, Index coordinate) const;

  // Cells of the table: M = 2^15 (256 KiB, within L2; a run's x fill part of it).
  static constexpr int kCells = 1 << 15;
  // Position of V for coordinate j in the stream's word sequence: 2^31 + j, beyond the words
  // of any d < 2^32 (they take positions j / 2).
  static constexpr std::uint64_t kRefineWord = std::uint64_t{1} << 31;

 private:
  double nu_;
  // An undecided word: first the bracket of x's own cell (nodes compared exactly), then
  // exact_sign.
  double undecided_sign(double x, std::uint32_t w, const Philox& stream, Index coordinate) const;

  // limits_[c] = below | above << 32, the word limits of cell c = 0..M (header comment).
  std::vector<std::uint64_t> limits_;
  // The nodes x_k and F(x_k), k = 0..M, for undecided words.
  std::vector<double> node_x_, node_f_;
};

}  // namespace dcsde
