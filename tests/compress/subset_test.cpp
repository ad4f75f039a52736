// The interleaved subset draw of rand_k (detail::floyd_columns, src/compress/subsets.hpp) gives
// every column the picks of the one-column draw (detail::draw_subset) bit for bit, leaves the
// flags clear, and hands back exactly the columns whose draw needs Lemire's rejection: fed a zero
// word, a draw with a range that is not a power of two must reject (0 * range = 0 < 2^64 mod
// range), a path random streams never reach.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include "../../src/compress/subsets.hpp"

namespace dcsde {
namespace {

constexpr Index kColumns = 16;

struct Block {
  std::vector<std::uint64_t>
      ahead;  // words_columns layout: word i of column c at (i/2) 2C + 2c + i%2
  Index words = 0;
};

Block random_words(Index k, std::uint64_t seed) {
  Block b;
  b.words = k + k % 2;
  b.ahead.resize(static_cast<std::size_t>(kColumns * b.words));
  Philox rng(seed, 0, 0, Purpose::kTest, 0);
  rng.words(b.ahead.data(), static_cast<Index>(b.ahead.size()));
  return b;
}

// Column c's subset by the one-column algorithm; rng stands after the words drawn ahead.
std::vector<std::uint32_t> one_column(Index d, Index k, const Block& b, Index c,
                                      std::uint64_t seed) {
  std::vector<std::uint32_t> out(static_cast<std::size_t>(k));
  Philox rng(seed, static_cast<std::uint64_t>(c), 1, Purpose::kTest, 0);
  detail::draw_subset(d, k, b.ahead.data() + 2 * c, b.words, 2 * kColumns, rng, out.data());
  return out;
}

void expect_matches_one_column(Index d, Index k, Block& b, const std::vector<Index>& zeroed) {
  for (Index c : zeroed) b.ahead[static_cast<std::size_t>(2 * c + 1)] = 0;  // word 1 of column c
  std::vector<std::uint16_t> flags(static_cast<std::size_t>(kColumns * d), 0);
  std::vector<std::uint32_t> out(static_cast<std::size_t>(kColumns * k));
  bool redo[kColumns];
  detail::floyd_columns(d, k, b.ahead.data(), kColumns, flags.data(), out.data(), redo);
  EXPECT_TRUE(std::all_of(flags.begin(), flags.end(), [](std::uint16_t f) { return f == 0; }));
  for (Index c = 0; c < kColumns; ++c) {
    const bool rejected = std::find(zeroed.begin(), zeroed.end(), c) != zeroed.end();
    EXPECT_EQ(redo[c], rejected) << "column " << c;
    if (rejected) continue;
    const std::vector<std::uint32_t> expected = one_column(d, k, b, c, 9);
    const std::vector<std::uint32_t> got(out.begin() + c * k, out.begin() + (c + 1) * k);
    EXPECT_EQ(got, expected) << "d = " << d << ", k = " << k << ", column " << c;
    EXPECT_EQ(std::set<std::uint32_t>(got.begin(), got.end()).size(), static_cast<std::size_t>(k));
  }
}

TEST(SubsetColumns, EqualsTheOneColumnDraw) {
  for (const auto& [d, k] :
       {std::pair<Index, Index>{100, 10}, {7, 7}, {1, 1}, {1000, 9}, {33, 20}}) {
    Block b = random_words(k, static_cast<std::uint64_t>(d * 100 + k));
    expect_matches_one_column(d, k, b, {});
  }
}

TEST(SubsetColumns, ReportsTheColumnsThatNeedARejection) {
  // d = 100, k = 10: draw 1 has range d - k + 2 = 92, not a power of two, so a zero word rejects.
  Block b = random_words(10, 5);
  expect_matches_one_column(100, 10, b, {2, 11});
  // The one-column draw reads on in the stream past the rejected word: its subset is still a
  // k-subset (the redo the caller runs).
  const std::vector<std::uint32_t> redone = one_column(100, 10, b, 2, 9);
  EXPECT_EQ(std::set<std::uint32_t>(redone.begin(), redone.end()).size(), 10u);
}

}  // namespace
}  // namespace dcsde
