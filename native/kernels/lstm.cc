#include "kernels/lstm.h"

#include <algorithm>

#include "kernels/cell_maps.h"
#include "kernels/input_projection.h"
#include "kernels/stacked_steps.h"

namespace rnnkit::kernels {
namespace {

using namespace cellmaps;

// i and f share the recurrent activation and sit next to each other, so one call covers both.
static_assert(static_cast<int64_t>(LstmGate::F) == static_cast<int64_t>(LstmGate::I) + 1, "i, f adjacent");

template <typename T>
T* gate(T* row, LstmGate which, int64_t hiddenSize) {
  return row + static_cast<int64_t>(which) * hiddenSize;
}

// One row of one step: activates the gate pre-activations in place and writes the new states.
//   c_t = f * c_{t-1} + i * g,  h_t = o * act(c_t)
template <typename T>
void forwardRow(const LstmActivations& act, int64_t hiddenSize, T* gatesRow, const T* cPrev, T* cNext,
                T* cellActivated, T* hNext) {
  const int64_t H = hiddenSize;
  activateInPlace(act.recurrentActivation, gate(gatesRow, LstmGate::I, H), 2 * H);
  activateInPlace(act.activation, gate(gatesRow, LstmGate::C, H), H);
  activateInPlace(act.recurrentActivation, gate(gatesRow, LstmGate::O, H), H);
  ConstArrayMap<T> i(gate(gatesRow, LstmGate::I, H), H), f(gate(gatesRow, LstmGate::F, H), H);
  ConstArrayMap<T> g(gate(gatesRow, LstmGate::C, H), H), o(gate(gatesRow, LstmGate::O, H), H);
  ArrayMap<T> c(cNext, H), a(cellActivated, H);
  c = f * ConstArrayMap<T>(cPrev, H) + i * g;
  a = c;
  activateInPlace(act.activation, cellActivated, H);
  ArrayMap<T>(hNext, H) = o * a;
}

// One row of one step backward. On entry dh = dL/dh_t, dc = dL/dc_t from later steps; on exit dc = dL/dc_{t-1}
// and dZ holds dL/dz (dh_{t-1} is left to the caller's GEMM):
//   dz_o = dh * act(c_t) * rec'(o)
//   dc_t += dh * o * act'(c_t)
//   dz_i = dc_t * g * rec'(i),  dz_f = dc_t * c_{t-1} * rec'(f),  dz_c = dc_t * i * act'(g)
//   dc_{t-1} = dc_t * f
template <typename T>
void backwardRow(const LstmActivations& act, int64_t hiddenSize, const T* gatesRow, const T* cPrev,
                 const T* cellActivated, const T* dhRow, T* dcRow, T* dZRow) {
  const int64_t H = hiddenSize;
  ConstArrayMap<T> i(gate(gatesRow, LstmGate::I, H), H), f(gate(gatesRow, LstmGate::F, H), H);
  ConstArrayMap<T> g(gate(gatesRow, LstmGate::C, H), H), o(gate(gatesRow, LstmGate::O, H), H);
  ConstArrayMap<T> a(cellActivated, H), dh(dhRow, H);
  ArrayMap<T> dc(dcRow, H);
  ArrayMap<T> dZi(gate(dZRow, LstmGate::I, H), H), dZf(gate(dZRow, LstmGate::F, H), H);
  ArrayMap<T> dZc(gate(dZRow, LstmGate::C, H), H), dZo(gate(dZRow, LstmGate::O, H), H);

  dZo = dh * a;
  multiplyByDerivative(act.recurrentActivation, o.data(), dZo.data(), H);
  dZi = dh * o;  // dZi as scratch for dh * o * act'(c_t)
  multiplyByDerivative(act.activation, cellActivated, dZi.data(), H);
  dc += dZi;
  dZi = dc * g;
  dZf = dc * ConstArrayMap<T>(cPrev, H);
  dZc = dc * i;
  multiplyByDerivative(act.recurrentActivation, i.data(), dZi.data(), 2 * H);
  multiplyByDerivative(act.activation, g.data(), dZc.data(), H);
  dc *= f;
}

// Weight and input gradients as GEMMs over all T*B rows; rows past their length have dZ = 0.
//   dW = X^T dZ,  dU = (Hprev * m)^T dZ,  db = colsum(dZ),  dX = dZ W^T
// (hPrev is the masked tape under recurrent dropout, the h states otherwise)
template <typename T>
void parameterGradients(const RecurrentShape& shape, const T* x, const LstmParams<T>& params,
                        const T* hPrev, const T* dGates, const LstmGradients<T>& gradients) {
  const int64_t rows = shape.steps * shape.batch, F = shape.inputSize, H = shape.hiddenSize;
  const int64_t width = kLstmGateCount * H;
  ConstMatrixMap<T> dZ(dGates, rows, width);
  ConstMatrixMap<T> X(x, rows, F);
  MatrixMap<T>(gradients.dKernel, F, width).noalias() = X.transpose() * dZ;
  MatrixMap<T>(gradients.dRecurrentKernel, H, width).noalias() =
      ConstMatrixMap<T>(hPrev, rows, H).transpose() * dZ;
  if (gradients.dBias) RowVectorMap<T>(gradients.dBias, width) = dZ.colwise().sum();
  if (gradients.dx) {
    MatrixMap<T>(gradients.dx, rows, F).noalias() = dZ * ConstMatrixMap<T>(params.kernel, F, width).transpose();
  }
}

}  // namespace

template <typename T>
void lstmForward(const RecurrentShape& shape, const LstmActivations& activations, const T* x,
                 const int32_t* activeRows, const LstmParams<T>& params, const T* h0, const T* c0,
                 const LstmTape<T>& tape, const RecurrentMask<T>& dropout, RecurrentProducts<T>* products) {
  const int64_t B = shape.batch, H = shape.hiddenSize, width = kLstmGateCount * H;
  const int64_t stateStride = B * H, gateStride = B * width;
  projectInputs(x, shape.steps * B, shape.inputSize, params.kernel, width, params.bias, tape.gates);
  copyOrZero(h0, tape.h, stateStride);
  copyOrZero(c0, tape.c, stateStride);
  RecurrentProducts<T> temporary;
  PackedProduct<T>& recurrent = (products ? products : &temporary)->forward[0];
  recurrent.bind(params.recurrentKernel, width, false, H, width, B);  // z += h_{t-1} U

  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t active = activeAt(activeRows, s, B);
    T* gatesStep = tape.gates + s * gateStride;
    const T* hPrev = tape.h + s * stateStride;
    const T* cPrev = tape.c + s * stateStride;
    T* hNext = tape.h + (s + 1) * stateStride;
    T* cNext = tape.c + (s + 1) * stateStride;
    T* cellActivated = tape.cellActivated + s * stateStride;
    const T* hRecurrent = recurrentInput(dropout, hPrev, s, stateStride);
    recurrent.multiplyAdd(hRecurrent, H, active, gatesStep, width);
    for (int64_t r = 0; r < active; ++r) {
      forwardRow(activations, H, gatesStep + r * width, cPrev + r * H, cNext + r * H, cellActivated + r * H,
                 hNext + r * H);
    }
    // Rows past their length keep their state.
    std::copy(hPrev + active * H, hPrev + stateStride, hNext + active * H);
    std::copy(cPrev + active * H, cPrev + stateStride, cNext + active * H);
  }
}

