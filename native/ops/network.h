// A sequential network in float32: the layer specs, one flat store of parameters, the loss and the optimizer.
// One call trains one batch end to end (forward, loss, BPTT, clipping, update), so nothing crosses the JS/C++
// boundary per layer or per time step. A batch of more than kMaxShardRows samples, or with threads() > 1 of at
// least 2 * kMinShardRows samples, is split into shards that the calling thread and the task pool's workers take
// from a shared counter (ops/task_pool.h; coarse-grained: one join per batch, two with masks; workers sleep in
// between); their gradients add up, in a fixed order, to those of the whole batch.
// The binding validates shapes before it calls in; anything that still goes wrong throws before the optimizer
// runs, so parameters and optimizer state change only on success.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/lbfgs.h"
#include "ops/attention_layer.h"
#include "ops/layer.h"
#include "ops/loss_head.h"
#include "ops/network_shard.h"
#include "ops/optimizer.h"
#include "ops/recurrent_layer.h"

namespace rnnkit::ops {

enum class LayerKind : int32_t { Recurrent = 0, Dense = 1, Dropout = 2, Masking = 3, Embedding = 4, Attention = 5 };

struct LayerSpec {
  LayerKind kind = LayerKind::Dense;
  std::string name;
  RecurrentLayerConfig recurrent;  // kind == Recurrent
  DenseConfig dense;               // kind == Dense
  double rate = 0;                 // kind == Dropout
  double maskValue = 0;            // kind == Masking
  EmbeddingConfig embedding;       // kind == Embedding
  AttentionConfig attention;       // kind == Attention (Attention and AdditiveAttention)
};

// A training step whose update would have made a weight or an optimizer slot NaN or infinite: it was rolled back
// (Optimizer::apply), so the weights, the optimizer state and its step count are exactly as before the step.
class NonFiniteStep : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NetworkParam {
  size_t layer;  // index into the layer list
  ParamInfo info;
  int64_t offset, size;  // into the flat store
  bool trainable = true;
  double learningRateScale = 1;
  // L2-SP: loss += anchorFactor * sum (value - anchor)^2 while anchorFactor > 0 (anchor holds `size` values).
  std::vector<float> anchor;
  double anchorFactor = 0;
};

class Network {
 public:
  static constexpr int64_t kMinShardRows = 8;
  static constexpr int64_t kShardsPerThread = 2;
  static constexpr int64_t kMaxShardRows = 32;
  static constexpr int64_t kMaxShards = 8;  // each shard keeps its own gradient buffer
  // Process-wide upper bound on the threads one batch uses (>= 1).
  static void setThreads(int threads);
  static int threads();

  Network(const Shape& inputShape, const std::vector<LayerSpec>& layers);

  const Shape& inputShape() const { return shapes_.front(); }
  const Shape& outputShape() const { return shapes_.back(); }
  size_t layerCount() const { return specs_.size(); }
  const Shape& layerOutputShape(size_t layer) const { return shapes_.at(layer + 1); }
  const std::vector<NetworkParam>& params() const { return params_; }
  NetworkParam& param(size_t index) { return params_.at(index); }
  float* paramData(size_t index) { return values_.data() + params_.at(index).offset; }
  // Penalises the distance of parameter `index` to `anchor` (size values) with `factor` >= 0 (L2-SP); a null anchor or
  // a zero factor removes the penalty. Throws std::invalid_argument for a negative or non-finite factor.
  void setAnchor(size_t index, const float* anchor, double factor);

  // Sets the loss and a fresh optimizer (its state starts from zero).
  void compile(const LossConfig& loss, const OptimizerConfig& optimizer);
  bool compiled() const { return optimizer_ != nullptr; }
  Optimizer& optimizer();
  const LossHead& lossHead() const;

  // Bytes held by parameters, gradients, optimizer state and the activations of the batches run so far (an
  // estimate of the workspaces: what the binding reports to the JS garbage collector).
  int64_t memoryBytes() const;
  // Throws std::length_error before a batch of `batch` samples whose activations would exceed the memory budget.
  void checkBatchMemory(int64_t batch, bool training) const;

  // x: [batch, ...inputShape]; targets: [batch, targetsPerSample]; sampleWeights: [batch] or nullptr.
  // Throws NonFiniteStep (and changes nothing) when the update would make any weight or optimizer slot non-finite.
  BatchMetrics trainBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                          uint32_t seed);
  BatchMetrics evaluateBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights);
  // Forward and backward only: fills the gradient store (read it with gradData) without updating anything.
  BatchMetrics computeGradients(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                                uint32_t seed);
  // Full-batch L-BFGS (kernels/lbfgs.h) over the trainable parameters: minimises the loss on (x, targets) plus the
  // weight penalties, without dropout, and leaves the best point found in the parameters (on a throw, the parameters
  // are put back as they were). For small convex problems solved to convergence: rk.fineTune's linear probe.
  kernels::LbfgsResult minimize(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                                const kernels::LbfgsOptions& options);
  const float* gradData(size_t index) const { return shardGrads_[0].data() + params_.at(index).offset; }
  // out: [batch, ...outputShape].
  void predict(const float* x, int64_t batch, float* out);

 private:
  struct Slice {
    int64_t start, count;
  };
  std::vector<Slice> planShards(int64_t batch);
  void noteBatch(const std::vector<Slice>& slices);
  BatchMetrics runBatch(const float* x, int64_t batch, const float* targets, const float* sampleWeights,
                        uint32_t seed, bool training, bool backpropagate);
  double regularization(bool addGradients);

  std::vector<LayerSpec> specs_;
  std::vector<Shape> shapes_;  // shapes_[i] = per-sample input of layer i; shapes_.back() = network output
  std::vector<NetworkParam> params_;
  bool masksPossible_ = false;  // a Masking layer or an Embedding with maskZero: output rows may not all count
  Workspace<float> values_;
  std::vector<Workspace<float>> shardGrads_;  // shardGrads_[0] is the network's gradient
  std::vector<std::unique_ptr<NetworkShard>> shards_;
  std::vector<std::unique_ptr<LossHead>> losses_;  // one per shard (scratch buffers)
  LossConfig lossConfig_;
  std::unique_ptr<Optimizer> optimizer_;
  int64_t largestBatch_ = 0;  // per shard, for memoryBytes()
};

}  // namespace rnnkit::ops
