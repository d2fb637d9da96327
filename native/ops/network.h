// A network in float32: a graph of layer nodes (ops/graph.h), one flat store of parameters, one loss per model
// output and the optimizer.
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
#include "ops/graph.h"
#include "ops/layer.h"
#include "ops/loss_head.h"
#include "ops/merge_layers.h"
#include "ops/network_shard.h"
#include "ops/optimizer.h"
#include "ops/recurrent_layer.h"
#include "ops/reshape_layers.h"

namespace rnnkit::ops {

enum class LayerKind : int32_t { Recurrent = 0, Dense = 1, Dropout = 2, Masking = 3, Embedding = 4,
  Concatenate = 5, Add = 6, Subtract = 7, Multiply = 8, Average = 9, Maximum = 10,  // ops/merge_layers.h
  RepeatVector = 11, Reshape = 12, Flatten = 13,                                   // ops/reshape_layers.h
  Attention = 14 };                                                                 // ops/attention_layer.h

struct LayerSpec {
  LayerKind kind = LayerKind::Dense;
  std::string name;
  RecurrentLayerConfig recurrent;  // kind == Recurrent
  DenseConfig dense;               // kind == Dense
  double rate = 0;                 // kind == Dropout
  double maskValue = 0;            // kind == Masking
  EmbeddingConfig embedding;       // kind == Embedding
  int64_t axis = -1;               // kind == Concatenate (Keras's axis: the batch dimension is 0)
  int64_t repeats = 1;             // kind == RepeatVector (Keras's n)
  Shape targetShape;               // kind == Reshape (per sample; one -1 may be inferred)
  AttentionConfig attention;       // kind == Attention (Attention and AdditiveAttention)
};

// A training step whose update would have made a weight or an optimizer slot NaN or infinite: it was rolled back
// (Optimizer::apply), so the weights, the optimizer state and its step count are exactly as before the step.
class NonFiniteStep : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NetworkParam {
  size_t layer;  // index into the graph's layer list
  ParamInfo info;
  int64_t offset, size;  // into the flat store
  bool trainable = true;
  double learningRateScale = 1;
  // L2-SP: loss += anchorFactor * sum (value - anchor)^2 while anchorFactor > 0 (anchor holds `size` values).
  std::vector<float> anchor;
  double anchorFactor = 0;
};

// One batch as the network receives it: per model input its data [batch, ...shapes[k]] (concrete shapes: no
// kAnyLength), per model output its targets (train, evaluate, gradients), and optional per-sample weights.
struct NetworkBatch {
  int64_t batch = 0;
  std::vector<const float*> inputs;
  std::vector<Shape> shapes;
  std::vector<const float*> targets;
  const float* sampleWeights = nullptr;
};

// The metrics of a batch: the total loss (sum of weight_k * loss_k plus the weight penalties) and, per output, its
// own (unweighted) loss and metric sums.
struct NetworkMetrics {
  double loss = 0;
  std::vector<BatchMetrics> outputs;
  // Per output compiled without a loss (LossConfig::none), in output order: its values [batch, ...concrete shape].
  std::vector<std::vector<float>> values;
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

  explicit Network(const GraphSpec& graph);

  size_t inputCount() const { return plan_.inputCount; }
  size_t outputCount() const { return plan_.outputs.size(); }
  const GraphInput& input(size_t k) const { return graph_.inputs.at(k); }
  // Build-time per-sample shape of model output k (may hold kAnyLength).
  const Shape& outputShape(size_t k) const { return plan_.shapes.at(plan_.outputs.at(k)); }
  // Concrete per-sample shapes of every tensor for concrete input shapes (throws std::invalid_argument naming the
  // layer that does not fit them); the model outputs are at outputSlots().
  const std::vector<Shape>& concreteShapes(const std::vector<Shape>& inputShapes);
  const std::vector<size_t>& outputSlots() const { return plan_.outputs; }
  const std::vector<NetworkParam>& params() const { return params_; }
  NetworkParam& param(size_t index) { return params_.at(index); }
  float* paramData(size_t index) { return values_.data() + params_.at(index).offset; }
  // Penalises the distance of parameter `index` to `anchor` (size values) with `factor` >= 0 (L2-SP); a null anchor or
  // a zero factor removes the penalty. Throws std::invalid_argument for a negative or non-finite factor.
  void setAnchor(size_t index, const float* anchor, double factor);

