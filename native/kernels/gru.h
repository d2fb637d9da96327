// GRU kernels over a whole batch of sequences, both Keras forms. Layout is the cells' (ops/recurrent_cell.h):
// x [T, B, F] time-major, states [T+1, B, H] with entry 0 the initial state, and the rows still running at
// step s are the prefix [0, activeRows[s]) (activeRows == nullptr: all B rows run every step).
//
// Gates are packed along columns in Keras order z (update), r (reset), h (candidate):
//   kernel [F, 3H], recurrentKernel [H, 3H].
// resetAfter = true (Keras 2+ default, cuDNN form), bias [2, 3H] = input row b_i then recurrent row b_r:
//   xz = x W + b_i,  hz = h_{t-1} U + b_r
//   z = rec(xz_z + hz_z),  r = rec(xz_r + hz_r),  hh = act(xz_h + r * hz_h)
// resetAfter = false (tfjs form), bias [3H]:
//   z = rec(x W_z + h U_z + b_z),  r = rec(x W_r + h U_r + b_r),  hh = act(x W_h + (r * h_{t-1}) U_h + b_h)
// Both:  h_t = z * h_{t-1} + (1 - z) * hh
// Recurrent dropout (kernels/recurrent_dropout.h, Keras): every h_{t-1} above that meets U is h_{t-1} * m;
// the blend h_t = z * h_{t-1} + (1 - z) * hh keeps the unmasked h_{t-1}.
//
// As in cuDNN and marian, x W for all steps is one GEMM before the time loop; each step then does the
// recurrent GEMMs on its active rows and element-wise passes. The weight gradients are large GEMMs over all
// T*B rows after the backward loop. Kernels trust their inputs (ops/gru_cell.cc checks shapes) and allocate
// nothing: every buffer is passed in.
#pragma once

#include <cstdint>

#include "kernels/activations.h"
#include "kernels/packed_product.h"
#include "kernels/recurrent_dropout.h"
#include "kernels/recurrent_shape.h"

namespace rnnkit::kernels {

// Column block of a gate in a [*, 3H] row: columns [gate * H, (gate + 1) * H).
enum class GruGate : int64_t { Update = 0, Reset = 1, Candidate = 2 };

struct GruOptions {
  Activation activation = Activation::Tanh;              // candidate hh; element-wise only (not Softmax)
  Activation recurrentActivation = Activation::Sigmoid;  // z and r
  bool resetAfter = true;
};

template <typename T>
struct GruParams {
  const T* kernel;           // [F, 3H]
  const T* recurrentKernel;  // [H, 3H]
  const T* bias;             // resetAfter: [2, 3H], else [3H]; nullptr when the layer has no bias
};

// What the forward pass keeps for backward. Rows past a step's active prefix hold no meaningful gates;
// their `candidate` rows are zeroed so the large backward GEMMs may run over every row.
template <typename T>
struct GruTape {
  T* states;     // [T+1, B, H]; the caller fills entry 0 (initial state) before gruForward
  T* gates;      // [T, B, 3H]: activated z, r, hh
  T* candidate;  // [T, B, H]: resetAfter: hz_h = (h_{t-1} * m) U_h + b_r_h; else r * (h_{t-1} * m)
};

template <typename T>
struct GruGradients {
  T* kernel;           // [F, 3H]
  T* recurrentKernel;  // [H, 3H]
  T* bias;             // shape of GruParams::bias; nullptr when there is no bias
  T* x;                // [T, B, F], or nullptr when not needed
  T* initialState;     // [B, H], or nullptr when not needed
};

// Backward workspaces, overwritten.
template <typename T>
struct GruScratch {
  T* dGates;      // [T, B, 3H]: dL/d(pre-activation) of z, r, hh, i.e. the gradient of xz = x W + b_i
  T* dCandidate;  // [T, B, H]: resetAfter: dL/d(hz_h); else dL/d(r * h_{t-1})
  T* dState;      // [B, H]: the running dL/dh
};

// Caller-owned scratch for gruInfer (the operand layout: kernels/stacked_steps.h); stride = inferenceRowStride(shape).
template <typename T>
struct GruInferenceScratch {
  T* stackedKernel;  // [H+F, 3H]: resetAfter [U_zr U_h; W_zr 0]; resetBefore [U_zr; W_zr] then [U_h; W_h]
  T* rows;           // [2, B, stride]: [h_{t-1} | x_t] of the current and next step
  T* candidateRows;  // [B, stride]: resetAfter x_t W_h + b_i_h; resetBefore [r * h_{t-1} | x_t]
  T* z;              // [B, 3H]: one step's pre-activations (resetAfter: z, r and h_{t-1} U_h + b_r_h)
  T* bias;           // [3H]: the bias each step starts from (resetAfter: b_i + b_r for z and r, then b_r_h)
};

// `products`: the cell's packed-U storage (kernels/packed_product.h), or nullptr for a temporary one.
// Runs the whole sequence; fills tape.states[1..T], tape.gates and tape.candidate.
template <typename T>
void gruForward(const RecurrentShape& shape, const GruOptions& options, const T* x, const int32_t* activeRows,
                const GruParams<T>& params, const GruTape<T>& tape, const RecurrentMask<T>& dropout = {},
                RecurrentProducts<T>* products = nullptr);

// Forward for inference (predict, evaluate): the same model as gruForward without a tape, with stacked per-step
// products over [h_{t-1} | x_t] (kernels/stacked_steps.h) instead of an all-step input projection:
//   resetAfter:  [z r | hz_h] = b + [h_{t-1} | x_t] [U_zr U_h; W_zr 0], and x_t W_h + b_i_h
//                (the zero block costs F*H of (H+F)*3H multiply-adds per row and step);
//   resetBefore: [z r] = b_zr + [h_{t-1} | x_t] [U_zr; W_zr], then pre_hh = b_h + [r * h_{t-1} | x_t] [U_h; W_h].
// Sums round in another order than gruForward's, so results agree with it to float precision, not bit for bit.
// h0 [B, H] or nullptr for zeros; hSeq [T, B, H] receives h after each step (a row past its length: its held state),
// or nullptr; hFinal [B, H] the h after the last step, or nullptr. `products`: two packed operands owned by the
// cell, or nullptr for temporary ones. No recurrent dropout: it exists only in training.
template <typename T>
void gruInfer(const RecurrentShape& shape, const GruOptions& options, const T* x, const int32_t* activeRows,
              const GruParams<T>& params, const T* h0, const GruInferenceScratch<T>& scratch, T* hSeq, T* hFinal,
              PackedProduct<T>* products = nullptr);

// Backpropagation through time through the last gruForward (same shape, options, x, activeRows, params, tape,
// dropout).
// dhSeq [T, B, H] (gradient reaching h_{s+1} from the output at step s) and dFinal [B, H] (gradient of h_T)
// may each be nullptr. Overwrites every non-null output in `grads`.
template <typename T>
void gruBackward(const RecurrentShape& shape, const GruOptions& options, const T* x, const int32_t* activeRows,
                 const GruParams<T>& params, const GruTape<const T>& tape, const T* dhSeq, const T* dFinal,
                 const GruGradients<T>& grads, const GruScratch<T>& scratch, const RecurrentMask<T>& dropout = {},
                 RecurrentProducts<T>* products = nullptr);

}  // namespace rnnkit::kernels
