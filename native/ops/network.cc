#include "ops/network.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>
#include <vector>

#include "kernels/optimizers.h"
#include "ops/memory_budget.h"
#include "ops/task_pool.h"

namespace rnnkit::ops {

namespace {

// Two threads when the machine has two cores: measured (bench/README.md) to gain 1.6-2x on an idle 2-core machine
// and to stay at or above one thread with one or both cores busy. More is the user's call (rk.setThreads).
int defaultThreads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores >= 2 ? 2 : 1;
}

std::atomic<int> gThreads{defaultThreads()};

// Runs fn(0..count-1) on the calling thread and the shared pool's workers (see ops/task_pool.h).
template <typename Fn>
void runShards(size_t count, Fn&& fn) {
  TaskPool::shared().run(count, static_cast<size_t>(gThreads.load()) - 1, fn);
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
      shapes_.push_back(layer->outputShapes({shapes_[i]}).at(0));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("Layer '" + layers[i].name + "': " + e.what());
    }
    for (const ParamInfo& info : layer->paramInfos({shapes_[i]})) {
      int64_t size;
      try {
        size = shapeSize(info.shape);
      } catch (const std::length_error& e) {
        throw std::length_error("Layer '" + layers[i].name + "' weight '" + info.name + "': " + e.what());
      }
      params_.push_back({i, info, total, size});
      total += size;
      // Each term is below 2^31, so the sum of up to 10^7 of them cannot overflow before this check stops it.
      checkAllocation(2.0 * sizeof(float) * static_cast<double>(total),
                      "The weights and gradients of the network (" + countToString(static_cast<double>(total)) +
                          " parameters up to layer '" + layers[i].name + "')");
    }
    try {
      shapeSize(shapes_.back());
    } catch (const std::length_error& e) {
      throw std::length_error("Layer '" + layers[i].name + "' output: " + e.what());
    }
  }
  for (const LayerSpec& spec : layers) {
    if (spec.kind == LayerKind::Masking || (spec.kind == LayerKind::Embedding && spec.embedding.maskZero)) {
      masksPossible_ = true;
    }
  }
  values_.assign(total, 0.f);
  shardGrads_.emplace_back(total, 0.f);
  shards_.push_back(std::make_unique<NetworkShard>(specs_, shapes_, params_, values_.data(), shardGrads_[0].data()));
}

void Network::noteBatch(const std::vector<Slice>& slices) {
  for (const Slice& slice : slices) largestBatch_ = std::max(largestBatch_, slice.count);
}

