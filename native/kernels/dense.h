// Fully connected layer kernels: y = act(x W + b) over a batch of rows, and its backward pass.
//
// Layout (row-major): x [rows, inSize], kernel [inSize, outSize] (Keras layout), bias [outSize],
// y [rows, outSize]. A Dense layer after a recurrent layer with returnSequences sees rows = B * T.
// Softmax is applied per row and is numerically stable: softmax(z) = exp(z - max z) / sum exp(z - max z).
// Kernels trust their inputs: the op validates shapes and that no pointer aliases another.
#pragma once

#include <cstdint>

#include "kernels/activations.h"

namespace rnnkit::kernels {

// y = act(x kernel + bias); bias may be nullptr (no bias). Overwrites y.
template <typename T>
void denseForward(int64_t rows, int64_t inSize, int64_t outSize, Activation act, const T* x, const T* kernel,
                  const T* bias, T* y);

// Backward through denseForward, given y (the activated output it produced).
// dy holds dL/dy on entry and is overwritten with dL/dz, z = x kernel + bias:
//   element-wise act: dz = dy * f'(z) (written in terms of y, see activations.h)
//   softmax:          dz = y * (dy - rowsum(dy * y))
// Then dKernel = x^T dz [inSize, outSize], dBias = column sums of dz [outSize], dx = dz kernel^T [rows, inSize].
// All three overwrite; dBias and dx may be nullptr when not needed.
template <typename T>
void denseBackward(int64_t rows, int64_t inSize, int64_t outSize, Activation act, const T* x, const T* kernel,
                   const T* y, T* dy, T* dKernel, T* dBias, T* dx);

}  // namespace rnnkit::kernels
