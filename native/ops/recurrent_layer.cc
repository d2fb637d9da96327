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
  for (int d = 0; d < count; ++d) directions_[d].firstParam = d * paramsPerDirection_;
}

template <typename T>
int64_t RecurrentLayer<T>::outputUnits() const {
  return config_.bidirectional && config_.mergeMode == MergeMode::Concat ? 2 * config_.units : config_.units;
}

template <typename T>
Shape RecurrentLayer<T>::outputShape(const Shape& input) const {
  if (input.size() != 2) {
    throw std::invalid_argument("Expected a recurrent layer input of shape [timeSteps, features] per sample but received " +
                                shapeToString(input));
  }
  if (config_.returnSequences) return {input[0], outputUnits()};
  return {outputUnits()};
}

template <typename T>
std::vector<ParamInfo> RecurrentLayer<T>::params(const Shape& input) const {
  outputShape(input);  // validates the rank
  const int64_t features = input.at(1);
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
Activations<T> RecurrentLayer<T>::forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) {
  const bool training = mode.training;
  keptForBackward_ = mode.keepForBackward;
  batch_ = input.batch;
  steps_ = input.shape.at(0);
  features_ = input.shape.at(1);
  windowed_ = input.windows && !input.windows->empty();
  plan_.build(batch_, steps_, windowed_ ? input.windows : nullptr);

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

  Activations<T> out;
  out.data = output_.data();
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
  return out;
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

  // The h of every row ([B, H] blocks in cell row order) after each step (hSteps + s * B * H; returnSequences only)
  // and after the last step (hLast); rows past their length already hold their final state. Inference asks the cell
  // for just the h the layer returns (recurrent dropout, a training-only option, always takes the forward path).
  const int64_t stateSize = batch_ * hidden;
  const T* hSteps = nullptr;
  const T* hLast = nullptr;
  if (keptForBackward_ || !direction.recurrentMask.empty()) {
    direction.cell->forward(shape, direction.xCell.data(), plan_.activeRows(), params, nullptr,
                            direction.recurrentMask.empty() ? nullptr : direction.recurrentMask.data());
    hSteps = direction.cell->states(0) + stateSize;
    hLast = direction.cell->states(0) + steps_ * stateSize;
  } else {
    direction.hCell.resize((config_.returnSequences ? steps_ : 1) * stateSize);
    T* out = direction.hCell.data();
    direction.cell->infer(shape, direction.xCell.data(), plan_.activeRows(), params, nullptr,
                          config_.returnSequences ? out : nullptr, config_.returnSequences ? nullptr : out);
    hSteps = out;
    hLast = config_.returnSequences ? out + (steps_ - 1) * stateSize : out;
  }
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

template <typename T>
void RecurrentLayer<T>::mergeOutputs() {
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
  if (directions_.size() == 1) {
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
      }
    }
  }
}

template <typename T>
void RecurrentLayer<T>::backward(const T* dOutput, T* dInput) {
  if (!keptForBackward_) {
    throw std::logic_error("RecurrentLayer: backward() needs a forward with keepForBackward, but the last forward was "
                           "an inference pass");
  }
  const int64_t hidden = config_.units;
  if (dInput) std::memset(dInput, 0, sizeof(T) * batch_ * steps_ * features_);
  for (size_t d = 0; d < directions_.size(); ++d) {
    Direction& direction = directions_[d];
    splitOutputGradient(d, dOutput);
    const T* dhSeq = nullptr;
    const T* dFinal[2] = {nullptr, nullptr};
    if (config_.returnSequences) {
      direction.dCell.assign(steps_ * batch_ * hidden, T(0));
      for (int64_t b = 0; b < batch_; ++b) {
        for (int64_t s = 0; s < plan_.length(b); ++s) {
          const int64_t position = plan_.outputPosition(b, s, direction.backwards, direction.alignWithTime);
          std::memcpy(direction.dCell.data() + (s * batch_ + plan_.row(b)) * hidden,
                      direction.dOutput.data() + (b * steps_ + position) * hidden, sizeof(T) * hidden);
        }
      }
      dhSeq = direction.dCell.data();
    } else {
      direction.dCell.resize(batch_ * hidden);
      for (int64_t b = 0; b < batch_; ++b) {
        std::memcpy(direction.dCell.data() + plan_.row(b) * hidden, direction.dOutput.data() + b * hidden,
                    sizeof(T) * hidden);
      }
      dFinal[0] = direction.dCell.data();
    }
    const T* params[3];
    T* dParams[3];
    for (size_t p = 0; p < paramsPerDirection_; ++p) {
      params[p] = this->values_[direction.firstParam + p];
      dParams[p] = this->grads_[direction.firstParam + p];
    }
    T* dxCell = nullptr;
    if (dInput) {
      direction.dxCell.resize(steps_ * batch_ * features_);
      dxCell = direction.dxCell.data();
    }
    T* dInitial[2] = {nullptr, nullptr};
    direction.cell->backward(params, dhSeq, dFinal, dParams, dxCell, dInitial);
    if (dInput) {
      scatterFromCellLayout(plan_, direction.backwards, features_, dxCell,
                            dropoutScale_.empty() ? nullptr : dropoutScale_.data(), dInput);
    }
  }
}

template class RecurrentLayer<float>;
template class RecurrentLayer<double>;

}  // namespace rnnkit::ops