  // Sets one loss per model output (its weight in LossConfig::weight) and a fresh optimizer (state from zero).
  void compile(const std::vector<LossConfig>& losses, const OptimizerConfig& optimizer);
  bool compiled() const { return optimizer_ != nullptr; }
  Optimizer& optimizer();
  // The loss of model output k (after compile).
  const LossHead& lossHead(size_t k) const;

  // Bytes held by parameters, gradients, optimizer state and the activations of the batches run so far (an
  // estimate of the workspaces: what the binding reports to the JS garbage collector).
  int64_t memoryBytes() const;
  // Throws std::length_error before a batch of `batch` samples whose activations (for the concrete per-sample shapes
  // of every tensor, concreteShapes()) would exceed the memory budget.
  void checkBatchMemory(int64_t batch, const std::vector<Shape>& shapes, bool training) const;

  // Throws NonFiniteStep (and changes nothing) when the update would make any weight or optimizer slot non-finite.
  NetworkMetrics trainBatch(const NetworkBatch& batch, uint32_t seed);
  NetworkMetrics evaluateBatch(const NetworkBatch& batch);
  // Forward and backward only: fills the gradient store (read it with gradData) without updating anything.
  NetworkMetrics computeGradients(const NetworkBatch& batch, uint32_t seed);
  // Full-batch L-BFGS (kernels/lbfgs.h) over the trainable parameters: minimises the loss on the batch plus the
  // weight penalties, without dropout, and leaves the best point found in the parameters (on a throw, the parameters
  // are put back as they were). For small convex problems solved to convergence: rk.fineTune's linear probe.
  kernels::LbfgsResult minimize(const NetworkBatch& batch, const kernels::LbfgsOptions& options);
  const float* gradData(size_t index) const { return shardGrads_[0].data() + params_.at(index).offset; }
  // outputs[k]: [batch, ...concrete shape of output k].
  void predict(const NetworkBatch& batch, const std::vector<float*>& outputs);

 private:
  struct Slice {
    int64_t start, count;
  };
  std::vector<Slice> planShards(int64_t batch);
  void noteBatch(const std::vector<Slice>& slices, const std::vector<Shape>& shapes);
  NetworkMetrics runBatch(const NetworkBatch& batch, uint32_t seed, bool training, bool backpropagate);
  void forwardShard(size_t k, const NetworkBatch& batch, const Slice& slice, ForwardMode mode, uint32_t seed);
  double regularization(bool addGradients);

  GraphSpec graph_;
  GraphPlan plan_;
  std::vector<std::unique_ptr<LayerOp<float>>> shapeOps_;  // one per node, for concrete shapes
  std::vector<Shape> shapesFor_, shapes_;                   // concreteShapes() cache: input shapes -> all shapes
  std::vector<NetworkParam> params_;
  bool masksPossible_ = false;  // a Masking layer or an Embedding with maskZero: output rows may not all count
  Workspace<float> values_;
  std::vector<Workspace<float>> shardGrads_;  // shardGrads_[0] is the network's gradient
  std::vector<std::unique_ptr<NetworkShard>> shards_;
  std::vector<std::vector<LossHead>> losses_;  // [shard][output] (scratch buffers)
  std::vector<LossConfig> lossConfigs_;
  std::vector<std::vector<Activations<float>>> shardInputs_;  // [shard][input]
  std::vector<std::vector<BatchMetrics>> parts_;              // [shard][output]
  std::vector<std::vector<const float*>> shardTargets_;       // [shard][output]: the shard's rows of the targets
  std::unique_ptr<Optimizer> optimizer_;
  int64_t activationFloats_ = 0;  // largest estimate of a batch's activations over the shards, for memoryBytes()
};

}  // namespace rnnkit::ops
