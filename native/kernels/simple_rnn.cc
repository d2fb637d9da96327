#include "kernels/simple_rnn.h"

#include <algorithm>

#include "kernels/cell_maps.h"
#include "kernels/input_projection.h"
#include "kernels/stacked_steps.h"

namespace rnnkit::kernels {

using namespace cellmaps;

template <typename T>
void simpleRnnForward(const RecurrentShape& shape, Activation activation, const T* x, const int32_t* activeRows,
                      const SimpleRnnParams<T>& params, const T* h0, T* states, const RecurrentMask<T>& dropout,
                      RecurrentProducts<T>* products) {
  const int64_t B = shape.batch, H = shape.hiddenSize, rows = shape.steps * B, stateStride = B * H;
  // h_1..h_T first hold the input projections x_t W + b.
  projectInputs(x, rows, shape.inputSize, params.kernel, H, params.bias, states + stateStride);
  if (h0) {
    std::copy(h0, h0 + stateStride, states);
  } else {
    std::fill(states, states + stateStride, T(0));
  }
  RecurrentProducts<T> temporary;
  PackedProduct<T>& recurrent = (products ? products : &temporary)->forward[0];
  recurrent.bind(params.recurrentKernel, H, false, H, H, B);  // z += h_{t-1} U

  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t active = activeAt(activeRows, s, B);
    const T* hPrev = states + s * stateStride;
    T* hNext = states + (s + 1) * stateStride;
    const T* hRecurrent = recurrentInput(dropout, hPrev, s, stateStride);
    if (active > 0) {
      recurrent.multiplyAdd(hRecurrent, H, active, hNext, H);
      activateInPlace(activation, hNext, active * H);
    }
    // Rows past their length keep their state (overwriting their unused projection).
    std::copy(hPrev + active * H, hPrev + stateStride, hNext + active * H);
  }
}

template <typename T>
void simpleRnnInfer(const RecurrentShape& shape, Activation activation, const T* x, const int32_t* activeRows,
                    const SimpleRnnParams<T>& params, const T* h0, const SimpleRnnInferenceScratch<T>& scratch,
                    T* hSeq, T* hFinal, PackedProduct<T>* product) {
  const int64_t B = shape.batch, H = shape.hiddenSize;
  PackedProduct<T> temporary;
  StackedSteps<T> steps(shape, H, {params.kernel, H, H}, {params.recurrentKernel, H, H}, h0, scratch.stackedKernel,
                        scratch.rows, product ? *product : temporary);
  const int64_t stride = steps.stride();
  const int64_t projectedSteps = H + shape.inputSize;  // one row: b + x_s W of this many steps at a time (lstmInfer)
  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t active = activeAt(activeRows, s, B);
    // The pre-activation of each active row builds up in its h slot of the next step's rows.
    T* out = steps.out(s);
    if (B == 1) {
      if (s % projectedSteps == 0) {
        projectInputs(x + s * shape.inputSize, std::min(projectedSteps, shape.steps - s), shape.inputSize,
                      params.kernel, H, params.bias, scratch.stackedKernel);
      }
      if (active == 1) {
        const T* projected = scratch.stackedKernel + (s % projectedSteps) * H;
        std::copy(projected, projected + H, out);
        steps.recurrentMultiplyAdd(s, out);
      }
    } else {
      fillRows(params.bias, H, active, out, stride);
      steps.multiplyAdd(x, s, active, out, stride);
    }
    for (int64_t r = 0; r < active; ++r) activateInPlace(activation, out + r * stride, H);
    steps.finishStep(s, active, hSeq);
  }
  steps.finalState(hFinal);
}

