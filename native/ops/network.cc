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
#include "ops/errors.h"
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
  if (threads < 1) throw ArgumentError("Expected at least 1 thread but received " + std::to_string(threads));
  gThreads = threads;
}

int Network::threads() { return gThreads; }

Network::Network(const GraphSpec& graph) : graph_(graph), plan_(planGraph(graph_)) {
  int64_t total = 0;
  for (size_t layer = 0; layer < graph_.layers.size(); ++layer) {
    for (const ParamInfo& info : plan_.layerParams[layer]) {
      const int64_t size = shapeSize(info.shape);  // checked by planGraph
      params_.push_back({layer, info, total, size});
      total += size;
      // Each term is below 2^31, so the sum of up to 10^7 of them cannot overflow before this check stops it.
      checkAllocation(2.0 * sizeof(float) * static_cast<double>(total),
                      "The weights and gradients of the network (" + countToString(static_cast<double>(total)) +
                          " parameters up to layer '" + graph_.layers[layer].name + "')");
    }
  }
  for (const LayerSpec& spec : graph_.layers) {
    if (spec.kind == LayerKind::Masking || (spec.kind == LayerKind::Embedding && spec.embedding.maskZero)) {
      masksPossible_ = true;
    }
  }
  for (size_t layer : plan_.nodeLayers) shapeOps_.push_back(makeLayerOp<float>(graph_.layers[layer]));
  values_.assign(total, 0.f);
  shardGrads_.emplace_back(total, 0.f);
  shards_.push_back(std::make_unique<NetworkShard>(graph_, plan_, params_, values_.data(), shardGrads_[0].data()));
}

const std::vector<Shape>& Network::concreteShapes(const std::vector<Shape>& inputShapes) {
  if (inputShapes != shapesFor_ || shapes_.empty()) {
    shapes_ = ops::concreteShapes(plan_, shapeOps_, inputShapes);
    shapesFor_ = inputShapes;
  }
  return shapes_;
}

void Network::noteBatch(const std::vector<Slice>& slices, const std::vector<Shape>& shapes) {
  int64_t rows = 0;
  for (const Slice& slice : slices) rows = std::max(rows, slice.count);
  // Activations and their gradients, about three values per tensor per sample, and a recurrent layer's tape for
  // backward: per step its gate blocks twice (values and gradients) and three state vectors. A coarse estimate from
  // the specs (the exact sizes live in each layer's workspaces), but of the right order: the tape is what dominates
  // a recurrent network's memory once it has trained.
  int64_t perSample = 0;
  for (size_t n = 0; n < plan_.nodeLayers.size(); ++n) {
    for (size_t slot : plan_.nodeOutputs[n]) perSample += 3 * shapeSize(shapes[slot]);
    const LayerSpec& spec = graph_.layers[plan_.nodeLayers[n]];
    if (spec.kind == LayerKind::Recurrent && !plan_.nodeInputs[n].empty()) {
      const RecurrentLayerConfig& r = spec.recurrent;
      const int64_t gates = r.cell.kind == CellKind::Lstm ? 4 : r.cell.kind == CellKind::Gru ? 3 : 1;
      const Shape& in = shapes[plan_.nodeInputs[n][0]];
      perSample += (in.empty() ? 1 : in[0]) * r.units * (2 * gates + 3) * (r.bidirectional ? 2 : 1);
    }
  }
  activationFloats_ = std::max(activationFloats_, perSample * rows * static_cast<int64_t>(shards_.size()));
}

void Network::compile(const std::vector<LossConfig>& losses, const OptimizerConfig& optimizer) {
  if (losses.size() != outputCount()) {
    throw ArgumentError("Expected one loss per model output (" + std::to_string(outputCount()) +
                                ") but received " + std::to_string(losses.size()));
  }
  for (const LossConfig& loss : losses) {
    if (!(loss.weight >= 0 && std::isfinite(loss.weight))) {
      throw ArgumentError("Expected loss weights >= 0 but received " + std::to_string(loss.weight));
    }
  }
  std::vector<int64_t> sizes;
  for (const NetworkParam& p : params_) sizes.push_back(p.size);
  // Values, one gradient store, up to three optimizer slots and the rollback copies of a value and its slots.
  checkAllocation(9.0 * sizeof(float) * static_cast<double>(values_.size()),
                  "The weights, gradients and optimizer state of the network (" +
                      countToString(static_cast<double>(values_.size())) + " parameters)");
  auto newOptimizer = std::make_unique<Optimizer>(optimizer, sizes);
  lossConfigs_ = losses;
  losses_.assign(shards_.size(), std::vector<LossHead>(losses.begin(), losses.end()));
  optimizer_ = std::move(newOptimizer);
}

