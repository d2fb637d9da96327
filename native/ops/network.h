// A sequential network in float32: its layer ops, one flat store of parameters and gradients, the loss head and the
// optimizer. One call trains one batch end to end (forward, loss, BPTT, clipping, update), so nothing crosses the
// JS/C++ boundary per layer or per time step. The binding validates shapes before it calls in; anything that still
// goes wrong throws before the optimizer runs, so parameters and optimizer state change only on success.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ops/basic_layers.h"
#include "ops/layer.h"
#include "ops/loss_head.h"
#include "ops/optimizer.h"
#include "ops/recurrent_layer.h"

namespace rnnkit::ops {

enum class LayerKind : int32_t { Recurrent = 0, Dense = 1, Dropout = 2, Masking = 3, Embedding = 4 };

struct LayerSpec {
  LayerKind kind = LayerKind::Dense;
  std::string name;
  RecurrentLayerConfig recurrent;  // kind == Recurrent
  DenseConfig dense;               // kind == Dense
  double rate = 0;                 // kind == Dropout
  double maskValue = 0;            // kind == Masking
  EmbeddingConfig embedding;       // kind == Embedding
};

struct NetworkParam {
  size_t layer;  // index into the layer list
  ParamInfo info;
  int64_t offset, size;  // into the flat store
  bool trainable = true;
  double learningRateScale = 1;
};

class Network {
 public:
  Network(const Shape& inputShape, const std::vector<LayerSpec>& layers);

  const Shape& inputShape() const { return inputShape_; }
  const Shape& outputShape() const { return shapes_.back(); }
  size_t layerCount() const { return layers_.size(); }
  const Shape& layerOutputShape(size_t layer) const { return shapes_.at(layer + 1); }
  const std::vector<NetworkParam>& params() const { return params_; }
  NetworkParam& param(size_t index) { return params_.at(index); }
  float* paramData(size_t index) { return values_.data() + params_.at(index).offset; }

  // Sets the loss and a fresh optimizer (its state starts from zero).
  void compile(const LossConfig& loss, const OptimizerConfig& optimizer);
  bool compiled() const { return loss_ != nullptr; }
  Optimizer& optimizer();
  const LossHead& lossHead() const;

  // x: [batch, ...inputShape]; targets: [batch, targetsPerSample]; sampleWeights: [batch] or nullptr.
  BatchMetrics trainBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                          uint32_t seed);
  BatchMetrics evaluateBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights);
  // Forward and backward only: fills the gradient store (read it with gradData) without updating anything.
  BatchMetrics computeGradients(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                                uint32_t seed);
  const float* gradData(size_t index) const { return grads_.data() + params_.at(index).offset; }
  // out: [batch, ...outputShape].
  void predict(const float* x, int64_t batch, float* out);

 private:
  const Activations<float>& runForward(const float* x, int64_t batch, bool training, std::mt19937& rng);
  double addRegularization();

  Shape inputShape_;
  std::vector<Shape> shapes_;  // shapes_[i] = input of layer i; shapes_.back() = network output
  std::vector<std::unique_ptr<LayerOp<float>>> layers_;
  std::vector<NetworkParam> params_;
  std::vector<float> values_, grads_;
  std::vector<Activations<float>> activations_;  // activations_[i] = input of layer i
  std::vector<std::vector<float>> dActivations_;
  std::unique_ptr<LossHead> loss_;
  std::unique_ptr<Optimizer> optimizer_;
};

}  // namespace rnnkit::ops
