#include <algorithm>
#include <bit>
#include <vector>

#include "dcsde/compress/sparsifiers.hpp"
#include "dcsde/compress/wire.hpp"
#include "kernels.hpp"
#include "subsets.hpp"

namespace dcsde {
namespace {

// Scratch of the subset draws of this thread: the membership marks (all 0 between uses, so a
// subset depends only on the stream, never on earlier calls), one column's subset for apply()
// and encode(), and the words drawn ahead.
struct SubsetScratch {
  std::vector<std::uint16_t> flags;  // not a char type: a char store may alias anything
  std::vector<std::uint64_t> bits;
  std::vector<std::uint32_t> kept;
  std::vector<std::uint64_t> ahead;
};
thread_local SubsetScratch tl_scratch;

// Vectors up to this dimension (32 KB of doubles) stay in L1. Their subsets use a 16-bit flag per
// coordinate: with one bit each, the picks of d = 100 share two words, and every pick waits for
// the store of the one before (+13% on a whole DCSGD step). Larger vectors use a bit per
// coordinate (d / 8 bytes, in L1 where the flags spilled to L2 at d = 1e5), and their dense
// subsets are read back in ascending order.
constexpr Index kInCacheDim = 4096;
// The columns of a block draw their subsets together (floyd_columns) when their flags fit 32 KB.
constexpr Index kInterleavedFlags = 16384;
constexpr Index kMaxInterleaved = 64;

struct FlagMarks {
  std::uint16_t* in;
  bool test(std::uint32_t t) const { return in[t] != 0; }
  void set(std::uint32_t t) { in[t] = 1; }
};

struct BitMarks {
  std::uint64_t* in;
  bool test(std::uint32_t t) const { return ((in[t >> 6] >> (t & 63)) & 1) != 0; }
  void set(std::uint32_t t) { in[t >> 6] |= std::uint64_t{1} << (t & 63); }
  void clear_word_of(std::uint32_t t) { in[t >> 6] = 0; }  // every mark there goes too
};

// Floyd's algorithm (Bentley & Floyd, "A sample of brilliance", CACM 1987): for j = d - k .. d - 1,
// t = below(j + 1), keep t unless it is kept already, else keep j (never kept before: every
// earlier pick is <= an earlier j < j). Every k-subset is equally likely, with exactly k draws
// and O(k) work whatever d; out[i] = the i-th pick. The caller clears the marks.
//
// below() is Lemire's multiply-and-reject (Philox::below) on the words of the column's stream:
// first n words drawn ahead in bulk, word i at ahead[(i / 2) stride + i % 2] (stride 2: plain
// order; 2C: DrawContext::words_columns of C columns), then rng, which must stand after them.
// One word per draw except on a rejection (probability < d 2^-64): exactly the words of calling
// rng.below(). The state lives in locals: through the members of a reader object every mark
// store would force their reload, doubling the cost.
template <class Marks>
void floyd(Index d, Index k, const std::uint64_t* ahead, Index n, Index stride, Philox& rng,
           Marks marks, std::uint32_t* out) {
  Index pos = 0;
  auto next = [&]() -> std::uint64_t {
    if (pos < n) {
      const Index w = pos++;
      return ahead[(w >> 1) * stride + (w & 1)];
    }
    return rng.next_u64();
  };
  for (Index i = 0; i < k; ++i) {
    const auto j = static_cast<std::uint32_t>(d - k + i);
    const std::uint64_t range = std::uint64_t{j} + 1;
    Uint128 m = static_cast<Uint128>(next()) * range;
    if (static_cast<std::uint64_t>(m) < range) {
      const std::uint64_t threshold = (0 - range) % range;
      while (static_cast<std::uint64_t>(m) < threshold) m = static_cast<Uint128>(next()) * range;
    }
    auto t = static_cast<std::uint32_t>(m >> 64);
    t = marks.test(t) ? j : t;
    marks.set(t);
    out[i] = t;
  }
}

}  // namespace

namespace detail {

// Floyd's algorithm for the C columns of a block at once, pick i of every column before pick
// i + 1: each column has its own flags (flags + c d, all 0 on entry and on return), so the C
// dependency chains of "test the mark, then set it" overlap instead of running one after the
// other (the single-column loop waits on its own stores). Word i of column c is
// ahead[(i / 2) 2C + 2c + i % 2] (DrawContext::words_columns), out + c k gets column c's picks in
// the order drawn: the bits of floyd() on each column, unless a draw of the column needs
// Lemire's rejection (probability < d 2^-64 per draw), which floyd() handles by reading on in the
// stream: such a column is left to the caller, its flags cleared, and reported in `redo`.
void floyd_columns(Index d, Index k, const std::uint64_t* ahead, Index columns,
                   std::uint16_t* flags, std::uint32_t* out, bool* redo) {
  const Index stride = 2 * columns;
  std::fill(redo, redo + columns, false);
  for (Index i = 0; i < k; ++i) {
    const auto j = static_cast<std::uint32_t>(d - k + i);
    const std::uint64_t range = std::uint64_t{j} + 1;
    const std::uint64_t* words = ahead + (i >> 1) * stride + (i & 1);
    for (Index c = 0; c < columns; ++c) {
      const Uint128 m = static_cast<Uint128>(words[2 * c]) * range;
      if (static_cast<std::uint64_t>(m) < range &&
          static_cast<std::uint64_t>(m) < (0 - range) % range)
        redo[c] = true;
      std::uint16_t* marks = flags + c * d;
      auto t = static_cast<std::uint32_t>(m >> 64);
      t = marks[t] != 0 ? j : t;
      marks[t] = 1;
      out[c * k + i] = t;
    }
  }
  for (Index c = 0; c < columns; ++c)
    for (Index i = 0; i < k; ++i) flags[c * d + out[c * k + i]] = 0;
}

// The subset of Floyd's algorithm in out[0..k): in the order drawn for d <= kInCacheDim and for
// sparse subsets; for dense subsets (k >= d / 64) of larger vectors in ascending order, so that
// whoever gathers and scatters at the kept coordinates walks memory forwards (at d = 1e5,
// k = d / 10 the random order cost twice as much). The set is the same either way.
void draw_subset(Index d, Index k, const std::uint64_t* ahead, Index n, Index stride, Philox& rng,
                 std::uint32_t* out) {
  SubsetScratch& s = tl_scratch;
  if (d <= kInCacheDim) {
    if (s.flags.size() < static_cast<std::size_t>(d))
      s.flags.resize(static_cast<std::size_t>(d), 0);
    const FlagMarks marks{s.flags.data()};
    floyd(d, k, ahead, n, stride, rng, marks, out);
    for (Index i = 0; i < k; ++i) s.flags[out[i]] = 0;
    return;
  }
  const auto words = static_cast<std::size_t>((d + 63) / 64);
  if (s.bits.size() < words) s.bits.resize(words, 0);
  BitMarks marks{s.bits.data()};
  floyd(d, k, ahead, n, stride, rng, marks, out);
  if (static_cast<std::size_t>(k) < words) {
    for (Index i = 0; i < k; ++i) marks.clear_word_of(out[i]);
    return;
  }
  Index n_out = 0;
  for (std::size_t w = 0; w < words; ++w) {
    for (std::uint64_t word = marks.in[w]; word != 0; word &= word - 1)
      out[n_out++] =
          static_cast<std::uint32_t>(w * 64 + static_cast<std::size_t>(std::countr_zero(word)));
    marks.in[w] = 0;
  }
}

}  // namespace detail

namespace {

// One column's subset, drawn from rng, in tl_scratch.kept.
const std::uint32_t* column_subset(Index d, Index k, Philox& rng) {
  SubsetScratch& s = tl_scratch;
  if (s.kept.size() < static_cast<std::size_t>(k)) s.kept.resize(static_cast<std::size_t>(k));
  if (s.ahead.size() < static_cast<std::size_t>(k)) s.ahead.resize(static_cast<std::size_t>(k));
  rng.words(s.ahead.data(), k);  // each draw takes one word at least
  detail::draw_subset(d, k, s.ahead.data(), k, 2, rng, s.kept.data());
  return s.kept.data();
}

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
    const std::uint32_t* subset = column_subset(d, k_, rng);
    for (Index i = 0; i < k_; ++i) y[subset[i]] = scale * x[subset[i]];
  });
}

