// The layer-op interface the network chains. A layer sees a batch of samples, each of a fixed per-sample shape
// ([T, F] sequences, [F] vectors, [T] token ids), plus optional per-sample valid windows for sequences.
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace rnnkit::ops {

using Shape = std::vector<int64_t>;  // per-sample shape (no batch dimension)

// Every buffer the element-wise kernels write starts on Eigen's widest alignment. Eigen peels unaligned heads with
// scalar code whose rounding differs from its vector code, so a buffer's address must not decide its results:
// with aligned bases the peel depends only on shapes, and a run is repeatable whatever malloc returns.
template <typename T>
using Workspace = std::vector<T, Eigen::aligned_allocator<T>>;

inline std::string shapeToString(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

// A large count in short form for messages ("4e+10").
inline std::string countToString(double count) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", count);
  return text;
}

// The most values one tensor may hold: 2^31 - 1 floats (8 GiB). Every size is checked against it in 64 bits before
// it is multiplied further, so no product of dimensions can overflow, and no shape read from a user or a file can
// make a buffer size wrap around.
inline constexpr int64_t kMaxTensorElements = (int64_t{1} << 31) - 1;

// Product of the dimensions; std::length_error (an allocation that must not be tried) when a dimension is negative
// or the product exceeds kMaxTensorElements. The message states the size asked for.
inline int64_t shapeSize(const Shape& shape) {
  int64_t size = 1;
  double asked = 1;  // the true product, for the message (a double cannot overflow here)
  bool tooLarge = false;
  for (int64_t d : shape) {
    if (d < 0) throw std::length_error("Expected non-negative dimensions but received the shape " + shapeToString(shape));
    asked *= static_cast<double>(d);
    if (d != 0 && size > kMaxTensorElements / d) tooLarge = true;
    if (!tooLarge) size *= d;
  }
  if (tooLarge && asked != 0) {
    throw std::length_error("A tensor of shape " + shapeToString(shape) + " asks for " + countToString(asked) +
                            " values (" + countToString(asked * 4) + " bytes as float32); at most " +
                            std::to_string(kMaxTensorElements) + " values fit in one tensor");
  }
  return tooLarge ? 0 : size;
}

// Valid steps of each sample of a sequence batch: steps [start[b], end[b]) are real, the rest padding (masked).
// Empty vectors mean every step of every sample is valid.
struct SequenceWindows {
  std::vector<int32_t> start;
  std::vector<int32_t> end;
  bool empty() const { return start.empty(); }
};

template <typename T>
struct Activations {
  const T* data = nullptr;      // [batch, ...shape]
  int64_t batch = 0;
  Shape shape;                  // per sample
  const SequenceWindows* windows = nullptr;  // nullptr: no mask
};

// What a forward is for. `training` is Keras' flag: dropout is active. `keepForBackward`: backward() follows, so the
// layer keeps what it needs; without it a layer may take a faster inference path (the recurrent layers do; it
// rounds differently at float precision, kernels/stacked_steps.h), and backward() is refused.
struct ForwardMode {
  bool training = false;
  bool keepForBackward = true;
};
inline constexpr ForwardMode kTrainingPass{true, true};     // fit
inline constexpr ForwardMode kInferencePass{false, false};  // predict, evaluate
inline constexpr ForwardMode kGradientPass{false, true};    // gradients without dropout (tests, gradient checks)

struct ParamInfo {
  std::string name;  // e.g. "kernel", "recurrent_kernel", "bias" (Keras names)
  Shape shape;
  double l1 = 0, l2 = 0;  // regularizer factors for this parameter
};

// A time dimension of any length in a per-sample shape (Keras `None`, rk.input({ shape: [null, F] })). Shapes given
// when a network is built may hold it; the shapes of a batch that runs never do (they come from the data).
inline constexpr int64_t kAnyLength = -1;

// One node of a network graph: any number of input tensors, any number of output tensors (a recurrent layer with
// returnState has 2 or 3, a merge layer takes 2 or more). Each node of a graph has its own op object (its own
// activations and tape); a layer applied twice is two ops bound to the same parameter values.
template <typename T>
class LayerOp {
 public:
  virtual ~LayerOp() = default;
  // Per-sample output shapes for per-sample input shapes (a dimension may be kAnyLength when the network is built);
  // throws std::invalid_argument naming what was expected when the inputs do not fit (count or shapes).
  virtual std::vector<Shape> outputShapes(const std::vector<Shape>& inputs) const = 0;
  // Parameters for these inputs, in the order bind() receives them. They may depend on feature sizes only, never on
  // a time dimension, so one set of weights serves every sequence length.
  virtual std::vector<ParamInfo> paramInfos(const std::vector<Shape>& inputs) const {
    (void)inputs;
    return {};
  }
  // Binds the parameter / gradient storage (in paramInfos() order); called once after construction.
  virtual void bind(const std::vector<T*>& values, const std::vector<T*>& grads) {
    values_ = values;
    grads_ = grads;
  }
  // Runs the node on one activation per input; the returned activations (one per output) stay valid until the next
  // forward of this op.
  virtual std::vector<Activations<T>> forwardAll(const std::vector<Activations<T>>& inputs, ForwardMode mode,
                                                 std::mt19937& rng) = 0;
  // dOutputs[k]: gradient of output k in its layout, or nullptr when nothing downstream depends on output k (read it
  // as zeros). dInputs[k]: where to write (overwrite) the gradient of input k, or nullptr when it is not needed.
  // Writes the parameter gradients (overwrite). Uses what the last forward kept (which had keepForBackward).
  virtual void backwardAll(const std::vector<const T*>& dOutputs, const std::vector<T*>& dInputs) = 0;

 protected:
  std::vector<T*> values_;
  std::vector<T*> grads_;
};

// The common case, one input and one output (Dense, Dropout, Masking, Embedding): implement the four single-tensor
// methods below and the node methods follow from them.
template <typename T>
class UnaryLayerOp : public LayerOp<T> {
 public:
  // Per-sample output shape for a per-sample input shape; throws std::invalid_argument when the input does not fit.
  virtual Shape outputShape(const Shape& input) const = 0;
  // Parameters for a per-sample input shape, in the order bind() receives them.
  virtual std::vector<ParamInfo> params(const Shape& input) const {
    (void)input;
    return {};
  }
  // Runs the layer; the returned activations stay valid until the next forward of this layer.
  virtual Activations<T> forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) = 0;
  // dOutput has the output's layout; writes the parameter gradients (overwrite) and, when dInput is not null,
  // the input gradient (overwrite). Uses what the last forward kept (which must have had keepForBackward).
  virtual void backward(const T* dOutput, T* dInput) = 0;

  std::vector<Shape> outputShapes(const std::vector<Shape>& inputs) const final {
    expectOne(inputs.size());
    return {outputShape(inputs[0])};
  }
  std::vector<ParamInfo> paramInfos(const std::vector<Shape>& inputs) const final {
    expectOne(inputs.size());
    return params(inputs[0]);
  }
  std::vector<Activations<T>> forwardAll(const std::vector<Activations<T>>& inputs, ForwardMode mode,
                                         std::mt19937& rng) final {
    expectOne(inputs.size());
    return {forward(inputs[0], mode, rng)};
  }
  void backwardAll(const std::vector<const T*>& dOutputs, const std::vector<T*>& dInputs) final {
    expectOne(dInputs.size());
    if (dOutputs.size() != 1 || dOutputs[0] == nullptr) {
      throw std::logic_error("A one-output layer's backward needs the gradient of its output");
    }
    backward(dOutputs[0], dInputs[0]);
  }

 private:
  static void expectOne(size_t count) {
    if (count != 1) {
      throw std::invalid_argument("Expected 1 input tensor but received " + std::to_string(count));
    }
  }
};

}  // namespace rnnkit::ops
