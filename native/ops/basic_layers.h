// The non-recurrent layer ops: Dense (also applied per time step to [T, F] inputs, i.e. timeDistributed),
// Dropout, Masking and Embedding.
#pragma once

#include <vector>

#include "kernels/activations.h"
#include "ops/layer.h"
#include "ops/recurrent_layer.h"

namespace rnnkit::ops {

struct DenseConfig {
  int64_t units = 0;
  Activation activation = Activation::Linear;
  bool useBias = true;
  Regularizer kernelRegularizer, biasRegularizer;
};

template <typename T>
class DenseLayer : public UnaryLayerOp<T> {
 public:
  explicit DenseLayer(const DenseConfig& config);
  Shape outputShape(const Shape& input) const override;
  std::vector<ParamInfo> params(const Shape& input) const override;
  Activations<T> forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) override;
  void backward(const T* dOutput, T* dInput) override;
  // Backward from the gradient of the pre-activation (used when the loss is fused with softmax/sigmoid).
  void backwardFromLogits(const T* dLogits, T* dInput);
  Activation activation() const { return config_.activation; }

 private:
  void backwardImpl(T* dPre, Activation derivative, T* dInput);
  DenseConfig config_;
  const T* input_ = nullptr;
  int64_t rows_ = 0, inSize_ = 0;
  Workspace<T> output_, dPre_;
};

template <typename T>
class DropoutLayer : public UnaryLayerOp<T> {
 public:
  explicit DropoutLayer(double rate);
  Shape outputShape(const Shape& input) const override { return input; }
  Activations<T> forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) override;
  void backward(const T* dOutput, T* dInput) override;

 private:
  double rate_;
  int64_t count_ = 0;
  Workspace<T> scale_, output_;  // scale_ empty when the last forward was not training
};

// Marks the steps whose features all equal maskValue as padding: they are zeroed, and the valid window of each sample
// (first to last unmasked step) travels on to the recurrent layers as SequenceWindows. Masked steps inside the
// window are kept as ordinary steps.
template <typename T>
class MaskingLayer : public UnaryLayerOp<T> {
 public:
  explicit MaskingLayer(double maskValue) : maskValue_(maskValue) {}
  Shape outputShape(const Shape& input) const override;
  Activations<T> forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) override;
  void backward(const T* dOutput, T* dInput) override;

 private:
  double maskValue_;
  int64_t batch_ = 0, steps_ = 0, features_ = 0;
  Workspace<T> output_;
  std::vector<uint8_t> keep_;  // [B, T]
  SequenceWindows windows_;
};

struct EmbeddingConfig {
  int64_t inputDim = 0;
  int64_t outputDim = 0;
  bool maskZero = false;
  Regularizer embeddingsRegularizer;
};

// Token ids [T] (stored as floats) -> vectors [T, outputDim]. With maskZero, id 0 is padding.
template <typename T>
class EmbeddingLayer : public UnaryLayerOp<T> {
 public:
  explicit EmbeddingLayer(const EmbeddingConfig& config);
  Shape outputShape(const Shape& input) const override;
  std::vector<ParamInfo> params(const Shape& input) const override;
  Activations<T> forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) override;
  void backward(const T* dOutput, T* dInput) override;

 private:
  EmbeddingConfig config_;
  int64_t batch_ = 0, steps_ = 0;
  std::vector<int64_t> ids_;
  Workspace<T> output_;
  SequenceWindows windows_;
};

}  // namespace rnnkit::ops
