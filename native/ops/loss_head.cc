#include "ops/loss_head.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace rnnkit::ops {

int64_t LossHead::targetsPerSample(const Shape& outputShape) const {
  if (config_.none) return 0;
  const int64_t size = shapeSize(outputShape);
  return sparse() ? size / outputShape.back() : size;
}

namespace {

bool isMasked(const Activations<float>& output) {
  return output.shape.size() == 2 && output.windows && !output.windows->empty();
}

}  // namespace

int64_t LossHead::validRows(const Activations<float>& output) {
  const int64_t stepsPerSample = output.shape.size() == 2 ? output.shape[0] : 1;
  if (!isMasked(output)) return output.batch * stepsPerSample;
  int64_t valid = 0;
  for (int64_t b = 0; b < output.batch; ++b) valid += output.windows->end[b] - output.windows->start[b];
  return valid;
}

BatchMetrics LossHead::compute(const Activations<float>& output, const float* targets, const float* sampleWeights,
                               Activation lastActivation, double denominator, float* gradient, bool* fused) {
  const int64_t cols = output.shape.back();
  const int64_t stepsPerSample = output.shape.size() == 2 ? output.shape[0] : 1;
  const int64_t rows = output.batch * stepsPerSample;
  if (sparse()) {
    for (int64_t r = 0; r < rows; ++r) {
      const float label = targets[r];
      if (!(label >= 0 && label < cols && std::floor(label) == label)) {
        throw std::invalid_argument("Expected class indices that are integers in [0, " + std::to_string(cols) +
                                    ") but received " + std::to_string(label) + " at target " + std::to_string(r));
      }
    }
  }

  // Metric weights: the sample's weight on its valid rows, 0 on masked rows (nullptr: all 1).
  const bool masked = isMasked(output);
  const float* weights = sampleWeights;
  if (masked || (sampleWeights && stepsPerSample > 1)) {
    rowWeights_.assign(rows, 1.f);
    for (int64_t b = 0; b < output.batch; ++b) {
      for (int64_t t = 0; t < stepsPerSample; ++t) {
        const bool valid = !masked || (t >= output.windows->start[b] && t < output.windows->end[b]);
        rowWeights_[b * stepsPerSample + t] = valid ? (sampleWeights ? sampleWeights[b] : 1.f) : 0.f;
      }
    }
    weights = rowWeights_.data();
  }
  // The kernels divide by this shard's rows; rows / denominator turns that into the batch-wide mean.
  const double scale = denominator > 0 ? rows / denominator : 0.0;
  const float* lossWeights = weights;
  if (scale != 1.0) {
    lossWeights_.assign(rows, static_cast<float>(scale));
    if (weights) {
      for (int64_t r = 0; r < rows; ++r) lossWeights_[r] *= weights[r];
    }
    lossWeights = lossWeights_.data();
  }

  const float* predictions = output.data;
  BatchMetrics metrics;
  const bool crossEntropy = config_.loss == Loss::CategoricalCrossentropy || sparse();
  const bool fuseSoftmax = crossEntropy && lastActivation == Activation::Softmax;
  const bool fuseSigmoid = config_.loss == Loss::BinaryCrossentropy && lastActivation == Activation::Sigmoid;
  *fused = gradient && (fuseSoftmax || fuseSigmoid);
  metrics.loss = kernels::lossForward(config_.loss, rows, cols, predictions, targets, lossWeights,
                                      static_cast<float>(config_.huberDelta), *fused ? nullptr : gradient);
  if (gradient && fuseSoftmax) {
    kernels::softmaxCrossEntropyLogitGrad(rows, cols, sparse(), predictions, targets, lossWeights, gradient);
  } else if (gradient && fuseSigmoid) {
    kernels::sigmoidBinaryCrossEntropyLogitGrad(rows, cols, predictions, targets, lossWeights, gradient);
  }

  metrics.correct = kernels::accuracyCount(config_.loss, rows, cols, predictions, targets, weights);
  metrics.accuracyTotal = config_.loss == Loss::BinaryCrossentropy ? static_cast<double>(rows) * cols : rows;
  if (weights) {
    double total = 0;
    for (int64_t r = 0; r < rows; ++r) total += weights[r];
    metrics.accuracyTotal = config_.loss == Loss::BinaryCrossentropy ? total * cols : total;
  }
  if (!sparse()) {
    for (int64_t r = 0; r < rows; ++r) {
      const double w = weights ? weights[r] : 1.0;
      if (w == 0) continue;
      for (int64_t c = 0; c < cols; ++c) {
        const double diff = static_cast<double>(predictions[r * cols + c]) - targets[r * cols + c];
        metrics.absoluteError += w * std::fabs(diff);
        metrics.squaredError += w * diff * diff;
      }
      metrics.elements += w * cols;
    }
  }
  return metrics;
}

}  // namespace rnnkit::ops
