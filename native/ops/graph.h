// A network as a graph: model inputs, the layers that own weights, the nodes that apply them to tensors, and the
// model outputs. Tensors are numbered by the caller (ids 0..inputs-1 are the model inputs; every node names the ids
// of its outputs). Nodes are listed in an order where each tensor is produced before it is used (topological order),
// so running them in list order is a valid schedule. A layer used by several nodes shares its weights between them.
//
// GraphRunner<T> executes one such graph over one batch (or one shard of a batch): forward over the nodes in order,
// backward in reverse with fan-out accumulation. It is a template so the float64 gradient checks drive the very
// engine the network runs in float32.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ops/basic_layers.h"
#include "ops/layer.h"

namespace rnnkit::ops {

struct LayerSpec;  // ops/network.h

// A layer op for a spec (throws std::invalid_argument on a bad spec); defined in network_shard.cc.
template <typename T>
std::unique_ptr<LayerOp<T>> makeLayerOp(const LayerSpec& spec);

struct GraphInput {
  std::string name;  // for messages
  Shape shape;       // per sample; may hold kAnyLength
};

struct GraphNode {
  size_t layer = 0;              // index into GraphSpec::layers
  std::vector<int64_t> inputs;   // tensor ids
  std::vector<int64_t> outputs;  // tensor ids (new, unique)
};

struct GraphSpec {
  std::vector<GraphInput> inputs;
  std::vector<LayerSpec> layers;  // weight owners
  std::vector<GraphNode> nodes;   // in topological order
  std::vector<int64_t> outputs;   // tensor ids of the model outputs
};

// What checking a graph finds out: tensor slots, the build-time shape of every tensor, each layer's parameters.
// Tensor ids are mapped to dense slots 0..tensorCount-1 (slot k < inputs is model input k).
struct GraphPlan {
  size_t inputCount = 0;
  size_t tensorCount = 0;
  std::vector<std::vector<size_t>> nodeInputs, nodeOutputs;  // slots
  std::vector<size_t> outputs;                               // slots of the model outputs
  std::vector<size_t> consumers;                             // per slot: how many node inputs read it
  std::vector<Shape> shapes;                                 // per slot, build time (may hold kAnyLength)
  std::vector<std::vector<ParamInfo>> layerParams;           // per layer (from its first use)
  std::vector<std::string> layerNames;
  std::vector<std::string> inputNames;
  std::vector<size_t> nodeLayers;
};

// Checks a graph (unique ids, every input produced earlier, output counts, shapes, identical parameter shapes for
// every use of a shared layer) and plans it. Throws std::invalid_argument naming the layer on a graph that cannot
// run, ArgumentError (ops/errors.h) naming the layer on a layer option out of range, std::length_error on a tensor
// too large to allocate.
GraphPlan planGraph(const GraphSpec& spec);

// Per-sample shapes of every slot for concrete input shapes (no kAnyLength), checked against each layer again.
// `ops` holds one op per node (their outputShapes are pure).
template <typename T>
std::vector<Shape> concreteShapes(const GraphPlan& plan, const std::vector<std::unique_ptr<LayerOp<T>>>& ops,
                                  const std::vector<Shape>& inputShapes);

template <typename T>
class GraphRunner {
 public:
  // values[l] / grads[l]: the parameter and gradient storage of layer l, in paramInfos order. The first node of a
  // layer writes its gradients into grads[l]; later nodes of the same layer write into scratch buffers that
  // backward() adds into grads[l] afterwards (node order, so the sum is reproducible).
  GraphRunner(const GraphSpec& spec, const GraphPlan& plan, const std::vector<std::vector<T*>>& values,
              const std::vector<std::vector<T*>>& grads);

  // Runs every node; inputs[k] has the concrete per-sample shape of this batch. Returns the activations of the model
  // outputs (valid until the next forward).
  const std::vector<Activations<T>>& forward(const std::vector<Activations<T>>& inputs, ForwardMode mode,
                                             uint32_t seed);
  const Activations<T>& output(size_t k) const { return outputs_[k]; }
  // dOutputs[k]: gradient of model output k in its layout, or nullptr when no gradient reaches it. logits[k]: that
  // gradient is with respect to the pre-activation of the Dense node producing output k (fused loss; only allowed
  // where fusable(k)). Overwrites every parameter gradient of the graph.
  void backward(const std::vector<const T*>& dOutputs, const std::vector<char>& logits);
  // The Dense op producing model output k when its gradient may be taken with respect to the logits (the tensor is
  // output 0 of a Dense node and nothing else reads it), else nullptr.
  DenseLayer<T>* fusable(size_t k) const { return fusable_[k]; }
  // Per-sample shapes of every slot in the last forward.
  const std::vector<Shape>& shapes() const { return shapes_; }

 private:
  struct Scratch {
    std::vector<Workspace<T>> buffers;  // one per parameter
    std::vector<T*> stores;             // where they are added
  };
  // The gradient of `slot` in this runner's own buffer (copying a gradient that lives elsewhere, e.g. a loss seed).
  T* ownGradient(size_t slot);

  const GraphPlan& plan_;
  std::vector<std::vector<T*>> grads_;  // per layer: its gradient store
  std::vector<std::unique_ptr<LayerOp<T>>> ops_;
  std::vector<DenseLayer<T>*> fusable_;
  std::vector<Scratch> scratch_;   // per node (empty for a layer's first node)
  std::vector<char> firstUse_;     // per node
  std::vector<Activations<T>> tensors_, outputs_;
  std::vector<Shape> inputShapes_, shapes_;
  std::vector<std::vector<Activations<T>>> nodeIn_;
  std::vector<Workspace<T>> dTensors_;
  std::vector<const T*> dTensor_;  // per slot: its gradient so far (nullptr: none yet)
  std::vector<Workspace<T>> dScratch_;  // per node input: a contribution to a tensor that already has one
  std::vector<const T*> dOut_;
  std::vector<T*> dIn_;
  std::vector<char> direct_;       // per input of the node being run: written straight into the tensor's gradient
  std::vector<char> ran_;          // per node: backward ran in the last backward()
  std::vector<char> logits_;       // per slot: its gradient is with respect to the Dense node's logits
};

}  // namespace rnnkit::ops
