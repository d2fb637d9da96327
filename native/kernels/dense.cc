#include "kernels/dense.h"

#include <Eigen/Core>

#include "kernels/cell_maps.h"

namespace rnnkit::kernels {
namespace {

using namespace cellmaps;

// Each row of z [rows, cols] becomes softmax(row); subtracting the row max keeps exp() <= 1, so no overflow.
template <typename T>
void softmaxRowsInPlace(int64_t rows, int64_t cols, T* z) {
  for (int64_t r = 0; r < rows; ++r) {
    ArrayMap<T> row(z + r * cols, cols);
    row = (row - row.maxCoeff()).exp();
    row /= row.sum();
  }
}

// dz = y * (dy - <dy, y>) per row: the softmax Jacobian diag(y) - y y^T applied to dy.
template <typename T>
void softmaxBackwardRowsInPlace(int64_t rows, int64_t cols, const T* y, T* dy) {
  for (int64_t r = 0; r < rows; ++r) {
    ConstArrayMap<T> activated(y + r * cols, cols);
    ArrayMap<T> grad(dy + r * cols, cols);
    const T projection = (grad * activated).sum();
    grad = activated * (grad - projection);
  }
}

}  // namespace

template <typename T>
void denseForward(int64_t rows, int64_t inSize, int64_t outSize, Activation act, const T* x, const T* kernel,
                  const T* bias, T* y) {
  ConstMatrixMap<T> input(x, rows, inSize);
  ConstMatrixMap<T> weights(kernel, inSize, outSize);
  MatrixMap<T> output(y, rows, outSize);
  output.noalias() = input * weights;
  if (bias != nullptr) output.rowwise() += ConstRowVectorMap<T>(bias, outSize);
  if (act == Activation::Softmax) {
    softmaxRowsInPlace(rows, outSize, y);
  } else {
    activateInPlace(act, y, rows * outSize);
  }
}

template <typename T>
void denseBackward(int64_t rows, int64_t inSize, int64_t outSize, Activation act, const T* x, const T* kernel,
                   const T* y, T* dy, T* dKernel, T* dBias, T* dx) {
  if (act == Activation::Softmax) {
    softmaxBackwardRowsInPlace(rows, outSize, y, dy);
  } else {
    multiplyByDerivative(act, y, dy, rows * outSize);
  }
  ConstMatrixMap<T> input(x, rows, inSize);
  ConstMatrixMap<T> weights(kernel, inSize, outSize);
  ConstMatrixMap<T> dz(dy, rows, outSize);
  // Eigen zero-fills the destination of a product whose inner size is 0, so rows == 0 gives dKernel = 0.
  MatrixMap<T>(dKernel, inSize, outSize).noalias() = input.transpose() * dz;
  if (dBias != nullptr) RowVectorMap<T>(dBias, outSize).noalias() = dz.colwise().sum();
  if (dx != nullptr) MatrixMap<T>(dx, rows, inSize).noalias() = dz * weights.transpose();
}

template void denseForward<float>(int64_t, int64_t, int64_t, Activation, const float*, const float*, const float*,
                                  float*);
template void denseForward<double>(int64_t, int64_t, int64_t, Activation, const double*, const double*,
                                   const double*, double*);
template void denseBackward<float>(int64_t, int64_t, int64_t, Activation, const float*, const float*, const float*,
                                   float*, float*, float*, float*);
template void denseBackward<double>(int64_t, int64_t, int64_t, Activation, const double*, const double*,
                                    const double*, double*, double*, double*, double*);

}  // namespace rnnkit::kernels