template <typename T>
void simpleRnnBackward(const RecurrentShape& shape, Activation activation, const T* x, const int32_t* activeRows,
                       const SimpleRnnParams<T>& params, const T* states, const T* dhSeq, const T* dhFinal,
                       const SimpleRnnBackwardScratch<T>& scratch, const SimpleRnnGradients<T>& gradients,
                       const RecurrentMask<T>& dropout, RecurrentProducts<T>* products) {
  const int64_t B = shape.batch, F = shape.inputSize, H = shape.hiddenSize;
  const int64_t rows = shape.steps * B, stateStride = B * H;
  if (dhFinal) {
    std::copy(dhFinal, dhFinal + stateStride, scratch.dh);
  } else {
    std::fill(scratch.dh, scratch.dh + stateStride, T(0));
  }
  RecurrentProducts<T> temporary;
  PackedProduct<T>& recurrentTransposed = (products ? products : &temporary)->backward[0];
  recurrentTransposed.bind(params.recurrentKernel, H, true, H, H, B);  // dh_{t-1} = dZ U^T

  for (int64_t s = shape.steps - 1; s >= 0; --s) {
    const int64_t active = activeAt(activeRows, s, B);
    // h_{s+1} feeds both the outputs and step s+1; a copied row's output gradient flows back to its state.
    if (dhSeq) ArrayMap<T>(scratch.dh, stateStride) += ConstArrayMap<T>(dhSeq + s * stateStride, stateStride);
    T* dZStep = scratch.dPre + s * stateStride;
    // dz_t = dh_t * act'(z_t), written in terms of h_t = act(z_t)
    std::copy(scratch.dh, scratch.dh + active * H, dZStep);
    multiplyByDerivative(activation, states + (s + 1) * stateStride, dZStep, active * H);
    std::fill(dZStep + active * H, dZStep + stateStride, T(0));
    // dh_{t-1} = (dz_t U^T) * m on the active rows; the others pass dh through unchanged.
    if (active > 0) {
      recurrentTransposed.multiplyAssign(dZStep, H, active, scratch.dh, H);
      maskGradient(dropout, scratch.dh, active * H);
    }
  }

  // dW = X^T dZ,  dU = (Hprev * m)^T dZ,  db = colsum(dZ),  dX = dZ W^T  (rows past their length have dZ = 0)
  ConstMatrixMap<T> dZ(scratch.dPre, rows, H);
  ConstMatrixMap<T> X(x, rows, F);
  MatrixMap<T>(gradients.dKernel, F, H).noalias() = X.transpose() * dZ;
  MatrixMap<T>(gradients.dRecurrentKernel, H, H).noalias() =
      ConstMatrixMap<T>(recurrentInputs(dropout, states), rows, H).transpose() * dZ;
  if (gradients.dBias) RowVectorMap<T>(gradients.dBias, H) = dZ.colwise().sum();
  if (gradients.dx) {
    MatrixMap<T>(gradients.dx, rows, F).noalias() = dZ * ConstMatrixMap<T>(params.kernel, F, H).transpose();
  }
  if (gradients.dh0) std::copy(scratch.dh, scratch.dh + stateStride, gradients.dh0);
}

#define RNNKIT_INSTANTIATE_SIMPLE_RNN(T)                                                                    \
  template void simpleRnnForward<T>(const RecurrentShape&, Activation, const T*, const int32_t*,            \
                                    const SimpleRnnParams<T>&, const T*, T*, const RecurrentMask<T>&,      \
                                    RecurrentProducts<T>*);                                                \
  template void simpleRnnBackward<T>(const RecurrentShape&, Activation, const T*, const int32_t*,           \
                                     const SimpleRnnParams<T>&, const T*, const T*, const T*,               \
                                     const SimpleRnnBackwardScratch<T>&, const SimpleRnnGradients<T>&,   \
                                     const RecurrentMask<T>&, RecurrentProducts<T>*);                      \
  template void simpleRnnInfer<T>(const RecurrentShape&, Activation, const T*, const int32_t*,              \
                                  const SimpleRnnParams<T>&, const T*, const SimpleRnnInferenceScratch<T>&, \
                                  T*, T*, PackedProduct<T>*);
RNNKIT_INSTANTIATE_SIMPLE_RNN(float)
RNNKIT_INSTANTIATE_SIMPLE_RNN(double)
#undef RNNKIT_INSTANTIATE_SIMPLE_RNN

}  // namespace rnnkit::kernels
