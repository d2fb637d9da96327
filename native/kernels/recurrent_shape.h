// Shape of one recurrent pass in the kernels' layout: time-major, processing order, [T, B, F] inputs.
#pragma once

#include <cstdint>

namespace rnnkit::kernels {

struct RecurrentShape {
  int64_t steps;       // T: time steps in processing order
  int64_t batch;       // B: rows; when lengths vary they are sorted so the active rows at a step are a prefix
  int64_t inputSize;   // F
  int64_t hiddenSize;  // H
};

// Row stride of the inference kernels' per-step operand rows [h_{t-1} | x_t] (lstmInfer, simpleRnnInfer,
// gruInfer): H + F rounded up to 16 values, so every row's h starts as aligned as the buffer (Eigen's element-wise code peels an
// unaligned head with scalar code, whose rounding must not depend on a row's position).
inline int64_t inferenceRowStride(const RecurrentShape& shape) {
  constexpr int64_t kAlign = 16;  // values: 64 bytes of float
  return (shape.hiddenSize + shape.inputSize + kAlign - 1) / kAlign * kAlign;
}

}  // namespace rnnkit::kernels
