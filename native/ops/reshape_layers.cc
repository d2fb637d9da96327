// RepeatVector, Reshape and Flatten. Reshape and Flatten change only the shape (row-major order is unchanged): their
// output is a copy of the input, so it stays valid until the layer's next forward whatever becomes of the input's
// buffer (the LayerOp contract), and their backward copies the gradient through.
#include "ops/reshape_layers.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace rnnkit::ops {

namespace {

// Refuses a shape with a dimension of any length: a reshape needs to know how many values a sample holds.
void requireKnownSize(const Shape& input, const char* layer) {
  if (std::find(input.begin(), input.end(), kAnyLength) != input.end()) {
    throw std::invalid_argument(std::string("Expected an input of known size for a ") + layer +
                                " layer but received the shape " + shapeToString(input) +
                                " (a time dimension of any length)");
  }
}

// The input's values, copied into `output`, with a new per-sample shape and no mask.
template <typename T>
Activations<T> relabel(const Activations<T>& input, const Shape& shape, Workspace<T>& output) {
  output.assign(input.data, input.data + input.batch * shapeSize(input.shape));
  Activations<T> out;
  out.data = output.data();
  out.batch = input.batch;
  out.shape = shape;
  return out;
}

}  // namespace

template <typename T>
RepeatVectorLayer<T>::RepeatVectorLayer(int64_t repeats) : repeats_(repeats) {
  if (repeats < 1) throw std::invalid_argument("Expected n >= 1 for a repeatVector layer but received " + std::to_string(repeats));
}

template <typename T>
Shape RepeatVectorLayer<T>::outputShape(const Shape& input) const {
  if (input.size() != 1 || input[0] == kAnyLength) {
    throw std::invalid_argument("Expected a repeatVector input of shape [features] but received " + shapeToString(input));
  }
  return {repeats_, input[0]};
}

template <typename T>
Activations<T> RepeatVectorLayer<T>::forward(const Activations<T>& input, ForwardMode, std::mt19937&) {
  const Shape shape = outputShape(input.shape);
  batch_ = input.batch;
  features_ = input.shape[0];
  output_.resize(batch_ * repeats_ * features_);
  for (int64_t b = 0; b < batch_; ++b) {
    const T* vector = input.data + b * features_;
    for (int64_t t = 0; t < repeats_; ++t) std::copy(vector, vector + features_, output_.data() + (b * repeats_ + t) * features_);
  }
  Activations<T> out;
  out.data = output_.data();
  out.batch = batch_;
  out.shape = shape;
  return out;
}

template <typename T>
void RepeatVectorLayer<T>::backward(const T* dOutput, T* dInput) {
  if (!dInput) return;
  // dx[b] = sum over the n copies of dout[b, t].
  for (int64_t b = 0; b < batch_; ++b) {
    T* dx = dInput + b * features_;
    std::fill(dx, dx + features_, T(0));
    for (int64_t t = 0; t < repeats_; ++t) {
      const T* dy = dOutput + (b * repeats_ + t) * features_;
      for (int64_t f = 0; f < features_; ++f) dx[f] += dy[f];
    }
  }
}

template <typename T>
ReshapeLayer<T>::ReshapeLayer(const Shape& targetShape) : target_(targetShape) {
  int inferred = 0;
  for (int64_t d : targetShape) {
    if (d == -1) ++inferred;
    else if (d < 1) inferred = 2;
  }
  if (targetShape.empty() || inferred > 1) {
    throw std::invalid_argument("Expected a reshape targetShape of positive dimensions with at most one -1 but received " +
                                shapeToString(targetShape));
  }
}

template <typename T>
Shape ReshapeLayer<T>::outputShape(const Shape& input) const {
  requireKnownSize(input, "reshape");
  const int64_t size = shapeSize(input);
  Shape knownDims = target_;
  std::replace(knownDims.begin(), knownDims.end(), int64_t{-1}, int64_t{1});
  const int64_t known = shapeSize(knownDims);  // std::length_error for a target too large for one tensor
  Shape out = target_;
  const auto inferred = std::find(out.begin(), out.end(), int64_t{-1});
  if (inferred != out.end() && size % known == 0) *inferred = size / known;
  const bool fits = inferred != out.end() ? *inferred >= 1 : known == size;
  if (!fits) {
    throw std::invalid_argument("Expected an input whose number of values fits the reshape targetShape " +
                                shapeToString(target_) + " but received the shape " + shapeToString(input) + " (" +
                                std::to_string(size) + " values)");
  }
  return out;
}

template <typename T>
Activations<T> ReshapeLayer<T>::forward(const Activations<T>& input, ForwardMode, std::mt19937&) {
  const Shape shape = outputShape(input.shape);
  count_ = input.batch * shapeSize(input.shape);
  return relabel(input, shape, output_);
}

template <typename T>
void ReshapeLayer<T>::backward(const T* dOutput, T* dInput) {
  if (dInput) std::memmove(dInput, dOutput, sizeof(T) * count_);
}

template <typename T>
Shape FlattenLayer<T>::outputShape(const Shape& input) const {
  requireKnownSize(input, "flatten");
  if (input.empty()) throw std::invalid_argument("Expected a flatten input of at least one dimension but received []");
  return {shapeSize(input)};
}

template <typename T>
Activations<T> FlattenLayer<T>::forward(const Activations<T>& input, ForwardMode, std::mt19937&) {
  const Shape shape = outputShape(input.shape);
  count_ = input.batch * shape[0];
  return relabel(input, shape, output_);
}

template <typename T>
void FlattenLayer<T>::backward(const T* dOutput, T* dInput) {
  if (dInput) std::memmove(dInput, dOutput, sizeof(T) * count_);
}

template class RepeatVectorLayer<float>;
template class RepeatVectorLayer<double>;
template class ReshapeLayer<float>;
template class ReshapeLayer<double>;
template class FlattenLayer<float>;
template class FlattenLayer<double>;

}  // namespace rnnkit::ops
