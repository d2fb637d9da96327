// Dropout and Masking: the two layers that only reshape which values flow, with no parameters.
#include <cstring>
#include <stdexcept>
#include <string>

#include "ops/basic_layers.h"
#include "ops/errors.h"

namespace rnnkit::ops {

template <typename T>
DropoutLayer<T>::DropoutLayer(double rate) : rate_(rate) {
  if (rate < 0 || rate >= 1) throw ArgumentError("Expected a dropout rate in [0, 1) but received " + std::to_string(rate));
}

template <typename T>
Activations<T> DropoutLayer<T>::forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) {
  scale_.clear();
  count_ = input.batch * shapeSize(input.shape);
  if (!mode.training || rate_ == 0) return input;  // identity at inference, as in Keras
  const int64_t count = count_;
  const T keptScale = T(1) / T(1 - rate_);
  std::bernoulli_distribution keep(1 - rate_);
  scale_.resize(count);
  output_.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    scale_[i] = keep(rng) ? keptScale : T(0);
    output_[i] = input.data[i] * scale_[i];
  }
  Activations<T> out = input;
  out.data = output_.data();
  return out;
}

template <typename T>
void DropoutLayer<T>::backward(const T* dOutput, T* dInput) {
  if (!dInput) return;
  if (scale_.empty()) {
    std::memmove(dInput, dOutput, sizeof(T) * count_);  // the forward was the identity
    return;
  }
  for (size_t i = 0; i < scale_.size(); ++i) dInput[i] = dOutput[i] * scale_[i];
}

template <typename T>
Shape MaskingLayer<T>::outputShape(const Shape& input) const {
  if (input.size() != 2) {
    throw std::invalid_argument("Expected a masking layer input of shape [timeSteps, features] but received " +
                                shapeToString(input));
  }
  return input;
}

template <typename T>
Activations<T> MaskingLayer<T>::forward(const Activations<T>& input, ForwardMode, std::mt19937&) {
  batch_ = input.batch;
  steps_ = input.shape[0];
  features_ = input.shape[1];
  output_.assign(input.data, input.data + batch_ * steps_ * features_);
  keep_.assign(batch_ * steps_, 0);
  windows_.start.assign(batch_, 0);
  windows_.end.assign(batch_, 0);
  const T maskValue = static_cast<T>(maskValue_);
  for (int64_t b = 0; b < batch_; ++b) {
    int32_t first = -1, last = -1;
    for (int64_t t = 0; t < steps_; ++t) {
      T* step = output_.data() + (b * steps_ + t) * features_;
      bool masked = true;
      for (int64_t f = 0; f < features_ && masked; ++f) masked = step[f] == maskValue;
      if (masked) {
        std::memset(step, 0, sizeof(T) * features_);
      } else {
        keep_[b * steps_ + t] = 1;
        if (first < 0) first = static_cast<int32_t>(t);
        last = static_cast<int32_t>(t);
      }
    }
    windows_.start[b] = first < 0 ? 0 : first;
    windows_.end[b] = first < 0 ? 0 : last + 1;
  }
  Activations<T> out = input;
  out.data = output_.data();
  out.windows = &windows_;
  return out;
}

template <typename T>
void MaskingLayer<T>::backward(const T* dOutput, T* dInput) {
  if (!dInput) return;
  for (int64_t i = 0; i < batch_ * steps_; ++i) {
    for (int64_t f = 0; f < features_; ++f) {
      dInput[i * features_ + f] = keep_[i] ? dOutput[i * features_ + f] : T(0);
    }
  }
}

template class DropoutLayer<float>;
template class DropoutLayer<double>;
template class MaskingLayer<float>;
template class MaskingLayer<double>;

}  // namespace rnnkit::ops