double RandKCompressor::kept_coordinates(Index d, const DrawContext& ctx, Index c0, Index c1,
                                         std::uint32_t* kept, Index* count) const {
  DCSDE_ASSERT(k_ <= d, "rand_k needs k <= d");
  detail::check_dim(d);
  // The k words each column's draws take (unless one is rejected), for all columns in one
  // vectorized call; then each column's shuffle, its stream standing after those words.
  const Index w = k_ + k_ % 2;
  std::vector<std::uint64_t>& ahead = tl_scratch.ahead;
  if (ahead.size() < static_cast<std::size_t>((c1 - c0) * w))
    ahead.resize(static_cast<std::size_t>((c1 - c0) * w));
  ctx.words_columns(Purpose::kCompression, c0, c1, w, ahead.data());
  const Index columns = c1 - c0;
  if (d <= kInCacheDim && columns * d <= kInterleavedFlags && columns <= kMaxInterleaved) {
    std::vector<std::uint16_t>& flags = tl_scratch.flags;
    if (flags.size() < static_cast<std::size_t>(columns * d))
      flags.resize(static_cast<std::size_t>(columns * d), 0);
    bool redo[kMaxInterleaved];
    detail::floyd_columns(d, k_, ahead.data(), columns, flags.data(), kept, redo);
    for (Index c = c0; c < c1; ++c) {
      count[c - c0] = k_;
      if (!redo[c - c0]) continue;
      Philox rng = ctx.stream(c, Purpose::kCompression);
      rng.discard(static_cast<std::uint64_t>(w));
      detail::draw_subset(d, k_, ahead.data() + 2 * (c - c0), w, 2 * columns, rng,
                          kept + (c - c0) * k_);
    }
    return scale_of(d, k_);
  }
  for (Index c = c0; c < c1; ++c) {
    Philox rng = ctx.stream(c, Purpose::kCompression);
    rng.discard(static_cast<std::uint64_t>(w));
    detail::draw_subset(d, k_, ahead.data() + 2 * (c - c0), w, 2 * (c1 - c0), rng,
                        kept + (c - c0) * k_);
    count[c - c0] = k_;
  }
  return scale_of(d, k_);
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
  const std::uint32_t* subset = column_subset(d, k_, rng);
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
