// Attention numerics (Keras `Attention`, Luong, and `AdditiveAttention`, Bahdanau) on raw row-major buffers.
//
// Per sample b: query Q [Tq, D], key K [Tv, D], value V [Tv, Dv].
//   scores   S [Tq, Tv]:
//     Dot:      S_ij = c * (q_i . k_j)                          c = `scale` (1 without useScale)
//     Concat:   S_ij = w * sum_d tanh(a (q_id + k_jd))          a = `scale` (1 without useScale), w = concat weight
//     Additive: S_ij = sum_d u_d tanh(q_id + k_jd)              u = `scale` [D] (ones without useScale)
//   The two tanh forms are one: S_ij = sum_d e_d tanh(a (q_id + k_jd)) with e_d = w (Concat) or u_d (Additive, a = 1).
//   weights  W [Tq, Tv] = masked softmax of S over j (see maskedSoftmax)
//   output   O [Tq, Dv] = W' V, W' = W after dropout (the caller's; W' = W without it)
// Backward (dO given; the gradient of W' may also arrive directly when the layer returns its attention scores):
//   dW' = dO V^T (+ the direct gradient),  dV = W'^T dO,  dW = dW' * dropout scale
//   dS_ij = W_ij (dW_ij - sum_l W_il dW_il)           (softmax; 0 where W_ij = 0, so masked steps get none)
//   Dot:  dQ = c dS K,  dK = c dS^T Q,  dc = sum dS * (Q K^T)
//   tanh: t = tanh(a z), z = q_i + k_j, h_d = dS_ij e_d (1 - t_d^2):  dq_i += a h,  dk_j += a h,
//         de_d += dS_ij t_d,  da += sum_d h_d z_d,  and dw = sum_d de_d for Concat (e_d = w for every d).
// Nothing here checks shapes or allocates: the op (ops/attention_layer.cc) does both.
#pragma once

#include <cstdint>

namespace rnnkit::kernels {

enum class AttentionScore : int32_t { Dot = 0, Concat = 1, Additive = 2 };

// One batch's sizes, score function, its scalar weights and its masks.
template <typename T>
struct AttentionProblem {
  int64_t batch = 0, queryLength = 0, valueLength = 0;  // B, Tq, Tv
  int64_t keyDim = 0, valueDim = 0;                     // D (query and key features), Dv (value features)
  AttentionScore score = AttentionScore::Dot;
  T scale = 1;                 // Dot: c; Concat: a (inside the tanh); Additive: unused (a = 1)
  T concatWeight = 1;          // Concat: w
  const T* additiveScale = nullptr;  // Additive: u [D]; nullptr means ones
  // Value mask: value steps [valueStart[b], valueEnd[b]) of sample b may be attended to; nullptr: every step.
  const int32_t* valueStart = nullptr;
  const int32_t* valueEnd = nullptr;
  bool causal = false;  // query step i may attend to value steps j <= i only (Keras use_causal_mask)
};

// The value steps [first, last) query step i of sample b may attend to (empty when first >= last).
template <typename T>
inline void attendableSteps(const AttentionProblem<T>& p, int64_t b, int64_t i, int64_t& first, int64_t& last) {
  first = p.valueStart ? p.valueStart[b] : 0;
  last = p.valueEnd ? p.valueEnd[b] : p.valueLength;
  if (p.causal && last > i + 1) last = i + 1;
}

// Scratch (elements of T) that attentionScores / attentionScoresBackward need: 2 Tv D + 2 D for the tanh forms,
// none for Dot.
template <typename T>
int64_t attentionScratchSize(const AttentionProblem<T>& p);

// scores [B, Tq, Tv] from query [B, Tq, D] and key [B, Tv, D]. Dot also writes the unscaled products Q K^T into
// `products` [B, Tq, Tv] when it is not null (what dc needs).
template <typename T>
void attentionScores(const AttentionProblem<T>& p, const T* query, const T* key, T* scores, T* products, T* scratch);

// In place over scores [B, Tq, Tv]: W_ij = exp(S_ij - m_i) / sum over the attendable steps, 0 elsewhere (exactly).
// A row with no attendable step (a fully masked value, or causal with the window starting after i) gets the uniform
// 1 / Tv over every step: what Keras computes in float32, where it subtracts 1e9 from every masked score and the
// rounded scores all equal -1e9. That row is a constant, so no gradient flows back through it.
template <typename T>
void maskedSoftmax(const AttentionProblem<T>& p, T* scores);

// output [B, Tq, Dv] = W' V per sample, W' [B, Tq, Tv], value [B, Tv, Dv].
template <typename T>
void attentionValues(const AttentionProblem<T>& p, const T* weights, const T* value, T* output);

// dWeights [B, Tq, Tv] = dO V^T (overwrite) and dValue [B, Tv, Dv] = W'^T dO (overwrite).
template <typename T>
void attentionValuesBackward(const AttentionProblem<T>& p, const T* weights, const T* value, const T* dOutput,
                             T* dWeights, T* dValue);

// In place: dWeights (the gradient of the softmax output W) becomes dS, the gradient of the scores.
template <typename T>
void maskedSoftmaxBackward(const AttentionProblem<T>& p, const T* weights, T* dWeights);

// Gradients of the score function: dQuery [B, Tq, D], dKey [B, Tv, D] (overwrite). dScale: Dot c / Concat a (a
// scalar, overwrite; may be null). dConcatWeight: Concat w (scalar, overwrite; may be null). dAdditiveScale:
// Additive u [D] (overwrite; may be null). products: what attentionScores wrote (Dot with dScale only).
template <typename T>
void attentionScoresBackward(const AttentionProblem<T>& p, const T* query, const T* key, const T* products,
                             const T* dScores, T* dQuery, T* dKey, T* dScale, T* dConcatWeight, T* dAdditiveScale,
                             T* scratch);

}  // namespace rnnkit::kernels
