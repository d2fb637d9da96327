#include "ops/recurrent_layer.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "ops/errors.h"

namespace rnnkit::ops {

namespace {

template <typename T>
std::unique_ptr<RecurrentCell<T>> makeCell(const CellConfig& config) {
  switch (config.kind) {
    case CellKind::SimpleRnn: return makeSimpleRnnCell<T>(config);
    case CellKind::Lstm: return makeLstmCell<T>(config);
    case CellKind::Gru: return makeGruCell<T>(config);
  }
  throw ArgumentError("Expected a cell kind of 0 (SimpleRNN), 1 (LSTM) or 2 (GRU)");
}

}  // namespace

template <typename T>
RecurrentLayer<T>::RecurrentLayer(const RecurrentLayerConfig& config) : config_(config) {
  if (config.units <= 0) throw ArgumentError("Expected units > 0 but received " + std::to_string(config.units));
  if (config.dropout < 0 || config.dropout >= 1) {
    throw ArgumentError("Expected dropout in [0, 1) but received " + std::to_string(config.dropout));
  }
  if (!(config.recurrentDropout >= 0 && config.recurrentDropout < 1)) {
    throw ArgumentError("Expected recurrentDropout in [0, 1) but received " +
                                std::to_string(config.recurrentDropout));
  }
  const int count = config.bidirectional ? 2 : 1;
  directions_.resize(count);
  for (int d = 0; d < count; ++d) {
    directions_[d].cell = makeCell<T>(config.cell);
    directions_[d].backwards = d == 1 ? !config.goBackwards : config.goBackwards;
    directions_[d].alignWithTime = config.bidirectional;
  }
  paramsPerDirection_ = directions_[0].cell->paramShapes(1, config.units).size();
  stateCount_ = directions_[0].cell->stateCount();
  for (int d = 0; d < count; ++d) {
    Direction& direction = directions_[d];
    direction.firstParam = d * paramsPerDirection_;
    direction.initial.resize(stateCount_);
    direction.final.resize(stateCount_);
    direction.dFinal.resize(stateCount_);
    direction.dInitial.resize(stateCount_);
  }
}

template <typename T>
int64_t RecurrentLayer<T>::outputUnits() const {
  return config_.bidirectional && config_.mergeMode == MergeMode::Concat ? 2 * config_.units : config_.units;
}

template <typename T>
size_t RecurrentLayer<T>::mainOutputs() const {
  return config_.bidirectional && config_.mergeMode == MergeMode::None ? 2 : 1;
}

template <typename T>
void RecurrentLayer<T>::checkInputShapes(const std::vector<Shape>& inputs) const {
  const size_t states = static_cast<size_t>(stateTensors());
  if (inputs.size() != 1 && inputs.size() != 1 + states) {
    throw std::invalid_argument("Expected 1 input tensor (x) or " + std::to_string(1 + states) +
                                " (x and the initial states) for a recurrent layer but received " +
                                std::to_string(inputs.size()));
  }
  if (inputs[0].size() != 2) {
    throw std::invalid_argument("Expected a recurrent layer input of shape [timeSteps, features] per sample but received " +
                                shapeToString(inputs[0]));
  }
  for (size_t k = 1; k < inputs.size(); ++k) {
    if (inputs[k] != Shape{config_.units}) {
      throw std::invalid_argument("Expected initial state " + std::to_string(k - 1) + " of shape [" +
                                  std::to_string(config_.units) + "] per sample but received " +
                                  shapeToString(inputs[k]));
    }
  }
}

template <typename T>
std::vector<Shape> RecurrentLayer<T>::outputShapes(const std::vector<Shape>& inputs) const {
  checkInputShapes(inputs);
  std::vector<Shape> shapes(mainOutputs(),
                            config_.returnSequences ? Shape{inputs[0][0], outputUnits()} : Shape{outputUnits()});
  if (config_.returnState) shapes.resize(mainOutputs() + stateTensors(), Shape{config_.units});
  return shapes;
}

template <typename T>
std::vector<ParamInfo> RecurrentLayer<T>::paramInfos(const std::vector<Shape>& inputs) const {
  checkInputShapes(inputs);
  const int64_t features = inputs[0].at(1);
  std::vector<ParamInfo> list;
  static const char* names[] = {"kernel", "recurrent_kernel", "bias"};
  const Regularizer* regs[] = {&config_.kernelRegularizer, &config_.recurrentRegularizer, &config_.biasRegularizer};
  for (size_t d = 0; d < directions_.size(); ++d) {
    const std::string prefix = config_.bidirectional ? (d == 0 ? "forward/" : "backward/") : "";
    const auto shapes = directions_[d].cell->paramShapes(features, config_.units);
    for (size_t p = 0; p < paramsPerDirection_; ++p) {
      list.push_back({prefix + names[p], shapes[p], regs[p]->l1, regs[p]->l2});
    }
  }
  return list;
}

template <typename T>
std::vector<Activations<T>> RecurrentLayer<T>::forwardAll(const std::vector<Activations<T>>& inputs,
                                                          ForwardMode mode, std::mt19937& rng) {
  std::vector<Shape> shapes;
  for (const Activations<T>& input : inputs) {
    shapes.push_back(input.shape);
    if (input.batch != inputs.at(0).batch) {
      throw std::invalid_argument("Expected initial states of " + std::to_string(inputs[0].batch) +
                                  " samples (the batch of x) but received " + std::to_string(input.batch));
    }
  }
  checkInputShapes(shapes);
  const Activations<T>& input = inputs[0];
  const bool training = mode.training;
  keptForBackward_ = mode.keepForBackward;
  batch_ = input.batch;
  steps_ = input.shape.at(0);
  features_ = input.shape.at(1);
  windowed_ = input.windows && !input.windows->empty();
  plan_.build(batch_, steps_, windowed_ ? input.windows : nullptr);

  hasInitial_ = inputs.size() > 1;
  const int64_t stateSize = batch_ * config_.units;
  for (size_t d = 0; d < directions_.size(); ++d) {
    for (int64_t k = 0; hasInitial_ && k < stateCount_; ++k) {
      directions_[d].initial[k].resize(stateSize);
      samplesToCellRows(plan_, config_.units, inputs[1 + d * stateCount_ + k].data, directions_[d].initial[k].data());
    }
  }

  dropoutScale_.clear();
  if (training && config_.dropout > 0) {
    // Inverted dropout: kept features are scaled by 1 / keep so the expected input is unchanged.
    const T keep = T(1 - config_.dropout);
    std::bernoulli_distribution keepFeature(1 - config_.dropout);
    dropoutScale_.resize(batch_ * features_);
    for (T& scale : dropoutScale_) scale = keepFeature(rng) ? T(1) / keep : T(0);
  }
  for (Direction& direction : directions_) {
    direction.recurrentMask.clear();
    if (training && config_.recurrentDropout > 0) drawRecurrentMask(direction, rng);
    runDirection(direction, input.data);
  }
  mergeOutputs();

  std::vector<Activations<T>> outputs(1);
  Activations<T>& out = outputs[0];
  out.data = mainOutputs() == 2 ? directions_[0].output.data() : output_.data();
  out.batch = batch_;
  out.shape = config_.returnSequences ? Shape{steps_, outputUnits()} : Shape{outputUnits()};
  if (config_.returnSequences && windowed_) {
    // The outputs that hold values: processing order for a one-way goBackwards layer, time order otherwise.
    const bool reversed = !config_.bidirectional && config_.goBackwards;
    outWindows_.start.resize(batch_);
    outWindows_.end.resize(batch_);
    for (int64_t b = 0; b < batch_; ++b) {
      outWindows_.start[b] = reversed ? steps_ - input.windows->end[b] : input.windows->start[b];
      outWindows_.end[b] = outWindows_.start[b] + plan_.length(b);
    }
    out.windows = &outWindows_;
  }
  if (mainOutputs() == 2) {
    Activations<T> backward = outputs[0];  // the backward direction's output: same shape and windows (time order)
    backward.data = directions_[1].output.data();
    outputs.push_back(backward);
  }
  for (Direction& direction : directions_) {
    for (int64_t k = 0; config_.returnState && k < stateCount_; ++k) {
      outputs.push_back({direction.final[k].data(), batch_, Shape{config_.units}, nullptr});
    }
  }
  return outputs;
}

// Inverted dropout on h_{t-1}: drawn per sample in sample order (so the draw does not depend on how lengths sort
// the rows), stored at the sample's cell row.
template <typename T>
void RecurrentLayer<T>::drawRecurrentMask(Direction& direction, std::mt19937& rng) {
  const int64_t hidden = config_.units;
  const T keptScale = T(1) / T(1 - config_.recurrentDropout);
  std::bernoulli_distribution keepUnit(1 - config_.recurrentDropout);
  direction.recurrentMask.resize(batch_ * hidden);
  for (int64_t b = 0; b < batch_; ++b) {
    T* row = direction.recurrentMask.data() + plan_.row(b) * hidden;
    for (int64_t k = 0; k < hidden; ++k) row[k] = keepUnit(rng) ? keptScale : T(0);
  }
}

template <typename T>
void RecurrentLayer<T>::runDirection(Direction& direction, const T* x) {
  const int64_t hidden = config_.units;
  direction.xCell.resize(steps_ * batch_ * features_);
  gatherToCellLayout(plan_, direction.backwards, features_, x,
                     dropoutScale_.empty() ? nullptr : dropoutScale_.data(), direction.xCell.data());
  const T* params[3];
  for (size_t p = 0; p < paramsPerDirection_; ++p) params[p] = this->values_[direction.firstParam + p];
  const RecurrentShape shape{steps_, batch_, features_, hidden};

  const T* initial[2] = {nullptr, nullptr};
  for (int64_t k = 0; hasInitial_ && k < stateCount_; ++k) initial[k] = direction.initial[k].data();

  // The h of every row ([B, H] blocks in cell row order) after each step (hSteps + s * B * H; returnSequences only)
  // and every state after the last step (last[k]); rows past their length already hold their final state. Inference
  // asks the cell for just the states the layer returns (h, and with returnState an LSTM's c); recurrent dropout
  // (training only) takes the forward path.
  const int64_t stateSize = batch_ * hidden;
  const T* hSteps = nullptr;
  const T* last[2] = {nullptr, nullptr};
  if (keptForBackward_ || !direction.recurrentMask.empty()) {
    direction.cell->forward(shape, direction.xCell.data(), plan_.activeRows(), params, initial,
                            direction.recurrentMask.empty() ? nullptr : direction.recurrentMask.data());
    hSteps = direction.cell->states(0) + stateSize;
    for (int64_t k = 0; k < stateCount_; ++k) last[k] = direction.cell->states(static_cast<int>(k)) + steps_ * stateSize;
  } else {
    direction.hCell.resize((config_.returnSequences ? steps_ : 1) * stateSize);
    T* out = direction.hCell.data();
    T* finals[2] = {config_.returnSequences ? nullptr : out, nullptr};
    if (config_.returnState && stateCount_ > 1) {
      direction.cCell.resize(stateSize);
      finals[1] = direction.cCell.data();
    }
    direction.cell->infer(shape, direction.xCell.data(), plan_.activeRows(), params, initial,
                          config_.returnSequences ? out : nullptr, finals);
    hSteps = out;
    last[0] = config_.returnSequences ? out + (steps_ - 1) * stateSize : out;
    last[1] = finals[1];
  }
  const T* hLast = last[0];
  if (config_.returnState) keepFinalStates(direction, last);
  if (config_.returnSequences) {
    direction.output.assign(batch_ * steps_ * hidden, T(0));
    for (int64_t b = 0; b < batch_; ++b) {
      for (int64_t s = 0; s < plan_.length(b); ++s) {
        const int64_t position = plan_.outputPosition(b, s, direction.backwards, direction.alignWithTime);
        std::memcpy(direction.output.data() + (b * steps_ + position) * hidden,
                    hSteps + (s * batch_ + plan_.row(b)) * hidden, sizeof(T) * hidden);
      }
    }
  } else {
    direction.output.resize(batch_ * hidden);
    for (int64_t b = 0; b < batch_; ++b) {
      std::memcpy(direction.output.data() + b * hidden, hLast + plan_.row(b) * hidden,
                  sizeof(T) * hidden);
    }
  }
}

// The returned states in sample order, from the cell rows of each state after the last step.
template <typename T>
void RecurrentLayer<T>::keepFinalStates(Direction& direction, const T* const* lastStates) {
  const int64_t stateSize = batch_ * config_.units;
  for (int64_t k = 0; k < stateCount_; ++k) {
    direction.final[k].resize(stateSize);
    cellRowsToSamples(plan_, config_.units, lastStates[k], direction.final[k].data());
  }
}

template <typename T>
void RecurrentLayer<T>::mergeOutputs() {
  if (mainOutputs() == 2) return;  // unmerged: each direction's output is an output of its own
  if (directions_.size() == 1) {
    output_.swap(directions_[0].output);
    directions_[0].output.clear();
    return;
  }
  const Workspace<T>& forwardOut = directions_[0].output;
  const Workspace<T>& backwardOut = directions_[1].output;
  const int64_t hidden = config_.units;
  const int64_t rows = static_cast<int64_t>(forwardOut.size()) / hidden;  // B or B*T
  output_.resize(rows * outputUnits());
  for (int64_t i = 0; i < rows; ++i) {
    const T* f = forwardOut.data() + i * hidden;
    const T* g = backwardOut.data() + i * hidden;
    T* y = output_.data() + i * outputUnits();
    switch (config_.mergeMode) {
      case MergeMode::Concat:
        std::memcpy(y, f, sizeof(T) * hidden);
        std::memcpy(y + hidden, g, sizeof(T) * hidden);
        break;
      case MergeMode::Sum: for (int64_t k = 0; k < hidden; ++k) y[k] = f[k] + g[k]; break;
      case MergeMode::Mul: for (int64_t k = 0; k < hidden; ++k) y[k] = f[k] * g[k]; break;
      case MergeMode::Ave: for (int64_t k = 0; k < hidden; ++k) y[k] = T(0.5) * (f[k] + g[k]); break;
      case MergeMode::None: break;  // returned before
    }
  }
}

// Gradient reaching direction `index`'s own output [rows, H] from the merged output gradient.
template <typename T>
void RecurrentLayer<T>::splitOutputGradient(size_t index, const T* dOutput) {
  const int64_t hidden = config_.units;
  const int64_t rows = config_.returnSequences ? batch_ * steps_ : batch_;
  Workspace<T>& target = directions_[index].dOutput;
  target.resize(rows * hidden);
  if (directions_.size() == 1 || mainOutputs() == 2) {  // dOutput is this direction's own output gradient
    std::memcpy(target.data(), dOutput, sizeof(T) * rows * hidden);
    return;
  }
  const Workspace<T>& other = directions_[1 - index].output;
  for (int64_t i = 0; i < rows; ++i) {
    const T* dy = dOutput + i * outputUnits();
    T* d = target.data() + i * hidden;
    for (int64_t k = 0; k < hidden; ++k) {
      switch (config_.mergeMode) {
        case MergeMode::Concat: d[k] = dy[index * hidden + k]; break;
        case MergeMode::Sum: d[k] = dy[k]; break;
        case MergeMode::Mul: d[k] = dy[k] * other[i * hidden + k]; break;
        case MergeMode::Ave: d[k] = T(0.5) * dy[k]; break;
        case MergeMode::None: break;  // handled above
      }
    }
  }
}

template <typename T>
void RecurrentLayer<T>::backwardAll(const std::vector<const T*>& dOutputs, const std::vector<T*>& dInputs) {
  if (!keptForBackward_) {
    throw std::logic_error("RecurrentLayer: backward() needs a forward with keepForBackward, but the last forward was "
                           "an inference pass");
  }
  const size_t outputs = mainOutputs() + (config_.returnState ? stateTensors() : 0);
  const size_t inputs = hasInitial_ ? 1 + stateTensors() : 1;
  if (dOutputs.size() != outputs || dInputs.size() != inputs) {
    throw std::logic_error("RecurrentLayer: backward expected " + std::to_string(outputs) + " output and " +
                           std::to_string(inputs) + " input gradients (as the last forward) but received " +
                           std::to_string(dOutputs.size()) + " and " + std::to_string(dInputs.size()));
  }
  if (dInputs[0]) std::memset(dInputs[0], 0, sizeof(T) * batch_ * steps_ * features_);
  for (size_t d = 0; d < directions_.size(); ++d) {
    backwardDirection(d, dOutputs[mainOutputs() == 2 ? d : 0], dOutputs, dInputs);
  }
}

// One direction's BPTT. Its gradients: the output's (dOutput, nullptr when nothing reaches it) through the merge,
// at every step (returnSequences) or at the final h; plus the gradients of its returned states at the final states.
template <typename T>
void RecurrentLayer<T>::backwardDirection(size_t index, const T* dOutput, const std::vector<const T*>& dOutputs,
                                          const std::vector<T*>& dInputs) {
  Direction& direction = directions_[index];
  const int64_t hidden = config_.units, stateSize = batch_ * hidden;
  const size_t firstState = 1 + index * stateCount_;  // this direction's first initial-state input
  const size_t firstStateOut = mainOutputs() + index * stateCount_;  // and its first returned-state output
  if (dOutput) splitOutputGradient(index, dOutput);
  const T* dhSeq = nullptr;
  const T* dFinal[2] = {nullptr, nullptr};
  if (config_.returnSequences && dOutput) {
    direction.dCell.assign(steps_ * stateSize, T(0));
    for (int64_t b = 0; b < batch_; ++b) {
      for (int64_t s = 0; s < plan_.length(b); ++s) {
        const int64_t position = plan_.outputPosition(b, s, direction.backwards, direction.alignWithTime);
        std::memcpy(direction.dCell.data() + (s * batch_ + plan_.row(b)) * hidden,
                    direction.dOutput.data() + (b * steps_ + position) * hidden, sizeof(T) * hidden);
      }
    }
    dhSeq = direction.dCell.data();
  }
  for (int64_t k = 0; k < stateCount_; ++k) {
    const bool fromOutput = k == 0 && !config_.returnSequences && dOutput;
    const T* fromState = config_.returnState ? dOutputs[firstStateOut + k] : nullptr;
    if (!fromOutput && !fromState) continue;
    Workspace<T>& dState = direction.dFinal[k];
    dState.assign(stateSize, T(0));
    if (fromOutput) samplesToCellRows(plan_, hidden, direction.dOutput.data(), dState.data());
    if (fromState) {
      for (int64_t b = 0; b < batch_; ++b) {
        T* row = dState.data() + plan_.row(b) * hidden;
        for (int64_t u = 0; u < hidden; ++u) row[u] += fromState[b * hidden + u];
      }
    }
    dFinal[k] = dState.data();
  }
  const T* params[3];
  T* dParams[3];
  for (size_t p = 0; p < paramsPerDirection_; ++p) {
    params[p] = this->values_[direction.firstParam + p];
    dParams[p] = this->grads_[direction.firstParam + p];
  }
  T* dxCell = nullptr;
  if (dInputs[0]) {
    direction.dxCell.resize(steps_ * batch_ * features_);
    dxCell = direction.dxCell.data();
  }
  T* dInitial[2] = {nullptr, nullptr};
  for (int64_t k = 0; hasInitial_ && k < stateCount_; ++k) {
    if (!dInputs[firstState + k]) continue;
    direction.dInitial[k].resize(stateSize);
    dInitial[k] = direction.dInitial[k].data();
  }
  direction.cell->backward(params, dhSeq, dFinal, dParams, dxCell, dInitial);
  if (dxCell) {
    scatterFromCellLayout(plan_, direction.backwards, features_, dxCell,
                          dropoutScale_.empty() ? nullptr : dropoutScale_.data(), dInputs[0]);
  }
  for (int64_t k = 0; k < stateCount_; ++k) {
    if (dInitial[k]) cellRowsToSamples(plan_, hidden, dInitial[k], dInputs[firstState + k]);
  }
}

template class RecurrentLayer<float>;
template class RecurrentLayer<double>;

}  // namespace rnnkit::ops
