#include "ops/network.h"

#include <cstring>
#include <stdexcept>

#include "kernels/optimizers.h"

namespace rnnkit::ops {

namespace {

std::unique_ptr<LayerOp<float>> makeLayer(const LayerSpec& spec) {
  switch (spec.kind) {
    case LayerKind::Recurrent: return std::make_unique<RecurrentLayer<float>>(spec.recurrent);
    case LayerKind::Dense: return std::make_unique<DenseLayer<float>>(spec.dense);
    case LayerKind::Dropout: return std::make_unique<DropoutLayer<float>>(spec.rate);
    case LayerKind::Masking: return std::make_unique<MaskingLayer<float>>(spec.maskValue);
    case LayerKind::Embedding: return std::make_unique<EmbeddingLayer<float>>(spec.embedding);
  }
  throw std::invalid_argument("Expected a known layer kind (0..4) for layer " + spec.name);
}

}  // namespace

Network::Network(const Shape& inputShape, const std::vector<LayerSpec>& layers) : inputShape_(inputShape) {
  if (layers.empty()) throw std::invalid_argument("Expected at least one layer but received none");
  shapes_.push_back(inputShape);
  int64_t total = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    layers_.push_back(makeLayer(layers[i]));
    try {
      shapes_.push_back(layers_[i]->outputShape(shapes_[i]));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("Layer '" + layers[i].name + "': " + e.what());
    }
    for (const ParamInfo& info : layers_[i]->params(shapes_[i])) {
      const int64_t size = shapeSize(info.shape);
      params_.push_back({i, info, total, size});
      total += size;
    }
  }
  values_.assign(total, 0.f);
  grads_.assign(total, 0.f);
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::vector<float*> values, grads;
    for (const NetworkParam& p : params_) {
      if (p.layer != i) continue;
      values.push_back(values_.data() + p.offset);
      grads.push_back(grads_.data() + p.offset);
    }
    layers_[i]->bind(values, grads);
  }
  activations_.resize(layers_.size() + 1);
  dActivations_.resize(layers_.size() + 1);
}

void Network::compile(const LossConfig& loss, const OptimizerConfig& optimizer) {
  std::vector<int64_t> sizes;
  for (const NetworkParam& p : params_) sizes.push_back(p.size);
  auto newOptimizer = std::make_unique<Optimizer>(optimizer, sizes);
  loss_ = std::make_unique<LossHead>(loss);
  optimizer_ = std::move(newOptimizer);
}

Optimizer& Network::optimizer() {
  if (!optimizer_) throw std::logic_error("The network has no optimizer: compile it first");
  return *optimizer_;
}

const LossHead& Network::lossHead() const {
  if (!loss_) throw std::logic_error("The network has no loss: compile it first");
  return *loss_;
}

const Activations<float>& Network::runForward(const float* x, int64_t batch, bool training, std::mt19937& rng) {
  if (batch <= 0) throw std::invalid_argument("Expected a batch of at least 1 sample but received " + std::to_string(batch));
  activations_[0].data = x;
  activations_[0].batch = batch;
  activations_[0].shape = inputShape_;
  activations_[0].windows = nullptr;
  for (size_t i = 0; i < layers_.size(); ++i) {
    activations_[i + 1] = layers_[i]->forward(activations_[i], training, rng);
  }
  return activations_.back();
}

double Network::addRegularization() {
  double penalty = 0;
  for (const NetworkParam& p : params_) {
    if (p.info.l1 == 0 && p.info.l2 == 0) continue;
    const float* value = values_.data() + p.offset;
    penalty += kernels::regularizerPenalty(p.size, value, static_cast<float>(p.info.l1), static_cast<float>(p.info.l2));
    kernels::addRegularizerGradient(p.size, value, grads_.data() + p.offset, static_cast<float>(p.info.l1),
                                    static_cast<float>(p.info.l2));
  }
  return penalty;
}

BatchMetrics Network::computeGradients(const float* x, int64_t batch, const float* targets,
                                       const float* sampleWeights, uint32_t seed) {
  if (!loss_) throw std::logic_error("The network has no loss: compile it first");
  std::mt19937 rng(seed);
  const Activations<float>& output = runForward(x, batch, true, rng);
  std::vector<float>& dOutput = dActivations_.back();
  dOutput.resize(batch * shapeSize(output.shape));
  auto* lastDense = dynamic_cast<DenseLayer<float>*>(layers_.back().get());
  const Activation lastActivation = lastDense ? lastDense->activation() : Activation::Linear;
  bool fused = false;
  BatchMetrics metrics = loss_->compute(output, targets, sampleWeights, lastActivation, dOutput.data(), &fused);

  for (size_t i = layers_.size(); i-- > 0;) {
    float* dInput = nullptr;
    if (i > 0) {
      dActivations_[i].resize(batch * shapeSize(shapes_[i]));
      dInput = dActivations_[i].data();
    }
    if (fused && i == layers_.size() - 1) {
      lastDense->backwardFromLogits(dActivations_[i + 1].data(), dInput);
    } else {
      layers_[i]->backward(dActivations_[i + 1].data(), dInput);
    }
  }
  metrics.loss += addRegularization();
  return metrics;
}

BatchMetrics Network::trainBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                                 uint32_t seed) {
  Optimizer& opt = optimizer();
  BatchMetrics metrics = computeGradients(x, batch, targets, sampleWeights, seed);
  std::vector<ParamSlice> slices;
  slices.reserve(params_.size());
  for (const NetworkParam& p : params_) {
    slices.push_back({values_.data() + p.offset, grads_.data() + p.offset, p.size, p.trainable, p.learningRateScale});
  }
  opt.apply(slices);
  return metrics;
}

BatchMetrics Network::evaluateBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights) {
  if (!loss_) throw std::logic_error("The network has no loss: compile it first");
  std::mt19937 rng(0);
  const Activations<float>& output = runForward(x, batch, false, rng);
  auto* lastDense = dynamic_cast<DenseLayer<float>*>(layers_.back().get());
  bool fused = false;
  BatchMetrics metrics = loss_->compute(output, targets, sampleWeights,
                                        lastDense ? lastDense->activation() : Activation::Linear, nullptr, &fused);
  for (const NetworkParam& p : params_) {
    if (p.info.l1 != 0 || p.info.l2 != 0) {
      metrics.loss += kernels::regularizerPenalty(p.size, values_.data() + p.offset, static_cast<float>(p.info.l1),
                                                  static_cast<float>(p.info.l2));
    }
  }
  return metrics;
}

void Network::predict(const float* x, int64_t batch, float* out) {
  std::mt19937 rng(0);
  const Activations<float>& output = runForward(x, batch, false, rng);
  std::memcpy(out, output.data, sizeof(float) * batch * shapeSize(output.shape));
}

}  // namespace rnnkit::ops
