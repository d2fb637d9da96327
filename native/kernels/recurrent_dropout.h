// Recurrent dropout (Keras semantics) shared by the SimpleRNN, LSTM and GRU kernels (private helper).
//
// One mask m [B, H] per layer call, in cell row order, fixed for every step and already divided by the keep
// probability. h_{t-1} enters the recurrent products as h_{t-1} * m; everything else (the GRU blend
// z * h_{t-1} + (1 - z) * hh, states handed to the next layer) sees the unmasked h_{t-1}. Backward:
//   dU = (Hprev * m)^T dZ  over all steps (the masked states are kept by forward for this GEMM),
//   dh_{t-1} = (other paths) + (dZ U^T) * m.
#pragma once

#include <cstdint>

#include "kernels/activations.h"

namespace rnnkit::kernels {

template <typename T>
struct RecurrentMask {
  const T* mask = nullptr;  // [B, H], or nullptr: no recurrent dropout (every other field is then unused)
  T* maskedPrev = nullptr;  // [T, B, H] tape: step s holds h_s * m, written by forward, read by backward
  T* dMasked = nullptr;     // [B, H] backward scratch: gradient reaching h_{t-1} * m (used by the GRU)
};

// The left operand of step s's recurrent GEMM: h_s itself, or h_s * m written into the tape. Every row is
// masked (not just the active ones) so the all-step dU GEMM reads finite values only.
template <typename T>
const T* recurrentInput(const RecurrentMask<T>& dropout, const T* hPrev, int64_t step, int64_t stateStride) {
  if (!dropout.mask) return hPrev;
  T* masked = dropout.maskedPrev + step * stateStride;
  ArrayMap<T>(masked, stateStride) =
      ConstArrayMap<T>(hPrev, stateStride) * ConstArrayMap<T>(dropout.mask, stateStride);
  return masked;
}

// The [T, B, H] left operand of the all-step dU GEMM: the masked tape, or the states themselves.
template <typename T>
const T* recurrentInputs(const RecurrentMask<T>& dropout, const T* states) {
  return dropout.mask ? dropout.maskedPrev : states;
}

// The GEMM part of dh_{t-1} reached h_{t-1} through h_{t-1} * m: multiply its first `count` values by m.
template <typename T>
void maskGradient(const RecurrentMask<T>& dropout, T* gradient, int64_t count) {
  if (dropout.mask) ArrayMap<T>(gradient, count) *= ConstArrayMap<T>(dropout.mask, count);
}

}  // namespace rnnkit::kernels
