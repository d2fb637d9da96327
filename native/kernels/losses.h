// Loss, fused logit-gradient and accuracy kernels over a batch of rows.
//
// predictions [rows, cols]: the model's outputs after its last activation (probabilities for the cross-entropies).
// targets     [rows, cols]; SparseCategoricalCrossentropy: [rows] class indices stored as T (validated by the op).
// sampleWeights [rows] or nullptr (every weight 1).
//
// Reduction is Keras 'sum_over_batch_size': L = sum_i w_i l_i / rows, with the per-row loss l_i
//   CategoricalCrossentropy        -sum_c y_c log(clip(p_c))
//   SparseCategoricalCrossentropy  -log(clip(p_k)), k the target index
//   BinaryCrossentropy             mean_c -(y_c log(clip(p_c)) + (1 - y_c) log(1 - clip(p_c)))
//   MeanSquaredError               mean_c (p_c - y_c)^2
//   MeanAbsoluteError              mean_c |p_c - y_c|
//   Huber                          mean_c h(p_c - y_c), h(e) = e^2 / 2 if |e| <= delta else delta (|e| - delta / 2)
// where clip(p) = min(max(p, 1e-7), 1 - 1e-7) (Keras backend epsilon). Like Keras, the gradient through the clip
// is 0 outside [1e-7, 1 - 1e-7]; that is why a softmax/sigmoid output layer should use the fused logit gradients,
// which stay exact when a probability saturates. Unlike Keras, CategoricalCrossentropy does not renormalise p
// by its row sum first (a no-op for softmax outputs). rows == 0 gives a loss of 0.
#pragma once

#include <cstdint>

namespace rnnkit::kernels {

enum class Loss : int32_t {
  CategoricalCrossentropy = 0,
  SparseCategoricalCrossentropy = 1,
  BinaryCrossentropy = 2,
  MeanSquaredError = 3,
  MeanAbsoluteError = 4,
  Huber = 5,
};

// Keras's epsilon for clipping probabilities inside the cross-entropies.
inline constexpr double kProbabilityClip = 1e-7;
// Keras's default Huber delta.
inline constexpr double kDefaultHuberDelta = 1.0;

// Returns L (accumulated in double). When gradPredictions != nullptr, overwrites it with dL/dpredictions
// [rows, cols]. huberDelta is only read for Huber.
template <typename T>
double lossForward(Loss loss, int64_t rows, int64_t cols, const T* predictions, const T* targets,
                   const T* sampleWeights, T huberDelta, T* gradPredictions);

// dL/dz for softmax followed by (sparse) categorical cross-entropy, z the logits, p = softmax(z):
//   dz = w_i (p sum_c y_c - y) / rows   (sparse targets: y is one-hot at the index, so dz = w_i (p - y) / rows).
// The unclipped form, exact even where p saturates. Overwrites gradLogits [rows, cols].
template <typename T>
void softmaxCrossEntropyLogitGrad(int64_t rows, int64_t cols, bool sparseTargets, const T* probabilities,
                                  const T* targets, const T* sampleWeights, T* gradLogits);

// dL/dz for an element-wise sigmoid followed by binary cross-entropy: dz = w_i (p - y) / (rows cols).
template <typename T>
void sigmoidBinaryCrossEntropyLogitGrad(int64_t rows, int64_t cols, const T* probabilities, const T* targets,
                                        const T* sampleWeights, T* gradLogits);

// Weighted count of correct predictions (each counted item adds its row's weight, or 1):
//   CategoricalCrossentropy        rows where argmax(p) == argmax(y)
//   SparseCategoricalCrossentropy  rows where argmax(p) == the target index
//   BinaryCrossentropy             elements where (p > 0.5) == (y > 0.5), out of rows * cols
//   regression losses              as BinaryCrossentropy when cols == 1, else as CategoricalCrossentropy
//                                  (how Keras resolves metrics: ["accuracy"] from the output shape)
// argmax takes the first maximum on ties. Divide by rows (or rows * cols for the element-wise kinds) for accuracy.
template <typename T>
double accuracyCount(Loss lossKind, int64_t rows, int64_t cols, const T* predictions, const T* targets,
                     const T* sampleWeights);

}  // namespace rnnkit::kernels