void Network::compile(const LossConfig& loss, const OptimizerConfig& optimizer) {
  std::vector<int64_t> sizes;
  for (const NetworkParam& p : params_) sizes.push_back(p.size);
  // Values, one gradient store, up to three optimizer slots and the rollback copies of a value and its slots.
  checkAllocation(9.0 * sizeof(float) * static_cast<double>(values_.size()),
                  "The weights, gradients and optimizer state of the network (" +
                      countToString(static_cast<double>(values_.size())) + " parameters)");
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
  // kShardsPerThread per thread with more than one (a thread slowed by a busy core then takes fewer of them), and
  // at any thread count shards of at most kMaxShardRows rows, whose activations stay in cache (1 thread, samples/s:
  // W1 predict batch 256 in one piece 8,577, as 32-row shards 10,119; W4 predict batch 64 8,881 -> 10,558; W3 train
  // batch 64 1,176 -> 1,304); at most max(kMaxShards, wanted) shards, each
  // of at least kMinShardRows rows. The plan depends only on batch and threads(), never on timing, so results are
  // reproducible for a given thread count.
  const int64_t wanted = threads() == 1 ? 1 : threads() * kShardsPerThread;
  const int64_t cacheSized = std::min<int64_t>((batch + kMaxShardRows - 1) / kMaxShardRows,
                                               std::max<int64_t>(kMaxShards, wanted));
  const int64_t count = std::max<int64_t>(1, std::min<int64_t>(std::max(wanted, cacheSized), batch / kMinShardRows));
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

int64_t Network::memoryBytes() const {
  int64_t floats = static_cast<int64_t>(values_.size());
  for (const auto& grads : shardGrads_) floats += static_cast<int64_t>(grads.size());
  // Activations and their gradients, about three values per layer output per sample, and a recurrent layer's tape
  // for backward: per step its gate blocks twice (values and gradients) and three state vectors. A coarse estimate
  // from the specs (the exact sizes live in each layer's workspaces), but of the right order: the tape is what
  // dominates a recurrent network's memory once it has trained.
  int64_t perSample = 0;
  for (size_t i = 0; i < specs_.size(); ++i) {
    perSample += 3 * shapeSize(shapes_[i + 1]);
    if (specs_[i].kind == LayerKind::Recurrent) {
      const RecurrentLayerConfig& r = specs_[i].recurrent;
      const int64_t gates = r.cell.kind == CellKind::Lstm ? 4 : r.cell.kind == CellKind::Gru ? 3 : 1;
      perSample += shapes_[i][0] * r.units * (2 * gates + 3) * (r.bidirectional ? 2 : 1);
    }
  }
  floats += perSample * largestBatch_ * static_cast<int64_t>(shards_.size());
  return floats * static_cast<int64_t>(sizeof(float)) + (optimizer_ ? optimizer_->memoryBytes() : 0);
}

void Network::checkBatchMemory(int64_t batch, bool training) const {
  double perSample = 0;
  for (const Shape& shape : shapes_) perSample += static_cast<double>(shapeSize(shape));
  // A recurrent layer keeps up to 4 gate blocks per output value for backward; 6 values per activation covers the
  // activations, their gradients and those gates.
  const double bytes = perSample * static_cast<double>(batch) * sizeof(float) * (training ? 6 : 2);
  checkAllocation(bytes, "A batch of " + std::to_string(batch) + " samples (activations" +
                             (training ? " and gradients)" : ")"));
}

BatchMetrics Network::runBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                               uint32_t seed, bool training, bool backpropagate) {
  if (losses_.empty()) throw std::logic_error("The network has no loss: compile it first");
  checkBatchMemory(batch, backpropagate);
  const std::vector<Slice> slices = planShards(batch);
  noteBatch(slices);
  const int64_t sampleSize = shapeSize(inputShape());
  const int64_t targetsPerSample = losses_[0]->targetsPerSample(outputShape());
  std::vector<BatchMetrics> parts(slices.size());
  auto lossAndBackward = [&](size_t k, double denominator) {
    parts[k] = shards_[k]->lossAndBackward(*losses_[k], targets + slices[k].start * targetsPerSample,
                                           sampleWeights ? sampleWeights + slices[k].start : nullptr, denominator,
                                           backpropagate);
  };
  auto forward = [&](size_t k) {
    shards_[k]->forward(x + slices[k].start * sampleSize, slices[k].count, ForwardMode{training, backpropagate},
                        seed + 0x9E3779B9u * k);
  };
  if (!masksPossible_) {
    // Every output row counts, so the loss denominator (rows of the whole batch) is known up front and each shard
    // runs forward, loss and backward in one go: one join per batch.
    const Shape& out = outputShape();
    const double denominator = static_cast<double>(batch) * (out.size() == 2 ? out[0] : 1);
    runShards(slices.size(), [&](size_t k) {
      forward(k);
      lossAndBackward(k, denominator);
    });
  } else {
    // A mask decides which output rows count: the denominator (valid rows of the whole batch) is known only after
    // every shard's forward.
    runShards(slices.size(), forward);
    double denominator = 0;
    for (size_t k = 0; k < slices.size(); ++k) denominator += LossHead::validRows(shards_[k]->output());
    runShards(slices.size(), [&](size_t k) { lossAndBackward(k, denominator); });
  }
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
    const float* value = values_.data() + p.offset;
    float* grad = shardGrads_[0].data() + p.offset;
    if (p.info.l1 != 0 || p.info.l2 != 0) {
      const float l1 = static_cast<float>(p.info.l1), l2 = static_cast<float>(p.info.l2);
      penalty += kernels::regularizerPenalty(p.size, value, l1, l2);
      if (addGradients) kernels::addRegularizerGradient(p.size, value, grad, l1, l2);
    }
    if (p.anchorFactor > 0) {
      const float factor = static_cast<float>(p.anchorFactor);
      penalty += kernels::anchoredPenalty(p.size, value, p.anchor.data(), factor);
      if (addGradients) kernels::addAnchoredGradient(p.size, value, p.anchor.data(), grad, factor);
    }
  }
  return penalty;
}

