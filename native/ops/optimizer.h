// Optimizer state and the update of every trainable parameter after a batch, with Keras' clipping options:
// clipvalue (each gradient value), clipnorm (each tensor's L2 norm), globalClipnorm (the norm of all trainable
// gradients together). Per-parameter learning-rate scales support fine-tuning schedules.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/layer.h"

namespace rnnkit::ops {

enum class OptimizerKind : int32_t { Sgd = 0, RmsProp = 1, Adam = 2, AdamW = 3, Adagrad = 4 };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::Adam;
  double learningRate = 0.001;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7;  // Adam, AdamW (epsilon also RMSprop, Adagrad)
  double momentum = 0;                                   // SGD, RMSprop
  bool nesterov = false;                                 // SGD
  double rho = 0.9;                                      // RMSprop
  bool centered = false;                                 // RMSprop
  double weightDecay = 0.004;                            // AdamW
  double initialAccumulatorValue = 0.1;                  // Adagrad
  double clipnorm = 0, clipvalue = 0, globalClipnorm = 0;  // 0 = off
};

struct ParamSlice {
  float* value;
  float* grad;
  int64_t size;
  bool trainable;
  double learningRateScale;
};

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, const std::vector<int64_t>& paramSizes);
  // Clips the trainable gradients (in place) and updates the trainable parameters; frozen ones are not touched.
  void apply(const std::vector<ParamSlice>& params);
  const OptimizerConfig& config() const { return config_; }
  void setLearningRate(double learningRate) { config_.learningRate = learningRate; }
  int64_t step() const { return step_; }

  // Slot buffers (moments, accumulators) in a fixed order, for saving and restoring training exactly.
  std::vector<Workspace<float>*> slots();
  void setStep(int64_t step) { step_ = step; }

 private:
  OptimizerConfig config_;
  int64_t step_ = 0;
  // Per parameter: [0] first slot (velocity / m / mean square / accumulator), [1] second (v / mean grad),
  // [2] third (RMSprop momentum); empty when the optimizer does not use it.
  std::vector<Workspace<float>> first_, second_, third_;
};

}  // namespace rnnkit::ops