Optimizer& Network::optimizer() {
  if (!optimizer_) throw StateError("The network has no optimizer: compile it first");
  return *optimizer_;
}

const LossHead& Network::lossHead(size_t k) const {
  if (losses_.empty()) throw StateError("The network has no loss: compile it first");
  return losses_[0].at(k);
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
    shards_.push_back(std::make_unique<NetworkShard>(graph_, plan_, params_, values_.data(), shardGrads_.back().data()));
    if (optimizer_) losses_.emplace_back(lossConfigs_.begin(), lossConfigs_.end());
  }
  std::vector<Slice> slices;
  for (int64_t k = 0; k < count; ++k) {
    const int64_t start = batch * k / count, end = batch * (k + 1) / count;
    slices.push_back({start, end - start});
  }
  if (shardInputs_.size() < slices.size()) shardInputs_.resize(slices.size());
  if (parts_.size() < slices.size()) parts_.resize(slices.size());
  if (shardTargets_.size() < slices.size()) shardTargets_.resize(slices.size());
  return slices;
}

int64_t Network::memoryBytes() const {
  int64_t floats = static_cast<int64_t>(values_.size());
  for (const auto& grads : shardGrads_) floats += static_cast<int64_t>(grads.size());
  floats += activationFloats_;
  return floats * static_cast<int64_t>(sizeof(float)) + (optimizer_ ? optimizer_->memoryBytes() : 0);
}

void Network::checkBatchMemory(int64_t batch, const std::vector<Shape>& shapes, bool training) const {
  double perSample = 0;
  for (const Shape& shape : shapes) perSample += static_cast<double>(shapeSize(shape));
  // A recurrent layer keeps up to 4 gate blocks per output value for backward; 6 values per activation covers the
  // activations, their gradients and those gates.
  const double bytes = perSample * static_cast<double>(batch) * sizeof(float) * (training ? 6 : 2);
  checkAllocation(bytes, "A batch of " + std::to_string(batch) + " samples (activations" +
                             (training ? " and gradients)" : ")"));
}

void Network::forwardShard(size_t k, const NetworkBatch& batch, const Slice& slice, ForwardMode mode, uint32_t seed) {
  std::vector<Activations<float>>& inputs = shardInputs_[k];
  inputs.resize(batch.inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    inputs[i].data = batch.inputs[i] + slice.start * shapeSize(batch.shapes[i]);
    inputs[i].batch = slice.count;
    inputs[i].shape = batch.shapes[i];
    inputs[i].windows = nullptr;
  }
  shards_[k]->forward(inputs, mode, seed);
}

