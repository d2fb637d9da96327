// LSTM over a whole batch of sequences, forward and backward (BPTT), in the cells' layout (ops/recurrent_cell.h).
//
// Gates are packed along columns in Keras order i, f, c, o (G = 4):
//   kernel [F, 4H], recurrentKernel [H, 4H], bias [4H]
//   z   = x_t W + (h_{t-1} * m) U + b                   [B, 4H]  m: recurrent dropout mask or 1
//                                                     (kernels/recurrent_dropout.h)
//   i   = rec(z_i)   f = rec(z_f)   g = act(z_c)   o = rec(z_o)
//   c_t = f * c_{t-1} + i * g
//   h_t = o * act(c_t)
// rec = recurrentActivation, act = activation (element-wise ones only; not Softmax).
//
// Structure (as in cuDNN / marian): one GEMM projects the inputs of every step, then each step does one
// recurrent GEMM on its active rows and one fused element-wise pass per row. Backward mirrors it and forms the
// weight gradients with GEMMs over all T*B rows after the time loop. Nothing here allocates.
#pragma once

#include <cstdint>

#include "kernels/activations.h"
#include "kernels/packed_product.h"
#include "kernels/recurrent_dropout.h"
#include "kernels/recurrent_shape.h"

namespace rnnkit::kernels {

enum class LstmGate : int64_t { I = 0, F = 1, C = 2, O = 3 };
constexpr int64_t kLstmGateCount = 4;

struct LstmActivations {
  Activation activation = Activation::Tanh;              // candidate g and the cell output act(c_t)
  Activation recurrentActivation = Activation::Sigmoid;  // gates i, f, o
};

template <typename T>
struct LstmParams {
  const T* kernel = nullptr;           // [F, 4H]
  const T* recurrentKernel = nullptr;  // [H, 4H]
  const T* bias = nullptr;             // [4H], or nullptr without bias
};

// What forward writes and backward reads; all buffers owned by the caller.
template <typename T>
struct LstmTape {
  T* gates = nullptr;          // [T, B, 4H] activated i, f, g, o (rows past their length: unspecified)
  T* h = nullptr;              // [T+1, B, H], entry 0 = initial state
  T* c = nullptr;              // [T+1, B, H]
  T* cellActivated = nullptr;  // [T, B, H] act(c_t) (rows past their length: unspecified)
};

template <typename T>
struct LstmGradients {
  T* dKernel = nullptr;           // [F, 4H] (overwritten)
  T* dRecurrentKernel = nullptr;  // [H, 4H] (overwritten)
  T* dBias = nullptr;             // [4H] (overwritten), or nullptr without bias
  T* dx = nullptr;                // [T, B, F] (overwritten), or nullptr when not needed
  T* dh0 = nullptr;               // [B, H] gradient of the initial h, or nullptr
  T* dc0 = nullptr;               // [B, H] gradient of the initial c, or nullptr
};

// Caller-owned scratch for backward.
template <typename T>
struct LstmBackwardScratch {
  T* dGates = nullptr;  // [T, B, 4H] pre-activation gradients dZ
  T* dh = nullptr;      // [B, H] running gradient of h
  T* dc = nullptr;      // [B, H] running gradient of c
};

// Caller-owned scratch for lstmInfer (the operand layout: kernels/stacked_steps.h).
template <typename T>
struct LstmInferenceScratch {
  // [H+F, 4H]: the recurrent kernel's rows, then the kernel's; with one row (B == 1) instead b + x_s W for up to
  // H+F steps at a time
  T* stackedKernel = nullptr;
  T* rows = nullptr;           // [2, B, inferenceRowStride(shape)]: [h_{t-1} | x_t] of the current and next step
  T* z = nullptr;              // [B, 4H] one step's pre-activations
  T* c = nullptr;              // [B, H] the running cell state
};

// `products`: the cell's packed-U storage (kernels/packed_product.h), or nullptr for a temporary one.
// x [T, B, F]; activeRows [T] (rows [0, activeRows[s]) run step s) or nullptr for all rows.
// h0, c0 [B, H] initial states or nullptr for zeros; they are copied into tape.h / tape.c entry 0.
// x rows past their length must be finite: they enter the all-step GEMMs (multiplied by zero in backward).
template <typename T>
void lstmForward(const RecurrentShape& shape, const LstmActivations& activations, const T* x,
                 const int32_t* activeRows, const LstmParams<T>& params, const T* h0, const T* c0,
                 const LstmTape<T>& tape, const RecurrentMask<T>& dropout = {},
                 RecurrentProducts<T>* products = nullptr);

// Forward for inference (predict, evaluate): the same model as lstmForward without a tape, and with one product
// per step over the stacked operands, z = b + [h_{t-1} | x_t] [U; W], where lstmForward rounds as
// (b + x_t W) + h_{t-1} U. So results agree with lstmForward to float rounding, not bit for bit; in exchange there
// is no [T, B, 4H] projection buffer, one product call per step instead of two, and no tape writes (I1 predict,
// batch 256: +13-20% samples/s on one thread). With one row a step is a GEMV on U as given (no copy), after one
// product b + x W over the inputs of up to H+F steps: the GEMVs are bound by reading the weights from cache, and this
// way W is read once per H+F steps instead of once per step (I1 batch 1: -15% kernel time).
// hSeq [T, B, H] receives h after each step (a row past its length: its held state), or nullptr; hFinal and cFinal
// [B, H] the h and c after the last step (a row past its length: its held state), or nullptr. `product`: the cell's
// packed-[U; W] storage, or nullptr for a temporary one.
template <typename T>
void lstmInfer(const RecurrentShape& shape, const LstmActivations& activations, const T* x,
               const int32_t* activeRows, const LstmParams<T>& params, const T* h0, const T* c0,
               const LstmInferenceScratch<T>& scratch, T* hSeq, T* hFinal, T* cFinal,
               PackedProduct<T>* product = nullptr);

// Backward through the forward that filled `tape` (same shape, x, activeRows, params and dropout).
// dhSeq [T, B, H] gradient reaching h_t from the outputs, or nullptr; dhFinal, dcFinal [B, H] or nullptr.
// A row past its length passes dh and dc through unchanged and contributes nothing to the parameter gradients.
template <typename T>
void lstmBackward(const RecurrentShape& shape, const LstmActivations& activations, const T* x,
                  const int32_t* activeRows, const LstmParams<T>& params, const LstmTape<T>& tape,
                  const T* dhSeq, const T* dhFinal, const T* dcFinal, const LstmBackwardScratch<T>& scratch,
                  const LstmGradients<T>& gradients, const RecurrentMask<T>& dropout = {},
                  RecurrentProducts<T>* products = nullptr);

}  // namespace rnnkit::kernels
