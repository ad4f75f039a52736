// Private kernels of the objective family.
#pragma once

#include <algorithm>

#include "dcsde/core/error.hpp"
#include "dcsde/core/types.hpp"

namespace dcsde::detail {

// Y = M X (M is m x K, X is K x R, Y is m x R) with every entry summed in increasing k:
//   Y(i, j) = (((0 + M(i,0) X(0,j)) + M(i,1) X(1,j)) + ...) + M(i,K-1) X(K-1,j).
// Why not Eigen's product: GEMM, GEMV and the lazy product reassociate the k-sum differently
// depending on the number of columns R, on which 4-column panel a column falls in and on the
// alignment of the column, so a replica's gradient would change with the block layout. Here
// the operations applied to column j depend only on M and X.col(j). Columns go four at a time
// and rows in tiles of kRowTile, so each loaded M(i, k) serves four columns from L1 cache; the
// inner loop is contiguous and vectorises without changing the per-entry order.
inline void ordered_product(const Eigen::MatrixXd& M, const ConstBatchRef& X, BatchRef Y) {
  DCSDE_ASSERT(M.cols() == X.rows() && Y.rows() == M.rows() && Y.cols() == X.cols(),
               "ordered_product: shapes do not match");
  DCSDE_ASSERT(Y.data() != X.data(), "objective: the output block must not alias the input");
  constexpr Index kRowTile = 512;
  const Index m = M.rows();
  const Index depth = M.cols();
  const Index cols = X.cols();
  Y.setZero();
  for (Index i0 = 0; i0 < m; i0 += kRowTile) {
    const Index rows = std::min(kRowTile, m - i0);
    Index j = 0;
    for (; j + 4 <= cols; j += 4) {
      double* y0 = Y.col(j).data() + i0;
      double* y1 = Y.col(j + 1).data() + i0;
      double* y2 = Y.col(j + 2).data() + i0;
      double* y3 = Y.col(j + 3).data() + i0;
      for (Index k = 0; k < depth; ++k) {
        const double* mk = M.col(k).data() + i0;
        const double x0 = X(k, j), x1 = X(k, j + 1), x2 = X(k, j + 2), x3 = X(k, j + 3);
        for (Index i = 0; i < rows; ++i) {
          const double v = mk[i];
          y0[i] += v * x0;
          y1[i] += v * x1;
          y2[i] += v * x2;
          y3[i] += v * x3;
        }
      }
    }
    for (; j < cols; ++j) {
      double* y = Y.col(j).data() + i0;
      for (Index k = 0; k < depth; ++k) {
        const double* mk = M.col(k).data() + i0;
        const double x = X(k, j);
        for (Index i = 0; i < rows; ++i) y[i] += mk[i] * x;
      }
    }
  }
}

// A rows x cols scratch block over thread-local storage that only grows, so a warm thread
// allocates nothing, whatever the block widths it sees. `slot` tells apart the blocks that one
// call needs at the same time. Calls run concurrently on column blocks, hence thread-local.
inline Eigen::Map<Batch> scratch(int slot, Index rows, Index cols) {
  constexpr int kSlots = 2;
  DCSDE_ASSERT(slot >= 0 && slot < kSlots, "scratch: no such slot");
  thread_local Vector storage[kSlots];
  Vector& buffer = storage[slot];
  if (buffer.size() < rows * cols) buffer.resize(rows * cols);
  return Eigen::Map<Batch>(buffer.data(), rows, cols);
}

}  // namespace dcsde::detail
