// The GRU inference pass (gruInfer, gru.h): stacked per-step products over [h_{t-1} | x_t], kernels/stacked_steps.h.
#include <algorithm>

#include "kernels/gru.h"
#include "kernels/gru_rows.h"
#include "kernels/stacked_steps.h"

namespace rnnkit::kernels {
namespace {

using namespace grurows;

// The bias each inference step starts from (GruInferenceScratch::bias); zeros without one.
template <typename T>
void stepBias(const GruOptions& options, const T* bias, int64_t hiddenSize, T* stepBias) {
  const int64_t H = hiddenSize, G = 3 * H;
  if (!bias) {
    std::fill(stepBias, stepBias + G, T(0));
  } else if (options.resetAfter) {
    ArrayMap<T>(stepBias, 2 * H) = ConstArrayMap<T>(bias, 2 * H) + ConstArrayMap<T>(bias + G, 2 * H);
    std::copy(bias + G + 2 * H, bias + 2 * G, stepBias + 2 * H);
  } else {
    std::copy(bias, bias + G, stepBias);
  }
}

template <typename T>
void inferResetAfter(const RecurrentShape& shape, const GruOptions& options, const T* x, const int32_t* activeRows,
                     const GruParams<T>& params, const T* h0, const GruInferenceScratch<T>& scratch, T* hSeq,
                     T* hFinal, PackedProduct<T>* products) {
  const int64_t B = shape.batch, F = shape.inputSize, H = shape.hiddenSize, G = 3 * H;
  StackedSteps<T> steps(shape, G, {params.kernel, G, 2 * H}, {params.recurrentKernel, G, G}, h0,
                        scratch.stackedKernel, scratch.rows, products[0]);
  const int64_t stride = steps.stride();
  products[1].bind(params.kernel + gateColumn(GruGate::Candidate, H), G, false, F, H, B);  // W_h
  const T* inputCandidateBias = params.bias ? params.bias + gateColumn(GruGate::Candidate, H) : nullptr;
  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t active = activeAt(activeRows, s, B);
    fillRows(scratch.bias, G, active, scratch.z, G);
    fillRows(inputCandidateBias, H, active, scratch.candidateRows, stride);
    steps.multiplyAdd(x, s, active, scratch.z, G);  // also puts x_s into in(s), after h_{t-1}
    products[1].multiplyAdd(steps.in(s) + H, stride, active, scratch.candidateRows, stride);
    for (int64_t r = 0; r < active; ++r) {
      T* gateRow = scratch.z + r * G;
      activateInPlace(options.recurrentActivation, gateRow, 2 * H);
      // pre_hh = (x W_h + b_i_h) + r * hz_h, in the candidate slot where hz_h was
      ArrayMap<T> candidate(gateRow + gateColumn(GruGate::Candidate, H), H);
      candidate = ConstArrayMap<T>(scratch.candidateRows + r * stride, H) +
                  ConstArrayMap<T>(gateRow + gateColumn(GruGate::Reset, H), H) * candidate;
      finishForwardRow(options.activation, gateRow, steps.in(s) + r * stride, steps.out(s) + r * stride, H);
    }
    steps.finishStep(s, active, hSeq);
  }
  steps.finalState(hFinal);
}

template <typename T>
void inferResetBefore(const RecurrentShape& shape, const GruOptions& options, const T* x, const int32_t* activeRows,
                      const GruParams<T>& params, const T* h0, const GruInferenceScratch<T>& scratch, T* hSeq,
                      T* hFinal, PackedProduct<T>* products) {
  const int64_t B = shape.batch, F = shape.inputSize, H = shape.hiddenSize, G = 3 * H;
  StackedSteps<T> steps(shape, 2 * H, {params.kernel, G, 2 * H}, {params.recurrentKernel, G, 2 * H}, h0,
                        scratch.stackedKernel, scratch.rows, products[0]);
  const int64_t stride = steps.stride();
  const int64_t candidate = gateColumn(GruGate::Candidate, H);
  T* candidateKernel = scratch.stackedKernel + (H + F) * 2 * H;  // [U_h; W_h]
  stackWeights<T>({params.recurrentKernel + candidate, G, H}, H, {params.kernel + candidate, G, H}, F, H,
                  candidateKernel);
  products[1].bind(candidateKernel, H, false, H + F, H, B);
  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t active = activeAt(activeRows, s, B);
    fillRows(scratch.bias, G, active, scratch.z, G);
    steps.multiplyAdd(x, s, active, scratch.z, G);  // z, r; also puts x_s into in(s), after h_{t-1}
    for (int64_t r = 0; r < active; ++r) {
      T* gateRow = scratch.z + r * G;
      activateInPlace(options.recurrentActivation, gateRow, 2 * H);
      const T* in = steps.in(s) + r * stride;
      T* candidateRow = scratch.candidateRows + r * stride;
      ArrayMap<T>(candidateRow, H) =
          ConstArrayMap<T>(gateRow + gateColumn(GruGate::Reset, H), H) * ConstArrayMap<T>(in, H);
      std::copy(in + H, in + H + F, candidateRow + H);
    }
    products[1].multiplyAdd(scratch.candidateRows, stride, active, scratch.z + candidate, G);
    for (int64_t r = 0; r < active; ++r) {
      finishForwardRow(options.activation, scratch.z + r * G, steps.in(s) + r * stride, steps.out(s) + r * stride, H);
    }
    steps.finishStep(s, active, hSeq);
  }
  steps.finalState(hFinal);
}

}  // namespace

template <typename T>
void gruInfer(const RecurrentShape& shape, const GruOptions& options, const T* x, const int32_t* activeRows,
              const GruParams<T>& params, const T* h0, const GruInferenceScratch<T>& scratch, T* hSeq, T* hFinal,
              PackedProduct<T>* products) {
  PackedProduct<T> temporary[2];
  stepBias(options, params.bias, shape.hiddenSize, scratch.bias);
  if (options.resetAfter) {
    inferResetAfter(shape, options, x, activeRows, params, h0, scratch, hSeq, hFinal, products ? products : temporary);
  } else {
    inferResetBefore(shape, options, x, activeRows, params, h0, scratch, hSeq, hFinal, products ? products : temporary);
  }
}

#define RNNKIT_INSTANTIATE_GRU_INFER(T)                                                                          \
  template void gruInfer<T>(const RecurrentShape&, const GruOptions&, const T*, const int32_t*,                \
                            const GruParams<T>&, const T*, const GruInferenceScratch<T>&, T*, T*, PackedProduct<T>*);
RNNKIT_INSTANTIATE_GRU_INFER(float)
RNNKIT_INSTANTIATE_GRU_INFER(double)
#undef RNNKIT_INSTANTIATE_GRU_INFER

}  // namespace rnnkit::kernels
