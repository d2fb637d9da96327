#include "ops/network_shard.h"

#include <random>
#include <stdexcept>
#include <string>

#include "ops/network.h"

namespace rnnkit::ops {

std::unique_ptr<LayerOp<float>> makeLayerOp(const LayerSpec& spec) {
  switch (spec.kind) {
    case LayerKind::Recurrent: return std::make_unique<RecurrentLayer<float>>(spec.recurrent);
    case LayerKind::Dense: return std::make_unique<DenseLayer<float>>(spec.dense);
    case LayerKind::Dropout: return std::make_unique<DropoutLayer<float>>(spec.rate);
    case LayerKind::Masking: return std::make_unique<MaskingLayer<float>>(spec.maskValue);
    case LayerKind::Embedding: return std::make_unique<EmbeddingLayer<float>>(spec.embedding);
    case LayerKind::Attention: return std::make_unique<AttentionLayer<float>>(spec.attention);
  }
  throw std::invalid_argument("Expected a known layer kind (0..5) for layer " + spec.name);
}

NetworkShard::NetworkShard(const std::vector<LayerSpec>& specs, const std::vector<Shape>& shapes,
                           const std::vector<NetworkParam>& params, float* values, float* grads)
    : shapes_(shapes) {
  for (size_t i = 0; i < specs.size(); ++i) {
    layers_.push_back(makeLayerOp(specs[i]));
    std::vector<float*> layerValues, layerGrads;
    for (const NetworkParam& p : params) {
      if (p.layer != i) continue;
      layerValues.push_back(values + p.offset);
      layerGrads.push_back(grads + p.offset);
    }
    layers_[i]->bind(layerValues, layerGrads);
  }
  activations_.resize(layers_.size() + 1);
  dActivations_.resize(layers_.size() + 1);
}

const Activations<float>& NetworkShard::forward(const float* x, int64_t batch, ForwardMode mode, uint32_t seed) {
  std::mt19937 rng(seed);
  activations_[0].data = x;
  activations_[0].batch = batch;
  activations_[0].shape = shapes_[0];
  activations_[0].windows = nullptr;
  for (size_t i = 0; i < layers_.size(); ++i) activations_[i + 1] = layers_[i]->forwardAll({activations_[i]}, mode, rng).at(0);
  return activations_.back();
}

BatchMetrics NetworkShard::lossAndBackward(LossHead& loss, const float* targets, const float* sampleWeights,
                                           double denominator, bool backpropagate) {
  const Activations<float>& out = activations_.back();
  auto* lastDense = dynamic_cast<DenseLayer<float>*>(layers_.back().get());
  const Activation lastActivation = lastDense ? lastDense->activation() : Activation::Linear;
  Workspace<float>& dOutput = dActivations_.back();
  if (backpropagate) dOutput.resize(out.batch * shapeSize(out.shape));
  bool fused = false;
  BatchMetrics metrics = loss.compute(out, targets, sampleWeights, lastActivation, denominator,
                                      backpropagate ? dOutput.data() : nullptr, &fused);
  if (!backpropagate) return metrics;
  for (size_t i = layers_.size(); i-- > 0;) {
    float* dInput = nullptr;
    if (i > 0) {
      dActivations_[i].resize(out.batch * shapeSize(shapes_[i]));
      dInput = dActivations_[i].data();
    }
    if (fused && i == layers_.size() - 1) {
      lastDense->backwardFromLogits(dActivations_[i + 1].data(), dInput);
    } else {
      layers_[i]->backwardAll({dActivations_[i + 1].data()}, {dInput});
    }
  }
  return metrics;
}

}  // namespace rnnkit::ops
