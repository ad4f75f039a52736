// Private to src/compress (not installed): the k-subset draws of rand_k (rand_k.cpp), exposed to
// tests/compress/subset_test.cpp, which feeds them chosen words (a rejection of Lemire's method
// has probability below d 2^-64 per draw, so random streams never reach that path).
#pragma once

#include <cstdint>

#include "dcsde/core/rng.hpp"
#include "dcsde/core/types.hpp"

namespace dcsde::detail {

// One column's k-subset of {0..d-1} by Floyd's algorithm, in out[0..k): first the n words
// ahead[(i / 2) stride + i % 2], then rng's (which must stand after them). In the order drawn for
// d <= 4096 and sparse subsets, ascending for dense subsets of larger d (rand_k.cpp).
void draw_subset(Index d, Index k, const std::uint64_t* ahead, Index n, Index stride, Philox& rng,
                 std::uint32_t* out);

// The subsets of `columns` columns at once (d <= 4096), column c's k words at
// ahead[(i / 2) 2 columns + 2c + i % 2], its picks in out + c k, in the order drawn: what
// draw_subset gives each column, except where a draw needs a rejection: redo[c] is then true and
// out + c k must be redrawn by draw_subset. flags: columns d entries, all 0 (and left so).
void floyd_columns(Index d, Index k, const std::uint64_t* ahead, Index columns,
                   std::uint16_t* flags, std::uint32_t* out, bool* redo);

}  // namespace dcsde::detail
