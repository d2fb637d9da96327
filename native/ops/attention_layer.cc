#include "ops/attention_layer.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace rnnkit::ops {

using kernels::AttentionScore;

namespace {

const char* inputName(size_t index) {
  static const char* names[] = {"query", "value", "key"};
  return names[index];
}

// Zeroes the rows [Tq, width] of each sample outside its query window [start, end) (Keras: result *= query_mask).
template <typename T>
void zeroMaskedQueryRows(T* rows, int64_t batch, int64_t steps, int64_t width, const std::vector<int32_t>& start,
                         const std::vector<int32_t>& end) {
  if (start.empty()) return;
  for (int64_t b = 0; b < batch; ++b) {
    T* sample = rows + b * steps * width;
    std::fill(sample, sample + start[b] * width, T(0));
    std::fill(sample + end[b] * width, sample + steps * width, T(0));
  }
}

void copyWindows(const SequenceWindows* windows, std::vector<int32_t>& start, std::vector<int32_t>& end) {
  start.clear();
  end.clear();
  if (windows == nullptr || windows->empty()) return;
  start = windows->start;
  end = windows->end;
}

}  // namespace

template <typename T>
AttentionLayer<T>::AttentionLayer(const AttentionConfig& config) : config_(config) {
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    throw std::invalid_argument("Expected an attention dropout rate in [0, 1) but received " +
                                std::to_string(config.dropout));
  }
}

template <typename T>
std::vector<Shape> AttentionLayer<T>::outputShapes(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 2 && inputs.size() != 3) {
    throw std::invalid_argument("Expected 2 or 3 input tensors for an attention layer ([query, value] or [query, "
                                "value, key]) but received " + std::to_string(inputs.size()));
  }
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (inputs[k].size() != 2 || inputs[k][1] < 1 || (inputs[k][0] < 1 && inputs[k][0] != kAnyLength)) {
      throw std::invalid_argument(std::string("Expected the attention ") + inputName(k) +
                                  " as sequences [timeSteps, features] but received " + shapeToString(inputs[k]));
    }
  }
  const Shape& query = inputs[0];
  const Shape& value = inputs[1];
  const Shape& key = inputs.size() == 3 ? inputs[2] : value;
  if (key[1] != query[1]) {
    throw std::invalid_argument(std::string("Expected the attention ") + (inputs.size() == 3 ? "key" : "value (the key)") +
                                " to have " + std::to_string(query[1]) + " features as the query " +
                                shapeToString(query) + " but received " + shapeToString(key));
  }
  if (key[0] != value[0] && key[0] != kAnyLength && value[0] != kAnyLength) {
    throw std::invalid_argument("Expected the attention key to have the value's " + std::to_string(value[0]) +
                                " time steps but received " + shapeToString(key));
  }
  std::vector<Shape> outputs{{query[0], value[1]}};
  if (config_.returnAttentionScores) outputs.push_back({query[0], value[0] != kAnyLength ? value[0] : key[0]});
  return outputs;
}

template <typename T>
std::vector<ParamInfo> AttentionLayer<T>::paramInfos(const std::vector<Shape>& inputs) const {
  outputShapes(inputs);
  std::vector<ParamInfo> list;
  if (config_.score == AttentionScore::Additive) {
    if (config_.useScale) list.push_back({"scale", {inputs[0][1]}});
    return list;
  }
  if (config_.useScale) list.push_back({"scale", {}});
  if (config_.score == AttentionScore::Concat) list.push_back({"concat_score_weight", {}});
  return list;
}

template <typename T>
kernels::AttentionProblem<T> AttentionLayer<T>::problem() const {
  kernels::AttentionProblem<T> p;
  p.batch = batch_;
  p.queryLength = queryLength_;
  p.valueLength = valueLength_;
  p.keyDim = keyDim_;
  p.valueDim = valueDim_;
  p.score = config_.score;
  p.causal = config_.useCausalMask;
  if (config_.score == AttentionScore::Additive) {
    p.additiveScale = config_.useScale ? this->values_[0] : nullptr;
  } else {
    if (config_.useScale) p.scale = this->values_[0][0];
    if (config_.score == AttentionScore::Concat) p.concatWeight = this->values_[config_.useScale ? 1 : 0][0];
  }
  if (!valueStart_.empty()) {
    p.valueStart = valueStart_.data();
    p.valueEnd = valueEnd_.data();
  }
  return p;
}

