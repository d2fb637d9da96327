#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "ops/basic_layers.h"
#include "ops/errors.h"

namespace rnnkit::ops {

template <typename T>
EmbeddingLayer<T>::EmbeddingLayer(const EmbeddingConfig& config) : config_(config) {
  if (config.inputDim <= 0 || config.outputDim <= 0) {
    throw ArgumentError("Expected inputDim > 0 and outputDim > 0 but received " +
                                std::to_string(config.inputDim) + " and " + std::to_string(config.outputDim));
  }
}

template <typename T>
Shape EmbeddingLayer<T>::outputShape(const Shape& input) const {
  if (input.size() != 1) {
    throw std::invalid_argument("Expected an embedding input of shape [timeSteps] (token ids) but received " +
                                shapeToString(input));
  }
  return {input[0], config_.outputDim};
}

template <typename T>
std::vector<ParamInfo> EmbeddingLayer<T>::params(const Shape& input) const {
  outputShape(input);
  return {{"embeddings", {config_.inputDim, config_.outputDim}, config_.embeddingsRegularizer.l1,
           config_.embeddingsRegularizer.l2}};
}

template <typename T>
Activations<T> EmbeddingLayer<T>::forward(const Activations<T>& input, ForwardMode, std::mt19937&) {
  batch_ = input.batch;
  steps_ = input.shape[0];
  const int64_t dim = config_.outputDim;
  ids_.resize(batch_ * steps_);
  for (int64_t i = 0; i < batch_ * steps_; ++i) {
    const T id = input.data[i];
    if (!(id >= 0 && id < config_.inputDim && std::floor(id) == id)) {
      throw std::invalid_argument("Expected token ids that are integers in [0, " + std::to_string(config_.inputDim) +
                                  ") but received " + std::to_string(static_cast<double>(id)) + " at sample " +
                                  std::to_string(i / steps_) + ", step " + std::to_string(i % steps_));
    }
    ids_[i] = static_cast<int64_t>(id);
  }
  output_.resize(batch_ * steps_ * dim);
  const T* table = this->values_[0];
  for (int64_t i = 0; i < batch_ * steps_; ++i) {
    std::memcpy(output_.data() + i * dim, table + ids_[i] * dim, sizeof(T) * dim);
  }
  Activations<T> out;
  out.data = output_.data();
  out.batch = batch_;
  out.shape = {steps_, dim};
  if (config_.maskZero) {
    windows_.start.assign(batch_, 0);
    windows_.end.assign(batch_, 0);
    for (int64_t b = 0; b < batch_; ++b) {
      int32_t first = -1, last = -1;
      for (int64_t t = 0; t < steps_; ++t) {
        if (ids_[b * steps_ + t] == 0) continue;
        if (first < 0) first = static_cast<int32_t>(t);
        last = static_cast<int32_t>(t);
      }
      windows_.start[b] = first < 0 ? 0 : first;
      windows_.end[b] = first < 0 ? 0 : last + 1;
    }
    out.windows = &windows_;
  }
  return out;
}

template <typename T>
void EmbeddingLayer<T>::backward(const T* dOutput, T*) {
  // dTable[id] += dOutput[b, t] for every position holding id (token ids themselves have no gradient). Padding
  // positions outside a sample's window already receive a zero gradient from the layer above; id 0 inside a window
  // is an ordinary step, so its row gets its gradient like any other.
  const int64_t dim = config_.outputDim;
  T* dTable = this->grads_[0];
  std::memset(dTable, 0, sizeof(T) * config_.inputDim * dim);
  for (int64_t i = 0; i < batch_ * steps_; ++i) {
    T* row = dTable + ids_[i] * dim;
    const T* g = dOutput + i * dim;
    for (int64_t k = 0; k < dim; ++k) row[k] += g[k];
  }
}

template class EmbeddingLayer<float>;
template class EmbeddingLayer<double>;

}  // namespace rnnkit::ops
