#include "ops/network_shard.h"

#include <stdexcept>
#include <string>

#include "ops/network.h"

namespace rnnkit::ops {

template <typename T>
std::unique_ptr<LayerOp<T>> makeLayerOp(const LayerSpec& spec) {
  switch (spec.kind) {
    case LayerKind::Recurrent: return std::make_unique<RecurrentLayer<T>>(spec.recurrent);
    case LayerKind::Dense: return std::make_unique<DenseLayer<T>>(spec.dense);
    case LayerKind::Dropout: return std::make_unique<DropoutLayer<T>>(spec.rate);
    case LayerKind::Masking: return std::make_unique<MaskingLayer<T>>(spec.maskValue);
    case LayerKind::Embedding: return std::make_unique<EmbeddingLayer<T>>(spec.embedding);
    case LayerKind::Concatenate: return std::make_unique<ConcatenateLayer<T>>(spec.axis);
    case LayerKind::Add: return std::make_unique<ElementwiseMergeLayer<T>>(MergeOperation::Add);
    case LayerKind::Subtract: return std::make_unique<ElementwiseMergeLayer<T>>(MergeOperation::Subtract);
    case LayerKind::Multiply: return std::make_unique<ElementwiseMergeLayer<T>>(MergeOperation::Multiply);
    case LayerKind::Average: return std::make_unique<ElementwiseMergeLayer<T>>(MergeOperation::Average);
    case LayerKind::Maximum: return std::make_unique<ElementwiseMergeLayer<T>>(MergeOperation::Maximum);
    case LayerKind::RepeatVector: return std::make_unique<RepeatVectorLayer<T>>(spec.repeats);
    case LayerKind::Reshape: return std::make_unique<ReshapeLayer<T>>(spec.targetShape);
    case LayerKind::Flatten: return std::make_unique<FlattenLayer<T>>();
    case LayerKind::Attention: return std::make_unique<AttentionLayer<T>>(spec.attention);
  }
  throw std::invalid_argument("Expected a known layer kind (0..14) for layer " + spec.name);
}

template std::unique_ptr<LayerOp<float>> makeLayerOp(const LayerSpec& spec);
template std::unique_ptr<LayerOp<double>> makeLayerOp(const LayerSpec& spec);

namespace {

// Each layer's parameter values and gradients, in its paramInfos order.
std::vector<std::vector<float*>> perLayer(size_t layers, const std::vector<NetworkParam>& params, float* store) {
  std::vector<std::vector<float*>> pointers(layers);
  for (const NetworkParam& p : params) pointers[p.layer].push_back(store + p.offset);
  return pointers;
}

}  // namespace

NetworkShard::NetworkShard(const GraphSpec& graph, const GraphPlan& plan, const std::vector<NetworkParam>& params,
                           float* values, float* grads)
    : runner_(graph, plan, perLayer(graph.layers.size(), params, values), perLayer(graph.layers.size(), params, grads)),
      dOutputs_(plan.outputs.size()),
      seeds_(plan.outputs.size(), nullptr),
      logits_(plan.outputs.size(), 0) {}

void NetworkShard::lossAndBackward(std::vector<LossHead>& losses, const std::vector<LossConfig>& configs,
                                   const std::vector<const float*>& targets, const float* sampleWeights,
                                   const std::vector<double>& denominators, bool backpropagate,
                                   std::vector<BatchMetrics>& metrics) {
  for (size_t k = 0; k < losses.size(); ++k) {
    if (configs[k].none) {
      // No loss: no metrics, and backward starts from the other outputs only.
      metrics[k] = BatchMetrics{};
      seeds_[k] = nullptr;
      logits_[k] = 0;
      continue;
    }
    const Activations<float>& out = runner_.output(k);
    DenseLayer<float>* dense = runner_.fusable(k);
    const Activation activation = dense ? dense->activation() : Activation::Linear;
    float* gradient = nullptr;
    const int64_t size = out.batch * shapeSize(out.shape);
    if (backpropagate) {
      dOutputs_[k].resize(size);
      gradient = dOutputs_[k].data();
    }
    bool fused = false;
    metrics[k] = losses[k].compute(out, targets[k], sampleWeights, activation, denominators[k], gradient, &fused);
    const float weight = static_cast<float>(configs[k].weight);
    if (gradient && weight != 1.f) {
      for (int64_t i = 0; i < size; ++i) gradient[i] *= weight;
    }
    seeds_[k] = gradient;
    logits_[k] = fused;
  }
  if (backpropagate) runner_.backward(seeds_, logits_);
}

}  // namespace rnnkit::ops
