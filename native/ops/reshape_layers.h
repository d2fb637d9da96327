// Layers that only rearrange values (Keras reshaping/): RepeatVector, Reshape and Flatten. Shapes are per sample.
// None of them passes a mask on: Keras's RepeatVector, Reshape and Flatten do not support masking, and Keras drops
// the mask of their input (tfjs refuses it), so downstream layers see every step.
#pragma once

#include <cstdint>

#include "ops/layer.h"

namespace rnnkit::ops {

// [F] -> [n, F]: the vector repeated n times (Keras RepeatVector; e.g. an encoding fed to every decoder step).
template <typename T>
class RepeatVectorLayer : public UnaryLayerOp<T> {
 public:
  explicit RepeatVectorLayer(int64_t repeats);
  Shape outputShape(const Shape& input) const override;
  Activations<T> forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) override;
  void backward(const T* dOutput, T* dInput) override;

 private:
  int64_t repeats_;
  int64_t batch_ = 0, features_ = 0;
  Workspace<T> output_;
};

// Any shape -> targetShape with the same number of values, row-major (Keras Reshape). targetShape may hold one -1,
// inferred from the input's size. The input's size must be known (no dimension of any length).
template <typename T>
class ReshapeLayer : public UnaryLayerOp<T> {
 public:
  explicit ReshapeLayer(const Shape& targetShape);
  Shape outputShape(const Shape& input) const override;
  Activations<T> forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) override;
  void backward(const T* dOutput, T* dInput) override;

 private:
  Shape target_;
  int64_t count_ = 0;  // values over the batch
  Workspace<T> output_;
};

// Any shape -> [product of the dimensions] (Keras Flatten). The input's size must be known.
template <typename T>
class FlattenLayer : public UnaryLayerOp<T> {
 public:
  Shape outputShape(const Shape& input) const override;
  Activations<T> forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) override;
  void backward(const T* dOutput, T* dInput) override;

 private:
  int64_t count_ = 0;
  Workspace<T> output_;
};

}  // namespace rnnkit::ops