NetworkMetrics Network::runBatch(const NetworkBatch& batch, uint32_t seed, bool training, bool backpropagate) {
  if (losses_.empty()) throw StateError("The network has no loss: compile it first");
  if (batch.targets.size() != outputCount()) {
    throw std::invalid_argument("Expected targets for " + std::to_string(outputCount()) + " outputs but received " +
                                std::to_string(batch.targets.size()));
  }
  // A reference into the concrete-shape cache: nothing below asks for other shapes until the batch ends.
  const std::vector<Shape>& shapes = concreteShapes(batch.shapes);
  checkBatchMemory(batch.batch, shapes, backpropagate);
  const std::vector<Slice> slices = planShards(batch.batch);
  noteBatch(slices, shapes);
  const size_t outputs = outputCount();
  std::vector<std::vector<const float*>>& targets = shardTargets_;
  for (size_t k = 0; k < slices.size(); ++k) {
    parts_[k].resize(outputs);
    targets[k].resize(outputs);
    for (size_t o = 0; o < outputs; ++o) {
      const int64_t perSample = losses_[0][o].targetsPerSample(shapes[plan_.outputs[o]]);
      targets[k][o] = batch.targets[o] + slices[k].start * perSample;
    }
  }
  const ForwardMode mode{training, backpropagate};
  // The outputs without a loss are copied out right after each shard's forward, before backward reuses anything.
  std::vector<size_t> unlossed;
  for (size_t o = 0; o < outputs; ++o) {
    if (lossConfigs_[o].none) unlossed.push_back(o);
  }
  NetworkMetrics total;
  total.values.resize(unlossed.size());
  for (size_t v = 0; v < unlossed.size(); ++v) {
    total.values[v].resize(batch.batch * shapeSize(shapes[plan_.outputs[unlossed[v]]]));
  }
  auto forward = [&](size_t k) {
    forwardShard(k, batch, slices[k], mode, seed + 0x9E3779B9u * k);
    for (size_t v = 0; v < unlossed.size(); ++v) {
      const Activations<float>& out = shards_[k]->output(unlossed[v]);
      const int64_t size = shapeSize(out.shape);
      std::memcpy(total.values[v].data() + slices[k].start * size, out.data, sizeof(float) * slices[k].count * size);
    }
  };
  std::vector<double> denominators(outputs, 0.0);
  auto lossAndBackward = [&](size_t k) {
    shards_[k]->lossAndBackward(losses_[k], lossConfigs_, targets[k],
                                batch.sampleWeights ? batch.sampleWeights + slices[k].start : nullptr, denominators,
                                backpropagate, parts_[k]);
  };
  if (!masksPossible_) {
    // Every output row counts, so the loss denominators (rows of the whole batch) are known up front and each shard
    // runs forward, loss and backward in one go: one join per batch.
    for (size_t o = 0; o < outputs; ++o) {
      const Shape& out = shapes[plan_.outputs[o]];
      denominators[o] = static_cast<double>(batch.batch) * (out.size() == 2 ? out[0] : 1);
    }
    runShards(slices.size(), [&](size_t k) {
      forward(k);
      lossAndBackward(k);
    });
  } else {
    // A mask decides which output rows count: the denominators (valid rows of the whole batch) are known only after
    // every shard's forward.
    runShards(slices.size(), forward);
    for (size_t k = 0; k < slices.size(); ++k) {
      for (size_t o = 0; o < outputs; ++o) denominators[o] += LossHead::validRows(shards_[k]->output(o));
    }
    runShards(slices.size(), lossAndBackward);
  }
  total.outputs.resize(outputs);
  for (size_t k = 0; k < slices.size(); ++k) {
    for (size_t o = 0; o < outputs; ++o) {
      const BatchMetrics& part = parts_[k][o];
      BatchMetrics& sum = total.outputs[o];
      sum.loss += part.loss;
      sum.correct += part.correct;
      sum.accuracyTotal += part.accuracyTotal;
      sum.absoluteError += part.absoluteError;
      sum.squaredError += part.squaredError;
      sum.elements += part.elements;
    }
  }
  for (size_t o = 0; o < outputs; ++o) total.loss += lossConfigs_[o].weight * total.outputs[o].loss;
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
    throw ArgumentError("Expected an L2-SP factor >= 0 for weight '" + p.info.name + "' but received " +
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

NetworkMetrics Network::computeGradients(const NetworkBatch& batch, uint32_t seed) {
  return runBatch(batch, seed, true, true);
}

kernels::LbfgsResult Network::minimize(const NetworkBatch& batch, const kernels::LbfgsOptions& options) {
  std::vector<size_t> trainable;
  int64_t total = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!params_[i].trainable) continue;
    trainable.push_back(i);
    total += params_[i].size;
  }
  if (total == 0) throw StateError("Expected a network with trainable weights to minimise over but it has none");
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
      const double value = runBatch(batch, 0, false, true).loss;
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

NetworkMetrics Network::trainBatch(const NetworkBatch& batch, uint32_t seed) {
  Optimizer& opt = optimizer();
  NetworkMetrics metrics = computeGradients(batch, seed);
  std::vector<ParamSlice> slices;
  slices.reserve(params_.size());
  for (const NetworkParam& p : params_) {
    slices.push_back({values_.data() + p.offset, shardGrads_[0].data() + p.offset, p.size, p.trainable,
                      p.learningRateScale});
  }
  const NonFiniteUpdate bad = opt.apply(slices);
  if (bad.param >= 0) {
    const NetworkParam& p = params_[static_cast<size_t>(bad.param)];
    throw NonFiniteStep("Layer '" + graph_.layers[p.layer].name + "' weight '" + p.info.name + "': this training step (loss " +
                        countToString(metrics.loss) + ") would make its " + bad.buffer + " " +
                        countToString(bad.value) + " at index " + std::to_string(bad.index) +
                        "; the step was rolled back, so every weight and the optimizer state are as before it");
  }
  return metrics;
}

NetworkMetrics Network::evaluateBatch(const NetworkBatch& batch) { return runBatch(batch, 0, false, false); }

void Network::predict(const NetworkBatch& batch, const std::vector<float*>& outputs) {
  const std::vector<Shape>& shapes = concreteShapes(batch.shapes);
  checkBatchMemory(batch.batch, shapes, false);
  const std::vector<Slice> slices = planShards(batch.batch);
  noteBatch(slices, shapes);
  std::vector<int64_t> sizes;
  for (size_t slot : plan_.outputs) sizes.push_back(shapeSize(shapes[slot]));
  runShards(slices.size(), [&](size_t k) {
    forwardShard(k, batch, slices[k], kInferencePass, 0);
    for (size_t o = 0; o < sizes.size(); ++o) {
      std::memcpy(outputs[o] + slices[k].start * sizes[o], shards_[k]->output(o).data,
                  sizeof(float) * slices[k].count * sizes[o]);
    }
  });
}

}  // namespace rnnkit::ops
