// Scalar and batch types shared by every family.
//
// A state is a `Batch`: a d x R column-major matrix, one column per Monte Carlo replica
// (DESIGN.md "Batched everywhere"). Families take `Eigen::Ref<>` so that column blocks of a
// larger batch are passed without copies [Eigen].
#pragma once

#include <Eigen/Core>
#include <cstdint>

namespace dcsde {

using Scalar = double;
using Index = Eigen::Index;
using Batch = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;  // d x R
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;              // d
using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;           // 1 x R

using BatchRef = Eigen::Ref<Batch>;
using ConstBatchRef = Eigen::Ref<const Batch>;
using VectorRef = Eigen::Ref<Vector>;
using ConstVectorRef = Eigen::Ref<const Vector>;
using RowVectorRef = Eigen::Ref<RowVector>;

}  // namespace dcsde
