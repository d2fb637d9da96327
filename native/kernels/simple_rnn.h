// SimpleRNN over a whole batch of sequences, forward and backward (BPTT), in the cells' layout
// (ops/recurrent_cell.h):
//   kernel [F, H], recurrentKernel [H, H], bias [H]
//   h_t = act(x_t W + (h_{t-1} * m) U + b)      m: recurrent dropout mask (kernels/recurrent_dropout.h), or 1
// act = activation (element-wise ones only; not Softmax).
//
// The states buffer doubles as the gates buffer: one GEMM writes x_t W + b for every step into h_1..h_T, then
// each step adds h_{t-1} U on its active rows and activates in place. Nothing here allocates.
#pragma once

#include <cstdint>

#include "kernels/activations.h"
#include "kernels/packed_product.h"
#include "kernels/recurrent_dropout.h"
#include "kernels/recurrent_shape.h"

namespace rnnkit::kernels {

template <typename T>
struct SimpleRnnParams {
  const T* kernel = nullptr;           // [F, H]
  const T* recurrentKernel = nullptr;  // [H, H]
  const T* bias = nullptr;             // [H], or nullptr without bias
};

template <typename T>
struct SimpleRnnGradients {
  T* dKernel = nullptr;           // [F, H] (overwritten)
  T* dRecurrentKernel = nullptr;  // [H, H] (overwritten)
  T* dBias = nullptr;             // [H] (overwritten), or nullptr without bias
  T* dx = nullptr;                // [T, B, F] (overwritten), or nullptr when not needed
  T* dh0 = nullptr;               // [B, H] gradient of the initial state, or nullptr
};

// Caller-owned scratch for backward.
template <typename T>
struct SimpleRnnBackwardScratch {
  T* dPre = nullptr;  // [T, B, H] pre-activation gradients dZ
  T* dh = nullptr;    // [B, H] running gradient of h
};

// `products`: the cell's packed-U storage (kernels/packed_product.h), or nullptr for a temporary one.
// x [T, B, F]; activeRows [T] (rows [0, activeRows[s]) run step s) or nullptr for all rows.
// h0 [B, H] or nullptr for zeros. states [T+1, B, H] receives h_0 .. h_T.
// x rows past their length must be finite: they enter the all-step GEMMs (multiplied by zero in backward).
template <typename T>
void simpleRnnForward(const RecurrentShape& shape, Activation activation, const T* x, const int32_t* activeRows,
                      const SimpleRnnParams<T>& params, const T* h0, T* states,
                      const RecurrentMask<T>& dropout = {}, RecurrentProducts<T>* products = nullptr);

// Caller-owned scratch for simpleRnnInfer (the operand layout: kernels/stacked_steps.h).
template <typename T>
struct SimpleRnnInferenceScratch {
  // [H+F, H]: the recurrent kernel's rows, then the kernel's; with one row instead b + x_s W for up to H+F steps
  T* stackedKernel = nullptr;
  T* rows = nullptr;           // [2, B, inferenceRowStride(shape)]: [h_{t-1} | x_t] of the current and next step
};

// Forward for inference (predict, evaluate), as lstmInfer (kernels/lstm.h): h_t = act(b + [h_{t-1} | x_t] [U; W]),
// one product per step written straight into the next step's rows, no states buffer. Agrees with simpleRnnForward,
// which rounds as (b + x_t W) + h_{t-1} U, to float rounding. With one row, as lstmInfer, the inputs of H+F steps are
// projected in one product and a step's GEMV reads only U. hSeq [T, B, H] receives h after each step (a row past
// its length: its held state), or nullptr; hFinal [B, H] the final h, or nullptr.
template <typename T>
void simpleRnnInfer(const RecurrentShape& shape, Activation activation, const T* x, const int32_t* activeRows,
                    const SimpleRnnParams<T>& params, const T* h0, const SimpleRnnInferenceScratch<T>& scratch,
                    T* hSeq, T* hFinal, PackedProduct<T>* product = nullptr);

// Backward through the forward that filled `states` (same shape, x, activeRows, params and dropout).
// dhSeq [T, B, H] gradient reaching h_t from the outputs, or nullptr; dhFinal [B, H] or nullptr.
// A row past its length passes dh through unchanged and contributes nothing to the parameter gradients.
template <typename T>
void simpleRnnBackward(const RecurrentShape& shape, Activation activation, const T* x, const int32_t* activeRows,
                       const SimpleRnnParams<T>& params, const T* states, const T* dhSeq, const T* dhFinal,
                       const SimpleRnnBackwardScratch<T>& scratch, const SimpleRnnGradients<T>& gradients,
                       const RecurrentMask<T>& dropout = {}, RecurrentProducts<T>* products = nullptr);

}  // namespace rnnkit::kernels
