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

}  // namespace rnnkit::kernels
