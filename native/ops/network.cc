#include "ops/network.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

#include "kernels/optimizers.h"

namespace rnnkit::ops {

namespace {

std::atomic<int> gThreads{1};

// Runs fn(0..count-1), shard 0 on the calling thread, the others on their own threads; rethrows the first error
// after every shard finished (no shard is left running with a dangling batch).
template <typename Fn>
void runShards(size_t count, Fn&& fn) {
  if (count == 1) {
    fn(0);
    return;
  }
  std::vector<std::exception_ptr> errors(count);
  std::vector<std::thread> threads;
  for (size_t k = 1; k < count; ++k) {
    threads.emplace_back([&, k] {
      try {
        fn(k);
      } catch (...) {
        errors[k] = std::current_exception();
      }
    });
  }
  try {
    fn(0);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace

void Network::setThreads(int threads) {
  if (threads < 1) throw std::invalid_argument("Expected at least 1 thread but received " + std::to_string(threads));
  gThreads = threads;
}

int Network::threads() { return gThreads; }

Network::Network(const Shape& inputShape, const std::vector<LayerSpec>& layers) : specs_(layers) {
  if (layers.empty()) throw std::invalid_argument("Expected at least one layer but received none");
  shapes_.push_back(inputShape);
  int64_t total = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto layer = makeLayerOp(layers[i]);
    try {
      shapes_.push_back(layer->outputShape(shapes_[i]));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("Layer '" + layers[i].name + "': " + e.what());
    }
    for (const ParamInfo& info : layer->params(shapes_[i])) {
      const int64_t size = shapeSize(info.shape);
      params_.push_back({i, info, total, size});
      total += size;
    }
  }
  values_.assign(total, 0.f);
  shardGrads_.emplace_back(total, 0.f);
  shards_.push_back(std::make_unique<NetworkShard>(specs_, shapes_, params_, values_.data(), shardGrads_[0].data()));
}

void Network::compile(const LossConfig& loss, const OptimizerConfig& optimizer) {
  std::vector<int64_t> sizes;
  for (const NetworkParam& p : params_) sizes.push_back(p.size);
  auto newOptimizer = std::make_unique<Optimizer>(optimizer, sizes);
  lossConfig_ = loss;
  losses_.clear();
  for (size_t k = 0; k < shards_.size(); ++k) losses_.push_back(std::make_unique<LossHead>(loss));
  optimizer_ = std::move(newOptimizer);
}

Optimizer& Network::optimizer() {
  if (!optimizer_) throw std::logic_error("The network has no optimizer: compile it first");
  return *optimizer_;
}

const LossHead& Network::lossHead() const {
  if (losses_.empty()) throw std::logic_error("The network has no loss: compile it first");
  return *losses_[0];
}

std::vector<Network::Slice> Network::planShards(int64_t batch) {
  if (batch <= 0) throw std::invalid_argument("Expected a batch of at least 1 sample but received " + std::to_string(batch));
  const int64_t count = std::max<int64_t>(1, std::min<int64_t>(threads(), batch / kMinShardRows));
  while (static_cast<int64_t>(shards_.size()) < count) {
    shardGrads_.emplace_back(values_.size(), 0.f);
    shards_.push_back(std::make_unique<NetworkShard>(specs_, shapes_, params_, values_.data(), shardGrads_.back().data()));
    if (optimizer_) losses_.push_back(std::make_unique<LossHead>(lossConfig_));
  }
  std::vector<Slice> slices;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t start = batch * k / count, end = batch * (k + 1) / count;
    slices.push_back({start, end - start});
  }
  return slices;
}

BatchMetrics Network::runBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                               uint32_t seed, bool training, bool backpropagate) {
  if (losses_.empty()) throw std::logic_error("The network has no loss: compile it first");
  const std::vector<Slice> slices = planShards(batch);
  const int64_t sampleSize = shapeSize(inputShape());
  const int64_t targetsPerSample = losses_[0]->targetsPerSample(outputShape());
  // Phase 1: forward; the loss denominator (valid rows of the whole batch) is known only after it.
  runShards(slices.size(), [&](size_t k) {
    shards_[k]->forward(x + slices[k].start * sampleSize, slices[k].count, training, seed + 0x9E3779B9u * k);
  });
  double denominator = 0;
  for (size_t k = 0; k < slices.size(); ++k) denominator += LossHead::validRows(shards_[k]->output());
  // Phase 2: loss and backward per shard.
  std::vector<BatchMetrics> parts(slices.size());
  runShards(slices.size(), [&](size_t k) {
    parts[k] = shards_[k]->lossAndBackward(*losses_[k], targets + slices[k].start * targetsPerSample,
                                           sampleWeights ? sampleWeights + slices[k].start : nullptr, denominator,
                                           backpropagate);
  });
  BatchMetrics total;
  for (const BatchMetrics& part : parts) {
    total.loss += part.loss;
    total.correct += part.correct;
    total.accuracyTotal += part.accuracyTotal;
    total.absoluteError += part.absoluteError;
    total.squaredError += part.squaredError;
    total.elements += part.elements;
  }
  if (backpropagate) {
    Workspace<float>& grads = shardGrads_[0];
    for (size_t k = 1; k < slices.size(); ++k) {
      const Workspace<float>& other = shardGrads_[k];
      for (size_t i = 0; i < grads.size(); ++i) grads[i] += other[i];
    }
  }
  total.loss += regularization(backpropagate);
  return total;
}

double Network::regularization(bool addGradients) {
  double penalty = 0;
  for (const NetworkParam& p : params_) {
    if (p.info.l1 == 0 && p.info.l2 == 0) continue;
    const float* value = values_.data() + p.offset;
    const float l1 = static_cast<float>(p.info.l1), l2 = static_cast<float>(p.info.l2);
    penalty += kernels::regularizerPenalty(p.size, value, l1, l2);
    if (addGradients) kernels::addRegularizerGradient(p.size, value, shardGrads_[0].data() + p.offset, l1, l2);
  }
  return penalty;
}

BatchMetrics Network::computeGradients(const float* x, int64_t batch, const float* targets,
                                       const float* sampleWeights, uint32_t seed) {
  return runBatch(x, batch, targets, sampleWeights, seed, true, true);
}

BatchMetrics Network::trainBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                                 uint32_t seed) {
  Optimizer& opt = optimizer();
  BatchMetrics metrics = computeGradients(x, batch, targets, sampleWeights, seed);
  std::vector<ParamSlice> slices;
  slices.reserve(params_.size());
  for (const NetworkParam& p : params_) {
    slices.push_back({values_.data() + p.offset, shardGrads_[0].data() + p.offset, p.size, p.trainable,
                      p.learningRateScale});
  }
  opt.apply(slices);
  return metrics;
}

BatchMetrics Network::evaluateBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights) {
  return runBatch(x, batch, targets, sampleWeights, 0, false, false);
}

void Network::predict(const float* x, int64_t batch, float* out) {
  const std::vector<Slice> slices = planShards(batch);
  const int64_t sampleSize = shapeSize(inputShape()), outSize = shapeSize(outputShape());
  runShards(slices.size(), [&](size_t k) {
    const Activations<float>& output = shards_[k]->forward(x + slices[k].start * sampleSize, slices[k].count, false, 0);
    std::memcpy(out + slices[k].start * outSize, output.data, sizeof(float) * slices[k].count * outSize);
  });
}

}  // namespace rnnkit::ops
