// One replica of a network's layer ops over a slice of a batch. The parameters are shared (read-only during a
// batch); each shard has its own activations, workspaces and gradient buffer, so shards run on separate threads
// without touching each other. The network adds the shards' gradients in a fixed order.
#pragma once

#include <memory>
#include <vector>

#include "ops/basic_layers.h"
#include "ops/layer.h"
#include "ops/loss_head.h"

namespace rnnkit::ops {

struct LayerSpec;
struct NetworkParam;

// A layer op for a spec (throws std::invalid_argument on a bad spec).
std::unique_ptr<LayerOp<float>> makeLayerOp(const LayerSpec& spec);

class NetworkShard {
 public:
  NetworkShard(const std::vector<LayerSpec>& specs, const std::vector<Shape>& shapes,
               const std::vector<NetworkParam>& params, float* values, float* grads);

  // Forward over `batch` samples of x; the output stays valid until the next forward.
  const Activations<float>& forward(const float* x, int64_t batch, ForwardMode mode, uint32_t seed);
  // Loss of the last forward (see LossHead::compute for denominator); with `backpropagate`, also the gradient of
  // every parameter into this shard's gradient buffer (overwriting it).
  BatchMetrics lossAndBackward(LossHead& loss, const float* targets, const float* sampleWeights, double denominator,
                               bool backpropagate);
  const Activations<float>& output() const { return activations_.back(); }

 private:
  std::vector<std::unique_ptr<LayerOp<float>>> layers_;
  std::vector<Shape> shapes_;
  std::vector<Activations<float>> activations_;  // activations_[i] = input of layer i
  std::vector<Workspace<float>> dActivations_;
};

}  // namespace rnnkit::ops