template <typename T>
void lstmInfer(const RecurrentShape& shape, const LstmActivations& activations, const T* x,
               const int32_t* activeRows, const LstmParams<T>& params, const T* h0, const T* c0,
               const LstmInferenceScratch<T>& scratch, T* hSeq, T* hFinal, T* cFinal, PackedProduct<T>* product) {
  const int64_t B = shape.batch, H = shape.hiddenSize, width = kLstmGateCount * H;
  PackedProduct<T> temporary;
  StackedSteps<T> steps(shape, width, {params.kernel, width, width}, {params.recurrentKernel, width, width}, h0,
                        scratch.stackedKernel, scratch.rows, product ? *product : temporary);
  copyOrZero(c0, scratch.c, B * H);
  // One row: the steps are memory-bound GEMVs that read all of [U; W] from cache each step. Projecting the inputs of
  // up to H+F steps in one product (into stackedKernel, which the one-row path does not otherwise use) reads W once
  // per chunk, so a step reads only U (I1, LSTM 128: 256 of 320 KB).
  const int64_t projectedSteps = H + shape.inputSize;
  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t active = activeAt(activeRows, s, B);
    if (B == 1) {
      if (s % projectedSteps == 0) {
        const int64_t rows = std::min(projectedSteps, shape.steps - s);
        projectInputs(x + s * shape.inputSize, rows, shape.inputSize, params.kernel, width, params.bias,
                      scratch.stackedKernel);
      }
      if (active == 1) {
        const T* projected = scratch.stackedKernel + (s % projectedSteps) * width;
        std::copy(projected, projected + width, scratch.z);
        steps.recurrentMultiplyAdd(s, scratch.z);
      }
    } else {
      fillRows(params.bias, width, active, scratch.z, width);
      steps.multiplyAdd(x, s, active, scratch.z, width);
    }
    T* out = steps.out(s);
    for (int64_t r = 0; r < active; ++r) {
      T* hNext = out + r * steps.stride();
      T* c = scratch.c + r * H;
      // act(c_t) goes straight into hNext, which forwardRow then scales by o in place; c is updated in place.
      forwardRow(activations, H, scratch.z + r * width, c, c, hNext, hNext);
    }
    steps.finishStep(s, active, hSeq);
  }
  steps.finalState(hFinal);
  if (cFinal) std::copy(scratch.c, scratch.c + B * H, cFinal);
}

