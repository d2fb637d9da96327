// Row-major Eigen views over raw buffers and small buffer fills, shared by the kernels (private helper).
#pragma once

#include <Eigen/Core>
#include <algorithm>
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

// target[0, count) = source[0, count), or zeros when source is nullptr (an optional state or bias).
template <typename T>
void copyOrZero(const T* source, T* target, int64_t count) {
  if (source) {
    std::copy(source, source + count, target);
  } else {
    std::fill(target, target + count, T(0));
  }
}

// The same `width` values (zeros when value is nullptr) at the start of each of `rows` rows, `stride` apart: the
// per-step bias the inference kernels' products accumulate onto.
template <typename T>
void fillRows(const T* value, int64_t width, int64_t rows, T* target, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r) copyOrZero(value, target + r * stride, width);
}

// Rows still running at step s: a prefix of the batch (see ops/recurrent_cell.h).
inline int64_t activeAt(const int32_t* activeRows, int64_t step, int64_t batch) {
  return activeRows ? activeRows[step] : batch;
}

}  // namespace rnnkit::kernels::cellmaps