void Network::setAnchor(size_t index, const float* anchor, double factor) {
  NetworkParam& p = params_.at(index);
  if (!(factor >= 0 && std::isfinite(factor))) {
    throw std::invalid_argument("Expected an L2-SP factor >= 0 for weight '" + p.info.name + "' but received " +
                                std::to_string(factor));
  }
  if (anchor == nullptr || factor == 0) {
    p.anchor.clear();
    p.anchor.shrink_to_fit();
    p.anchorFactor = 0;
    return;
  }
  p.anchor.assign(anchor, anchor + p.size);
  p.anchorFactor = factor;
}

BatchMetrics Network::computeGradients(const float* x, int64_t batch, const float* targets,
                                       const float* sampleWeights, uint32_t seed) {
  return runBatch(x, batch, targets, sampleWeights, seed, true, true);
}

kernels::LbfgsResult Network::minimize(const float* x, int64_t batch, const float* targets,
                                      const float* sampleWeights, const kernels::LbfgsOptions& options) {
  std::vector<size_t> trainable;
  int64_t total = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].trainable) continue;
    trainable.push_back(i);
    total += params_[i].size;
  }
  if (total == 0) throw std::invalid_argument("Expected a network with trainable weights to minimise over but it has none");
  const std::vector<float> original(values_.data(), values_.data() + values_.size());
  std::vector<double> point(total);
  auto gather = [&](const float* from, double* to) {
    for (size_t i : trainable) to = std::copy(from + params_[i].offset, from + params_[i].offset + params_[i].size, to);
  };
  auto scatter = [&](const double* from) {
    for (size_t i : trainable) {
      float* to = values_.data() + params_[i].offset;
      for (int64_t k = 0; k < params_[i].size; ++k) to[k] = static_cast<float>(*from++);
    }
  };
  gather(values_.data(), point.data());
  try {
    // The gradient pass: backward without dropout (runBatch with training off, backpropagation on).
    auto objective = [&](const double* w, double* gradient) {
      scatter(w);
      const double value = runBatch(x, batch, targets, sampleWeights, 0, false, true).loss;
      gather(shardGrads_[0].data(), gradient);
      return value;
    };
    const kernels::LbfgsResult result = kernels::lbfgsMinimize(total, point.data(), objective, options);
    scatter(point.data());
    return result;
  } catch (...) {
    std::copy(original.begin(), original.end(), values_.data());
    throw;
  }
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
  const NonFiniteUpdate bad = opt.apply(slices);
  if (bad.param >= 0) {
    const NetworkParam& p = params_[static_cast<size_t>(bad.param)];
    throw NonFiniteStep("Layer '" + specs_[p.layer].name + "' weight '" + p.info.name + "': this training step (loss " +
                        countToString(metrics.loss) + ") would make its " + bad.buffer + " " +
                        countToString(bad.value) + " at index " + std::to_string(bad.index) +
                        "; the step was rolled back, so every weight and the optimizer state are as before it");
  }
  return metrics;
}

BatchMetrics Network::evaluateBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights) {
  return runBatch(x, batch, targets, sampleWeights, 0, false, false);
}

void Network::predict(const float* x, int64_t batch, float* out) {
  checkBatchMemory(batch, false);
  const std::vector<Slice> slices = planShards(batch);
  noteBatch(slices);
  const int64_t sampleSize = shapeSize(inputShape()), outSize = shapeSize(outputShape());
  runShards(slices.size(), [&](size_t k) {
    const Activations<float>& output = shards_[k]->forward(x + slices[k].start * sampleSize, slices[k].count, kInferencePass, 0);
    std::memcpy(out + slices[k].start * outSize, output.data, sizeof(float) * slices[k].count * outSize);
  });
}

}  // namespace rnnkit::ops