template <typename T>
void lstmBackward(const RecurrentShape& shape, const LstmActivations& activations, const T* x,
                  const int32_t* activeRows, const LstmParams<T>& params, const LstmTape<T>& tape,
                  const T* dhSeq, const T* dhFinal, const T* dcFinal, const LstmBackwardScratch<T>& scratch,
                  const LstmGradients<T>& gradients, const RecurrentMask<T>& dropout,
                  RecurrentProducts<T>* products) {
  const int64_t B = shape.batch, H = shape.hiddenSize, width = kLstmGateCount * H;
  const int64_t stateStride = B * H, gateStride = B * width;
  copyOrZero(dhFinal, scratch.dh, stateStride);
  copyOrZero(dcFinal, scratch.dc, stateStride);
  RecurrentProducts<T> temporary;
  PackedProduct<T>& recurrentTransposed = (products ? products : &temporary)->backward[0];
  recurrentTransposed.bind(params.recurrentKernel, width, true, width, H, B);  // dh_{t-1} = dZ U^T

  for (int64_t s = shape.steps - 1; s >= 0; --s) {
    const int64_t active = activeAt(activeRows, s, B);
    // h_{s+1} feeds both the outputs and step s+1; a copied row's output gradient flows back to its state.
    if (dhSeq) ArrayMap<T>(scratch.dh, stateStride) += ConstArrayMap<T>(dhSeq + s * stateStride, stateStride);
    const T* gatesStep = tape.gates + s * gateStride;
    const T* cPrev = tape.c + s * stateStride;
    const T* cellActivated = tape.cellActivated + s * stateStride;
    T* dZStep = scratch.dGates + s * gateStride;
    for (int64_t r = 0; r < active; ++r) {
      backwardRow(activations, H, gatesStep + r * width, cPrev + r * H, cellActivated + r * H,
                  scratch.dh + r * H, scratch.dc + r * H, dZStep + r * width);
    }
    std::fill(dZStep + active * width, dZStep + gateStride, T(0));
    // dh_{t-1} = (dZ U^T) * m on the active rows; the others pass dh through unchanged.
    if (active > 0) {
      recurrentTransposed.multiplyAssign(dZStep, width, active, scratch.dh, H);
      maskGradient(dropout, scratch.dh, active * H);
    }
  }

  parameterGradients(shape, x, params, recurrentInputs(dropout, tape.h), scratch.dGates, gradients);
  if (gradients.dh0) std::copy(scratch.dh, scratch.dh + stateStride, gradients.dh0);
  if (gradients.dc0) std::copy(scratch.dc, scratch.dc + stateStride, gradients.dc0);
}

#define RNNKIT_INSTANTIATE_LSTM(T)                                                                          \
  template void lstmForward<T>(const RecurrentShape&, const LstmActivations&, const T*, const int32_t*,     \
                               const LstmParams<T>&, const T*, const T*, const LstmTape<T>&,                \
                               const RecurrentMask<T>&, RecurrentProducts<T>*);                             \
  template void lstmBackward<T>(const RecurrentShape&, const LstmActivations&, const T*, const int32_t*,    \
                                const LstmParams<T>&, const LstmTape<T>&, const T*, const T*, const T*,     \
                                const LstmBackwardScratch<T>&, const LstmGradients<T>&,                     \
                                const RecurrentMask<T>&, RecurrentProducts<T>*);                             \
  template void lstmInfer<T>(const RecurrentShape&, const LstmActivations&, const T*, const int32_t*,       \
                             const LstmParams<T>&, const T*, const T*, const LstmInferenceScratch<T>&, T*, T*, \
                             T*, PackedProduct<T>*);
RNNKIT_INSTANTIATE_LSTM(float)
RNNKIT_INSTANTIATE_LSTM(double)
#undef RNNKIT_INSTANTIATE_LSTM

}  // namespace rnnkit::kernels
