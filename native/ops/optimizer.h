// Optimizer state and the update of every trainable parameter after a batch, with Keras' clipping options:
// clipvalue (each gradient value), clipnorm (each tensor's L2 norm), globalClipnorm (the norm of all trainable
// gradients together). Per-parameter learning-rate scales support fine-tuning schedules.
#pragma once

#include <cstdint>
#include <string>
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

// Where an update went non-finite: the parameter (index into apply's list), which of its buffers ("value" or an
// optimizer slot such as "second moment (v)"), the first bad index in it and the value found there.
struct NonFiniteUpdate {
  int64_t param = -1;  // -1: every value and slot stayed finite
  std::string buffer;
  int64_t index = -1;
  float value = 0;
};

class Optimizer {
 public:
  Optimizer(const OptimizerConfig& config, const std::vector<int64_t>& paramSizes);
  // Clips the trainable gradients (in place) and updates the trainable parameters; frozen ones are not touched.
  // A step is all or nothing: each parameter's value and slots are copied before its update and scanned after it,
  // and when any of them holds a NaN or an Infinity every parameter, slot and the step count are restored to what
  // they were before the call, and the returned record says where (param >= 0). The copy and the scan run on data
  // just used, in cache: measured well under 1% of a W1 step (docs/reliability.md).
  NonFiniteUpdate apply(const std::vector<ParamSlice>& params);
  // Bytes held: slots and the rollback copies.
  int64_t memoryBytes() const;
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
  // Per parameter: its value then each slot it has, as they were before the update in progress (see apply).
  std::vector<Workspace<float>> backup_;

  void update(const ParamSlice& p, size_t i, float lr);
  NonFiniteUpdate scan(const ParamSlice& p, size_t i) const;
  void restore(const std::vector<ParamSlice>& params, size_t last);
};

}  // namespace rnnkit::ops
