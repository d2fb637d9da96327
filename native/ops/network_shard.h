// One replica of a network's graph over a slice of a batch. The parameters are shared (read-only during a batch);
// each shard has its own activations, workspaces and gradient buffer, so shards run on separate threads without
// touching each other. The network adds the shards' gradients in a fixed order.
#pragma once

#include <memory>
#include <vector>

#include "ops/basic_layers.h"
#include "ops/graph.h"
#include "ops/layer.h"
#include "ops/loss_head.h"

namespace rnnkit::ops {

struct NetworkParam;

class NetworkShard {
 public:
  NetworkShard(const GraphSpec& graph, const GraphPlan& plan, const std::vector<NetworkParam>& params, float* values,
               float* grads);

  // Forward over one slice: inputs[k] holds model input k of the slice. The outputs stay valid until the next forward.
  const std::vector<Activations<float>>& forward(const std::vector<Activations<float>>& inputs, ForwardMode mode,
                                                 uint32_t seed) {
    return runner_.forward(inputs, mode, seed);
  }
  const Activations<float>& output(size_t k) const { return runner_.output(k); }
  // Loss of the last forward for every output (losses[k] with its weight; see LossHead::compute for the
  // denominators) into metrics[k]; with `backpropagate`, also the gradient of every parameter into this shard's
  // gradient buffer (overwriting it).
  void lossAndBackward(std::vector<LossHead>& losses, const std::vector<LossConfig>& configs,
                       const std::vector<const float*>& targets, const float* sampleWeights,
                       const std::vector<double>& denominators, bool backpropagate, std::vector<BatchMetrics>& metrics);

 private:
  GraphRunner<float> runner_;
  std::vector<Workspace<float>> dOutputs_;
  std::vector<const float*> seeds_;
  std::vector<char> logits_;
};

}  // namespace rnnkit::ops
