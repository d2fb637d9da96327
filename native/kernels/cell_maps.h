// Row-major Eigen views over raw buffers, shared by the kernels (private helper).
#pragma once

#include <Eigen/Core>
#include <cstdint>

namespace rnnkit::kernels::cellmaps {

template <typename T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MatrixMap = Eigen::Map<RowMajorMatrix<T>>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const RowMajorMatrix<T>>;
template <typename T>
using RowVectorMap = Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>;
template <typename T>
using ConstRowVectorMap = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

// Rows still running at step s: a prefix of the batch (see ops/recurrent_cell.h).
inline int64_t activeAt(const int32_t* activeRows, int64_t step, int64_t batch) {
  return activeRows ? activeRows[step] : batch;
}

}  // namespace rnnkit::kernels::cellmaps
