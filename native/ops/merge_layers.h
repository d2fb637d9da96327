// The merge layers of a graph (Keras merging/): Concatenate along an axis and the element-wise Add, Subtract,
// Multiply, Average and Maximum of 2 or more inputs (Subtract: exactly 2). Shapes are per sample ([T, F], [F], ...).
//
// Masks (Keras compute_mask): when the output keeps the time axis (per-sample axis 0 of a rank >= 2 output) and some
// inputs carry valid windows, the output's mask is the logical AND of the masks of those inputs (an input without a
// mask counts as all valid); with windows [start, end) that is the intersection: start = max, end = min, empty
// (0, 0) when end <= start. Merges do not zero masked rows (Keras does not), so their gradients pass unchanged.
// Concatenating masked sequences along the time axis would give a mask with a gap in the middle (Keras concatenates
// the masks), which windows cannot represent: refused with std::invalid_argument.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/layer.h"

namespace rnnkit::ops {

// Checks and mask handling shared by every merge; subclasses compute values and gradients.
template <typename T>
class MergeLayer : public LayerOp<T> {
 public:
  std::vector<Activations<T>> forwardAll(const std::vector<Activations<T>>& inputs, ForwardMode mode,
                                         std::mt19937& rng) final;
  void backwardAll(const std::vector<const T*>& dOutputs, const std::vector<T*>& dInputs) final;

 protected:
  // The name used in messages ("add", "concatenate", ...).
  virtual const char* what() const = 0;
  // Throws std::invalid_argument unless there are at least 2 inputs (exactly 2 when exactlyTwo).
  void checkCount(size_t count, bool exactlyTwo = false) const;
  // Writes the output (outputSize values) from the inputs.
  virtual void compute(const std::vector<Activations<T>>& inputs, T* output) = 0;
  // Writes the gradient of every input k with dInputs[k] != nullptr from dOutput (never null here).
  virtual void gradients(const T* dOutput, const std::vector<T*>& dInputs) = 0;
  // Whether the output keeps the inputs' time axis, so that their masks travel on.
  virtual bool keepsTimeAxis(const Shape& output) const { return output.size() >= 2; }

  std::vector<const T*> inputs_;
  std::vector<int64_t> inputSizes_;  // values per input over the batch
  int64_t batch_ = 0;

 private:
  Workspace<T> output_;
  SequenceWindows windows_;
};

enum class MergeOperation : int32_t { Add, Subtract, Multiply, Average, Maximum };

// out = x_0 + x_1 + ... | x_0 - x_1 | x_0 * x_1 * ... | (x_0 + ... + x_{n-1}) / n | max(x_0, x_1, ...), element-wise
// over inputs of one shape. Maximum's gradient goes to the first input holding the maximum (tf.maximum's gradient,
// chained as Keras does, gives ties to the earlier operand).
template <typename T>
class ElementwiseMergeLayer : public MergeLayer<T> {
 public:
  explicit ElementwiseMergeLayer(MergeOperation operation) : operation_(operation) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& inputs) const override;

 protected:
  const char* what() const override;
  void compute(const std::vector<Activations<T>>& inputs, T* output) override;
  void gradients(const T* dOutput, const std::vector<T*>& dInputs) override;

 private:
  MergeOperation operation_;
};

// Joins the inputs along one axis, given as Keras does: counting the batch dimension as axis 0, negative from the
// end (default -1, the features). Off that axis the shapes must be equal.
template <typename T>
class ConcatenateLayer : public MergeLayer<T> {
 public:
  explicit ConcatenateLayer(int64_t axis);
  std::vector<Shape> outputShapes(const std::vector<Shape>& inputs) const override;

 protected:
  const char* what() const override { return "concatenate"; }
  void compute(const std::vector<Activations<T>>& inputs, T* output) override;
  void gradients(const T* dOutput, const std::vector<T*>& dInputs) override;

 private:
  // The per-sample axis (0 = first dimension after the batch) for inputs of the given per-sample rank.
  int64_t sampleAxis(size_t rank) const;
  int64_t axis_;
  int64_t outer_ = 0;              // batch * product of the dimensions before the axis
  std::vector<int64_t> blocks_;    // per input: values from the axis on (one contiguous block per outer index)
  int64_t outputBlock_ = 0;        // sum of blocks_
};

}  // namespace rnnkit::ops
