#include "ops/graph.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

#include "ops/errors.h"
#include "ops/network.h"

namespace rnnkit::ops {

namespace {

// A build-time shape with each kAnyLength read as 1, so its size can be checked against the limits.
Shape sizedShape(Shape shape) {
  for (int64_t& d : shape) d = d == kAnyLength ? 1 : d;
  return shape;
}

std::string layerLabel(const GraphSpec& spec, size_t layer) { return "Layer '" + spec.layers[layer].name + "'"; }

}  // namespace

GraphPlan planGraph(const GraphSpec& spec) {
  GraphPlan plan;
  if (spec.inputs.empty()) throw std::invalid_argument("Expected at least one model input but received none");
  if (spec.nodes.empty()) throw std::invalid_argument("Expected at least one layer but received none");
  std::map<int64_t, size_t> slots;
  auto addSlot = [&](int64_t id, const std::string& owner, const Shape& shape) {
    if (!slots.emplace(id, plan.tensorCount).second) {
      throw std::invalid_argument(owner + ": expected a new tensor id but received " + std::to_string(id) +
                                  ", which is already in use (tensor ids must be unique)");
    }
    plan.shapes.push_back(shape);
    plan.consumers.push_back(0);
    return plan.tensorCount++;
  };
  for (size_t k = 0; k < spec.inputs.size(); ++k) {
    plan.inputNames.push_back(spec.inputs[k].name);
    for (int64_t d : spec.inputs[k].shape) {
      if (d < 1 && d != kAnyLength) {
        throw std::invalid_argument("Input '" + spec.inputs[k].name + "': expected dimensions >= 1 (or -1 for any " +
                                    "length), received " + shapeToString(spec.inputs[k].shape));
      }
    }
    addSlot(static_cast<int64_t>(k), "Input '" + spec.inputs[k].name + "'", spec.inputs[k].shape);
  }
  plan.inputCount = spec.inputs.size();
  for (const LayerSpec& layer : spec.layers) plan.layerNames.push_back(layer.name);
  plan.layerParams.resize(spec.layers.size());
  std::vector<char> used(spec.layers.size(), 0);
  for (const GraphNode& node : spec.nodes) {
    if (node.layer >= spec.layers.size()) {
      throw std::invalid_argument("Expected node layer indices in [0, " + std::to_string(spec.layers.size()) +
                                  ") but received " + std::to_string(node.layer));
    }
    const std::string label = layerLabel(spec, node.layer);
    std::vector<size_t> in;
    std::vector<Shape> inShapes;
    for (int64_t id : node.inputs) {
      auto found = slots.find(id);
      if (found == slots.end()) {
        throw std::invalid_argument(label + ": expected its input tensor " + std::to_string(id) +
                                    " to be produced by an earlier node, received an unknown tensor (or a cycle)");
      }
      in.push_back(found->second);
      inShapes.push_back(plan.shapes[found->second]);
      ++plan.consumers[found->second];
    }
    std::vector<Shape> outShapes;
    std::vector<ParamInfo> params;
    try {
      const auto op = makeLayerOp<float>(spec.layers[node.layer]);
      outShapes = op->outputShapes(inShapes);
      params = op->paramInfos(inShapes);
    } catch (const ArgumentError& e) {  // an option out of range (kept apart from shapes: binding/guard.h)
      throw ArgumentError(label + ": " + e.what());
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(label + ": " + e.what());
    }
    if (outShapes.size() != node.outputs.size()) {
      throw std::invalid_argument(label + ": expected the node to name " + std::to_string(outShapes.size()) +
                                  " output tensors, received " + std::to_string(node.outputs.size()));
    }
    for (const ParamInfo& info : params) {
      try {
        shapeSize(info.shape);
      } catch (const std::length_error& e) {
        throw std::length_error(label + " weight '" + info.name + "': " + e.what());
      }
    }
    if (!used[node.layer]) {
      used[node.layer] = 1;
      plan.layerParams[node.layer] = params;
    } else {
      const std::vector<ParamInfo>& first = plan.layerParams[node.layer];
      for (size_t p = 0; p < std::max(first.size(), params.size()); ++p) {
        const Shape a = p < first.size() ? first[p].shape : Shape{}, b = p < params.size() ? params[p].shape : Shape{};
        if (p >= first.size() || p >= params.size() || a != b) {
          throw std::invalid_argument(label + " is shared: expected the same weights at every use, but weight '" +
                                      (p < first.size() ? first[p].name : params[p].name) + "' has the shape " +
                                      shapeToString(a) + " at its first use, received " + shapeToString(b));
        }
      }
    }
    std::vector<size_t> out;
    for (size_t j = 0; j < node.outputs.size(); ++j) {
      try {
        shapeSize(sizedShape(outShapes[j]));
      } catch (const std::length_error& e) {
        throw std::length_error(label + " output: " + e.what());
      }
      out.push_back(addSlot(node.outputs[j], label, outShapes[j]));
    }
    plan.nodeInputs.push_back(std::move(in));
    plan.nodeOutputs.push_back(std::move(out));
    plan.nodeLayers.push_back(node.layer);
  }
  if (spec.outputs.empty()) throw std::invalid_argument("Expected at least one model output but received none");
  for (int64_t id : spec.outputs) {
    auto found = slots.find(id);
    if (found == slots.end()) {
      throw std::invalid_argument("Expected each model output to be a tensor of the graph, received the unknown tensor " +
                                  std::to_string(id));
    }
    plan.outputs.push_back(found->second);
  }
  return plan;
}

template <typename T>
std::vector<Shape> concreteShapes(const GraphPlan& plan, const std::vector<std::unique_ptr<LayerOp<T>>>& ops,
                                  const std::vector<Shape>& inputShapes) {
  std::vector<Shape> shapes(plan.tensorCount);
  for (size_t k = 0; k < plan.inputCount; ++k) shapes[k] = inputShapes.at(k);
  std::vector<Shape> in;
  for (size_t n = 0; n < ops.size(); ++n) {
    in.clear();
    for (size_t s : plan.nodeInputs[n]) in.push_back(shapes[s]);
    std::vector<Shape> out;
    try {
      out = ops[n]->outputShapes(in);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("Layer '" + plan.layerNames[plan.nodeLayers[n]] + "': " + e.what());
    }
    for (size_t j = 0; j < out.size(); ++j) shapes[plan.nodeOutputs[n][j]] = std::move(out[j]);
  }
  return shapes;
}

template <typename T>
GraphRunner<T>::GraphRunner(const GraphSpec& spec, const GraphPlan& plan, const std::vector<std::vector<T*>>& values,
                            const std::vector<std::vector<T*>>& grads)
    : plan_(plan), grads_(grads) {
  const size_t nodes = plan.nodeLayers.size();
  std::vector<char> bound(plan.layerNames.size(), 0);
  scratch_.resize(nodes);
  firstUse_.assign(nodes, 0);
  ran_.assign(nodes, 0);
  nodeIn_.resize(nodes);
  for (size_t n = 0; n < nodes; ++n) {
    const size_t layer = plan.nodeLayers[n];
    ops_.push_back(makeLayerOp<T>(spec.layers[layer]));
    nodeIn_[n].resize(plan.nodeInputs[n].size());
    if (!bound[layer]) {
      bound[layer] = firstUse_[n] = 1;
      ops_[n]->bind(values.at(layer), grads.at(layer));
      continue;
    }
    Scratch& scratch = scratch_[n];
    std::vector<T*> mine;
    for (const ParamInfo& info : plan.layerParams[layer]) scratch.buffers.emplace_back(shapeSize(info.shape), T(0));
    for (Workspace<T>& buffer : scratch.buffers) mine.push_back(buffer.data());
    scratch.stores = grads.at(layer);
    ops_[n]->bind(values.at(layer), mine);
  }
  // A model output is fusable when it is output 0 of a Dense node, nothing else reads it, and it is listed once.
  fusable_.assign(plan.outputs.size(), nullptr);
  for (size_t k = 0; k < plan.outputs.size(); ++k) {
    const size_t slot = plan.outputs[k];
    if (plan.consumers[slot] != 0 || std::count(plan.outputs.begin(), plan.outputs.end(), slot) != 1) continue;
    for (size_t n = 0; n < nodes; ++n) {
      if (!plan.nodeOutputs[n].empty() && plan.nodeOutputs[n][0] == slot) {
        fusable_[k] = dynamic_cast<DenseLayer<T>*>(ops_[n].get());
      }
    }
  }
  tensors_.resize(plan.tensorCount);
  outputs_.resize(plan.outputs.size());
  dTensors_.resize(plan.tensorCount);
  dTensor_.assign(plan.tensorCount, nullptr);
  logits_.assign(plan.tensorCount, 0);
}

template <typename T>
const std::vector<Activations<T>>& GraphRunner<T>::forward(const std::vector<Activations<T>>& inputs, ForwardMode mode,
                                                          uint32_t seed) {
  if (inputs.size() != plan_.inputCount) {
    throw std::invalid_argument("Expected " + std::to_string(plan_.inputCount) + " model inputs but received " +
                                std::to_string(inputs.size()));
  }
  bool changed = inputShapes_.size() != inputs.size();
  for (size_t k = 0; k < inputs.size() && !changed; ++k) changed = inputs[k].shape != inputShapes_[k];
  if (changed) {
    // Concrete shapes are planned once per input shape (a variable time dimension changes them); the ops' own
    // workspaces grow to the largest batch they saw and are reused.
    inputShapes_.clear();
    for (const Activations<T>& input : inputs) inputShapes_.push_back(input.shape);
    shapes_ = concreteShapes(plan_, ops_, inputShapes_);
  }
  std::mt19937 rng(seed);
  for (size_t k = 0; k < inputs.size(); ++k) tensors_[k] = inputs[k];
  for (size_t n = 0; n < ops_.size(); ++n) {
    std::vector<Activations<T>>& in = nodeIn_[n];
    const std::vector<size_t>& inSlots = plan_.nodeInputs[n];
    for (size_t i = 0; i < inSlots.size(); ++i) in[i] = tensors_[inSlots[i]];
    std::vector<Activations<T>> out = ops_[n]->forwardAll(in, mode, rng);
    const std::vector<size_t>& outSlots = plan_.nodeOutputs[n];
    for (size_t j = 0; j < outSlots.size(); ++j) tensors_[outSlots[j]] = out[j];
  }
  for (size_t k = 0; k < outputs_.size(); ++k) outputs_[k] = tensors_[plan_.outputs[k]];
  return outputs_;
}

template <typename T>
T* GraphRunner<T>::ownGradient(size_t slot) {
  const int64_t size = tensors_[slot].batch * shapeSize(tensors_[slot].shape);
  Workspace<T>& own = dTensors_[slot];
  if (dTensor_[slot] != own.data() || static_cast<int64_t>(own.size()) != size) {
    if (dTensor_[slot] == nullptr) {
      own.assign(size, T(0));
    } else {
      Workspace<T> copy(dTensor_[slot], dTensor_[slot] + size);
      own.swap(copy);
    }
    dTensor_[slot] = own.data();
  }
  return own.data();
}

template <typename T>
void GraphRunner<T>::backward(const std::vector<const T*>& dOutputs, const std::vector<char>& logits) {
  std::fill(dTensor_.begin(), dTensor_.end(), nullptr);
  std::fill(logits_.begin(), logits_.end(), 0);
  for (size_t k = 0; k < plan_.outputs.size(); ++k) {
    const size_t slot = plan_.outputs[k];
    const T* seed = dOutputs.at(k);
    if (seed == nullptr) continue;
    if (k < logits.size() && logits[k]) {
      if (!fusable_[k]) throw std::logic_error("A logits gradient was given for an output that is not fusable");
      logits_[slot] = 1;
    }
    if (dTensor_[slot] == nullptr) {
      dTensor_[slot] = seed;
    } else {  // the same tensor is listed as two outputs: their gradients add
      T* own = ownGradient(slot);
      const int64_t size = tensors_[slot].batch * shapeSize(tensors_[slot].shape);
      for (int64_t i = 0; i < size; ++i) own[i] += seed[i];
    }
  }
  for (size_t n = ops_.size(); n-- > 0;) {
    const std::vector<size_t>& outSlots = plan_.nodeOutputs[n];
    const std::vector<size_t>& inSlots = plan_.nodeInputs[n];
    dOut_.resize(outSlots.size());
    bool any = false;
    for (size_t j = 0; j < outSlots.size(); ++j) {
      dOut_[j] = dTensor_[outSlots[j]];
      any = any || dOut_[j] != nullptr;
    }
    ran_[n] = any;
    if (!any) {
      // Nothing downstream depends on this node: its parameter gradients are zero.
      if (firstUse_[n]) {
        const size_t layer = plan_.nodeLayers[n];
        for (size_t p = 0; p < plan_.layerParams[layer].size(); ++p) {
          T* grad = grads_[layer][p];
          std::fill(grad, grad + shapeSize(plan_.layerParams[layer][p].shape), T(0));
        }
      }
      continue;
    }
    dIn_.assign(inSlots.size(), nullptr);
    direct_.assign(inSlots.size(), 0);
    if (dScratch_.size() < inSlots.size()) dScratch_.resize(inSlots.size());
    for (size_t i = 0; i < inSlots.size(); ++i) {
      const size_t slot = inSlots[i];
      if (slot < plan_.inputCount) continue;  // model inputs need no gradient
      const int64_t size = tensors_[slot].batch * shapeSize(tensors_[slot].shape);
      bool claimed = dTensor_[slot] != nullptr;
      for (size_t j = 0; j < i && !claimed; ++j) claimed = direct_[j] && inSlots[j] == slot;
      if (!claimed) {
        dTensors_[slot].resize(size);
        dIn_[i] = dTensors_[slot].data();
        direct_[i] = 1;
      } else {
        dScratch_[i].resize(size);
        dIn_[i] = dScratch_[i].data();
      }
    }
    if (outSlots.size() == 1 && logits_[outSlots[0]]) {
      dynamic_cast<DenseLayer<T>&>(*ops_[n]).backwardFromLogits(dOut_[0], dIn_[0]);
    } else {
      ops_[n]->backwardAll(dOut_, dIn_);
    }
    for (size_t i = 0; i < inSlots.size(); ++i) {
      if (dIn_[i] == nullptr) continue;
      const size_t slot = inSlots[i];
      if (direct_[i]) {
        dTensor_[slot] = dTensors_[slot].data();
        continue;
      }
      T* own = ownGradient(slot);
      const T* add = dScratch_[i].data();
      const int64_t size = static_cast<int64_t>(dScratch_[i].size());
      for (int64_t e = 0; e < size; ++e) own[e] += add[e];
    }
  }
  // Later uses of a shared layer add their gradients into its store, in node order.
  for (size_t n = 0; n < ops_.size(); ++n) {
    if (firstUse_[n] || !ran_[n]) continue;
    const Scratch& scratch = scratch_[n];
    for (size_t p = 0; p < scratch.buffers.size(); ++p) {
      T* store = scratch.stores[p];
      const T* add = scratch.buffers[p].data();
      for (size_t e = 0; e < scratch.buffers[p].size(); ++e) store[e] += add[e];
    }
  }
}

template std::vector<Shape> concreteShapes(const GraphPlan&, const std::vector<std::unique_ptr<LayerOp<float>>>&,
                                           const std::vector<Shape>&);
template std::vector<Shape> concreteShapes(const GraphPlan&, const std::vector<std::unique_ptr<LayerOp<double>>>&,
                                           const std::vector<Shape>&);
template class GraphRunner<float>;
template class GraphRunner<double>;

}  // namespace rnnkit::ops
