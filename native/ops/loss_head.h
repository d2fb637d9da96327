// The loss at the end of a network: checks targets against the output, computes the loss, the metrics and the
// gradient that starts backpropagation. Softmax + (sparse) categorical cross-entropy and sigmoid + binary
// cross-entropy are fused: the gradient is taken with respect to the logits, exact and stable.
//
// Rows: an output [B, C] has B rows; a sequence output [B, T, C] has B*T rows, and rows outside a sample's valid
// window (masked steps) get weight 0. The loss is sum_rows(w * l) / denominator, where the denominator is the number
// of valid rows in the whole batch: a batch split into shards (one per thread) passes the batch-wide count to each
// shard, so the shards' losses and gradients add up to exactly those of the unsplit batch.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/activations.h"
#include "kernels/losses.h"
#include "ops/layer.h"

namespace rnnkit::ops {

using kernels::Activation;
using kernels::Loss;

struct LossConfig {
  Loss loss = Loss::CategoricalCrossentropy;
  double huberDelta = 1.0;
  double weight = 1.0;  // of this output's loss in the total loss (Keras lossWeights)
  // An output without a loss (JS loss 'none'): it takes no targets, sends no gradient back, and a train or evaluate
  // step returns its values (NetworkMetrics::values), e.g. the final states of a stateful model's recurrent layers.
  bool none = false;
};

struct BatchMetrics {
  double loss = 0;           // data loss + regularization penalty
  double correct = 0;        // weighted count of correct predictions (see accuracyCount)
  double accuracyTotal = 0;  // what `correct` is out of
  double absoluteError = 0;  // sum |p - y| over valid elements (mae = absoluteError / elements)
  double squaredError = 0;
  double elements = 0;
};

class LossHead {
 public:
  explicit LossHead(const LossConfig& config) : config_(config) {}
  bool sparse() const { return !config_.none && config_.loss == Loss::SparseCategoricalCrossentropy; }
  // Number of target values one sample needs for a per-sample output shape.
  int64_t targetsPerSample(const Shape& outputShape) const;
  // Rows of `output` that count (all rows unless masked).
  static int64_t validRows(const Activations<float>& output);
  // Loss and metrics of `output` against `targets`; writes dLoss/dOutput into `gradient` (rows x C), or dLoss/dLogits
  // when fused (then *fused = true). gradient may be nullptr (evaluation). denominator: valid rows of the whole
  // batch (validRows(output) when unsplit). Throws std::invalid_argument on a class index out of range, before
  // anything is written.
  BatchMetrics compute(const Activations<float>& output, const float* targets, const float* sampleWeights,
                       Activation lastActivation, double denominator, float* gradient, bool* fused);

 private:
  LossConfig config_;
  Workspace<float> rowWeights_, lossWeights_;
};

}  // namespace rnnkit::ops
