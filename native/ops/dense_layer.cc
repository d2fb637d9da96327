#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/dense.h"
#include "ops/basic_layers.h"
#include "ops/errors.h"

namespace rnnkit::ops {

template <typename T>
DenseLayer<T>::DenseLayer(const DenseConfig& config) : config_(config) {
  if (config.units <= 0) throw ArgumentError("Expected units > 0 but received " + std::to_string(config.units));
}

template <typename T>
Shape DenseLayer<T>::outputShape(const Shape& input) const {
  if (input.empty() || input.size() > 2) {
    throw std::invalid_argument("Expected a dense layer input of shape [features] or [timeSteps, features] but received " +
                                shapeToString(input));
  }
  Shape out = input;
  out.back() = config_.units;
  return out;
}

template <typename T>
std::vector<ParamInfo> DenseLayer<T>::params(const Shape& input) const {
  outputShape(input);
  std::vector<ParamInfo> list{{"kernel", {input.back(), config_.units}, config_.kernelRegularizer.l1,
                               config_.kernelRegularizer.l2}};
  if (config_.useBias) list.push_back({"bias", {config_.units}, config_.biasRegularizer.l1, config_.biasRegularizer.l2});
  return list;
}

template <typename T>
Activations<T> DenseLayer<T>::forward(const Activations<T>& input, ForwardMode, std::mt19937&) {
  // A [T, F] input is a batch of B*T rows: the same weights at every step (timeDistributed).
  inSize_ = input.shape.back();
  rows_ = input.batch * (input.shape.size() == 2 ? input.shape[0] : 1);
  input_ = input.data;
  output_.resize(rows_ * config_.units);
  kernels::denseForward(rows_, inSize_, config_.units, config_.activation, input.data, this->values_[0],
                        config_.useBias ? this->values_[1] : static_cast<const T*>(nullptr), output_.data());
  Activations<T> out = input;
  out.data = output_.data();
  out.shape = outputShape(input.shape);
  return out;
}

template <typename T>
void DenseLayer<T>::backward(const T* dOutput, T* dInput) {
  dPre_.assign(dOutput, dOutput + rows_ * config_.units);
  backwardImpl(dPre_.data(), config_.activation, dInput);
}

template <typename T>
void DenseLayer<T>::backwardFromLogits(const T* dLogits, T* dInput) {
  dPre_.assign(dLogits, dLogits + rows_ * config_.units);
  backwardImpl(dPre_.data(), Activation::Linear, dInput);
}

template <typename T>
void DenseLayer<T>::backwardImpl(T* dPre, Activation derivative, T* dInput) {
  kernels::denseBackward(rows_, inSize_, config_.units, derivative, input_, this->values_[0], output_.data(), dPre,
                         this->grads_[0], config_.useBias ? this->grads_[1] : static_cast<T*>(nullptr), dInput);
}

template class DenseLayer<float>;
template class DenseLayer<double>;

}  // namespace rnnkit::ops