template <typename T>
std::vector<Activations<T>> AttentionLayer<T>::forwardAll(const std::vector<Activations<T>>& inputs, ForwardMode mode,
                                                          std::mt19937& rng) {
  std::vector<Shape> shapes;
  for (const Activations<T>& input : inputs) shapes.push_back(input.shape);
  const std::vector<Shape> outShapes = outputShapes(shapes);
  for (const Activations<T>& input : inputs) {
    if (input.batch != inputs[0].batch) {
      throw std::invalid_argument("Expected every attention input to hold " + std::to_string(inputs[0].batch) +
                                  " samples but received " + std::to_string(input.batch));
    }
  }
  const Activations<T>& value = inputs[1];
  keyIsValue_ = inputs.size() == 2;
  const Activations<T>& key = keyIsValue_ ? value : inputs[2];
  if (key.shape[0] != value.shape[0]) {
    throw std::invalid_argument("Expected the attention key to have the value's " + std::to_string(value.shape[0]) +
                                " time steps but received " + shapeToString(key.shape));
  }
  query_ = inputs[0].data;
  value_ = value.data;
  key_ = key.data;
  batch_ = inputs[0].batch;
  queryLength_ = inputs[0].shape[0];
  keyDim_ = inputs[0].shape[1];
  valueLength_ = value.shape[0];
  valueDim_ = value.shape[1];
  copyWindows(value.windows, valueStart_, valueEnd_);
  copyWindows(inputs[0].windows, queryStart_, queryEnd_);

  const kernels::AttentionProblem<T> p = problem();
  const int64_t scoreCount = batch_ * queryLength_ * valueLength_;
  weights_.resize(scoreCount);
  products_.resize(config_.score == AttentionScore::Dot && config_.useScale ? scoreCount : 0);
  scratch_.resize(kernels::attentionScratchSize(p));
  kernels::attentionScores(p, query_, key_, weights_.data(), products_.empty() ? nullptr : products_.data(),
                           scratch_.data());
  kernels::maskedSoftmax(p, weights_.data());

  dropScale_.clear();
  const T* used = weights_.data();  // W', the weights after dropout
  if (mode.training && config_.dropout > 0) {
    const T keptScale = T(1) / T(1 - config_.dropout);
    std::bernoulli_distribution keep(1 - config_.dropout);
    dropScale_.resize(scoreCount);
    dropped_.resize(scoreCount);
    for (int64_t n = 0; n < scoreCount; ++n) {
      dropScale_[n] = keep(rng) ? keptScale : T(0);
      dropped_[n] = weights_[n] * dropScale_[n];
    }
    used = dropped_.data();
  }
  output_.resize(batch_ * queryLength_ * valueDim_);
  kernels::attentionValues(p, used, value_, output_.data());
  zeroMaskedQueryRows(output_.data(), batch_, queryLength_, valueDim_, queryStart_, queryEnd_);

  std::vector<Activations<T>> outputs(outShapes.size());
  outputs[0] = {output_.data(), batch_, {queryLength_, valueDim_}, inputs[0].windows};
  if (config_.returnAttentionScores) outputs[1] = {used, batch_, {queryLength_, valueLength_}, nullptr};
  return outputs;
}

template <typename T>
void AttentionLayer<T>::backwardAll(const std::vector<const T*>& dOutputs, const std::vector<T*>& dInputs) {
  const size_t outputCount = config_.returnAttentionScores ? 2 : 1;
  if (dOutputs.size() != outputCount || dInputs.size() != (keyIsValue_ ? 2u : 3u)) {
    throw std::logic_error("An attention backward needs one gradient per output and one slot per input");
  }
  const kernels::AttentionProblem<T> p = problem();
  const int64_t scoreCount = batch_ * queryLength_ * valueLength_;
  const T* used = dropScale_.empty() ? weights_.data() : dropped_.data();
  // Masked query rows of the output are constant zeros: their gradient stops there.
  dOutputMasked_.assign(batch_ * queryLength_ * valueDim_, T(0));
  if (dOutputs[0]) std::copy(dOutputs[0], dOutputs[0] + dOutputMasked_.size(), dOutputMasked_.begin());
  zeroMaskedQueryRows(dOutputMasked_.data(), batch_, queryLength_, valueDim_, queryStart_, queryEnd_);
  dWeights_.resize(scoreCount);
  dValue_.resize(batch_ * valueLength_ * valueDim_);
  kernels::attentionValuesBackward(p, used, value_, dOutputMasked_.data(), dWeights_.data(), dValue_.data());
  if (outputCount == 2 && dOutputs[1]) {
    for (int64_t n = 0; n < scoreCount; ++n) dWeights_[n] += dOutputs[1][n];
  }
  if (!dropScale_.empty()) {
    for (int64_t n = 0; n < scoreCount; ++n) dWeights_[n] *= dropScale_[n];
  }
  kernels::maskedSoftmaxBackward(p, weights_.data(), dWeights_.data());

  dQuery_.resize(batch_ * queryLength_ * keyDim_);
  dKey_.resize(batch_ * valueLength_ * keyDim_);
  T* dScale = nullptr;
  T* dConcatWeight = nullptr;
  T* dAdditiveScale = nullptr;
  if (config_.score == AttentionScore::Additive) {
    if (config_.useScale) dAdditiveScale = this->grads_[0];
  } else {
    if (config_.useScale) dScale = this->grads_[0];
    if (config_.score == AttentionScore::Concat) dConcatWeight = this->grads_[config_.useScale ? 1 : 0];
  }
  kernels::attentionScoresBackward(p, query_, key_, products_.empty() ? nullptr : products_.data(), dWeights_.data(),
                                   dQuery_.data(), dKey_.data(), dScale, dConcatWeight, dAdditiveScale,
                                   scratch_.data());
  if (dInputs[0]) std::copy(dQuery_.begin(), dQuery_.end(), dInputs[0]);
  if (dInputs[1]) {
    std::copy(dValue_.begin(), dValue_.end(), dInputs[1]);
    if (keyIsValue_) {
      for (size_t n = 0; n < dKey_.size(); ++n) dInputs[1][n] += dKey_[n];
    }
  }
  if (!keyIsValue_ && dInputs[2]) std::copy(dKey_.begin(), dKey_.end(), dInputs[2]);
}

template class AttentionLayer<float>;
template class AttentionLayer<double>;

}  // namespace rnnkit::ops
