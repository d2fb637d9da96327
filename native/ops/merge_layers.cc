#include "ops/merge_layers.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace rnnkit::ops {

namespace {

std::string listShapes(const std::vector<Shape>& shapes) {
  std::string text;
  for (size_t i = 0; i < shapes.size(); ++i) text += (i ? " and " : "") + shapeToString(shapes[i]);
  return text;
}

}  // namespace

template <typename T>
void MergeLayer<T>::checkCount(size_t count, bool exactlyTwo) const {
  if (exactlyTwo ? count != 2 : count < 2) {
    throw std::invalid_argument(std::string("Expected ") + (exactlyTwo ? "exactly 2" : "at least 2") +
                                " input tensors for a " + what() + " layer but received " + std::to_string(count));
  }
}

template <typename T>
std::vector<Activations<T>> MergeLayer<T>::forwardAll(const std::vector<Activations<T>>& inputs, ForwardMode,
                                                      std::mt19937&) {
  std::vector<Shape> shapes;
  for (const Activations<T>& input : inputs) shapes.push_back(input.shape);
  const Shape shape = this->outputShapes(shapes).at(0);  // the batch's shapes (lengths may differ from the build's)
  batch_ = inputs.empty() ? 0 : inputs[0].batch;
  inputs_.clear();
  inputSizes_.clear();
  for (const Activations<T>& input : inputs) {
    if (input.batch != batch_) {
      throw std::invalid_argument("Expected every input of a " + std::string(what()) + " layer to hold " +
                                  std::to_string(batch_) + " samples but one holds " + std::to_string(input.batch));
    }
    inputs_.push_back(input.data);
    inputSizes_.push_back(batch_ * shapeSize(input.shape));
  }
  output_.resize(batch_ * shapeSize(shape));
  compute(inputs, output_.data());

  Activations<T> out;
  out.data = output_.data();
  out.batch = batch_;
  out.shape = shape;
  const bool anyMask = std::any_of(inputs.begin(), inputs.end(), [](const Activations<T>& a) { return a.windows; });
  if (anyMask && keepsTimeAxis(shape)) {
    // Logical AND of the masks that exist: the intersection of the windows.
    windows_.start.assign(batch_, 0);
    windows_.end.assign(batch_, static_cast<int32_t>(shape[0]));
    for (const Activations<T>& input : inputs) {
      if (!input.windows || input.windows->empty()) continue;
      for (int64_t b = 0; b < batch_; ++b) {
        windows_.start[b] = std::max(windows_.start[b], input.windows->start[b]);
        windows_.end[b] = std::min(windows_.end[b], input.windows->end[b]);
      }
    }
    for (int64_t b = 0; b < batch_; ++b) {
      if (windows_.end[b] <= windows_.start[b]) windows_.start[b] = windows_.end[b] = 0;
    }
    out.windows = &windows_;
  }
  return {out};
}

template <typename T>
void MergeLayer<T>::backwardAll(const std::vector<const T*>& dOutputs, const std::vector<T*>& dInputs) {
  if (dOutputs.size() != 1 || dInputs.size() != inputs_.size()) {
    throw std::logic_error(std::string("A ") + what() + " layer's backward needs 1 output gradient and " +
                           std::to_string(inputs_.size()) + " input slots");
  }
  if (dOutputs[0] == nullptr) {  // nothing downstream depends on the output: every input gradient is zero
    for (size_t k = 0; k < dInputs.size(); ++k) {
      if (dInputs[k]) std::fill(dInputs[k], dInputs[k] + inputSizes_[k], T(0));
    }
    return;
  }
  gradients(dOutputs[0], dInputs);
}

template <typename T>
std::vector<Shape> ElementwiseMergeLayer<T>::outputShapes(const std::vector<Shape>& inputs) const {
  this->checkCount(inputs.size(), operation_ == MergeOperation::Subtract);
  for (const Shape& shape : inputs) {
    // Equal shapes only (Keras broadcasts in a few special cases; rnnkit does not); equal kAnyLength dimensions match.
    if (shape != inputs[0]) {
      throw std::invalid_argument(std::string("Expected inputs of one shape for a ") + what() +
                                  " layer but received " + listShapes(inputs));
    }
  }
  return {inputs[0]};
}

template <typename T>
const char* ElementwiseMergeLayer<T>::what() const {
  switch (operation_) {
    case MergeOperation::Add: return "add";
    case MergeOperation::Subtract: return "subtract";
    case MergeOperation::Multiply: return "multiply";
    case MergeOperation::Average: return "average";
    case MergeOperation::Maximum: return "maximum";
  }
  return "merge";
}

template <typename T>
void ElementwiseMergeLayer<T>::compute(const std::vector<Activations<T>>& inputs, T* output) {
  const int64_t count = this->inputSizes_[0];
  const size_t n = inputs.size();
  std::copy(inputs[0].data, inputs[0].data + count, output);
  for (size_t k = 1; k < n; ++k) {
    const T* x = inputs[k].data;
    switch (operation_) {
      case MergeOperation::Add:
      case MergeOperation::Average:
        for (int64_t i = 0; i < count; ++i) output[i] += x[i];
        break;
      case MergeOperation::Subtract:
        for (int64_t i = 0; i < count; ++i) output[i] -= x[i];
        break;
      case MergeOperation::Multiply:
        for (int64_t i = 0; i < count; ++i) output[i] *= x[i];
        break;
      case MergeOperation::Maximum:
        for (int64_t i = 0; i < count; ++i) output[i] = std::max(output[i], x[i]);  // keeps the earlier on ties
        break;
    }
  }
  if (operation_ == MergeOperation::Average) {
    const T inputs = static_cast<T>(n);
    for (int64_t i = 0; i < count; ++i) output[i] /= inputs;  // sum / n, as Keras
  }
}

template <typename T>
void ElementwiseMergeLayer<T>::gradients(const T* dOutput, const std::vector<T*>& dInputs) {
  const int64_t count = this->inputSizes_[0];
  const std::vector<const T*>& x = this->inputs_;
  const size_t n = x.size();
  for (size_t k = 0; k < n; ++k) {
    T* dx = dInputs[k];
    if (!dx) continue;
    switch (operation_) {
      case MergeOperation::Add:
        std::memmove(dx, dOutput, sizeof(T) * count);
        break;
      case MergeOperation::Subtract:
        for (int64_t i = 0; i < count; ++i) dx[i] = k == 0 ? dOutput[i] : -dOutput[i];
        break;
      case MergeOperation::Average: {
        const T inputs = static_cast<T>(n);
        for (int64_t i = 0; i < count; ++i) dx[i] = dOutput[i] / inputs;
        break;
      }
      case MergeOperation::Multiply:
        // d out / d x_k = product of the other inputs (computed directly, so a zero input divides nothing).
        for (int64_t i = 0; i < count; ++i) {
          T product = dOutput[i];
          for (size_t j = 0; j < n; ++j) {
            if (j != k) product *= x[j][i];
          }
          dx[i] = product;
        }
        break;
      case MergeOperation::Maximum:
        // The whole gradient to the first input holding the maximum: earlier inputs that are larger or equal win.
        for (int64_t i = 0; i < count; ++i) {
          size_t winner = 0;
          for (size_t j = 1; j < n; ++j) {
            if (x[j][i] > x[winner][i]) winner = j;
          }
          dx[i] = winner == k ? dOutput[i] : T(0);
        }
        break;
    }
  }
}

template <typename T>
ConcatenateLayer<T>::ConcatenateLayer(int64_t axis) : axis_(axis) {
  if (axis == 0) {
    throw std::invalid_argument("Expected a concatenate axis other than 0 (the batch dimension) but received 0");
  }
}

template <typename T>
int64_t ConcatenateLayer<T>::sampleAxis(size_t rank) const {
  // Keras counts the batch dimension: axis 1 is the first per-sample dimension, -1 the last.
  const int64_t axis = axis_ < 0 ? static_cast<int64_t>(rank) + axis_ : axis_ - 1;
  if (axis < 0 || axis >= static_cast<int64_t>(rank)) {
    throw std::invalid_argument("Expected a concatenate axis within the inputs' " + std::to_string(rank + 1) +
                                " dimensions (batch included, 1.." + std::to_string(rank) + " or -" +
                                std::to_string(rank) + "..-1) but received " + std::to_string(axis_));
  }
  return axis;
}

template <typename T>
std::vector<Shape> ConcatenateLayer<T>::outputShapes(const std::vector<Shape>& inputs) const {
  this->checkCount(inputs.size());
  const size_t rank = inputs[0].size();
  for (const Shape& shape : inputs) {
    if (shape.size() != rank) {
      throw std::invalid_argument("Expected inputs of one rank for a concatenate layer but received " +
                                  listShapes(inputs));
    }
  }
  const int64_t axis = sampleAxis(rank);
  Shape out = inputs[0];
  for (size_t k = 1; k < inputs.size(); ++k) {
    for (size_t d = 0; d < rank; ++d) {
      if (static_cast<int64_t>(d) != axis && inputs[k][d] != out[d]) {
        throw std::invalid_argument("Expected inputs of equal shapes except along axis " + std::to_string(axis_) +
                                    " for a concatenate layer but received " + listShapes(inputs));
      }
    }
    // A length unknown when the network is built stays unknown.
    out[axis] = (out[axis] == kAnyLength || inputs[k][axis] == kAnyLength) ? kAnyLength : out[axis] + inputs[k][axis];
  }
  return {out};
}

template <typename T>
void ConcatenateLayer<T>::compute(const std::vector<Activations<T>>& inputs, T* output) {
  const size_t rank = inputs[0].shape.size();
  const int64_t axis = sampleAxis(rank);
  if (axis == 0 && rank >= 2) {
    for (const Activations<T>& input : inputs) {
      if (input.windows && !input.windows->empty()) {
        throw std::invalid_argument(
            "A concatenate layer along the time axis (axis 1) received a masked sequence: the joined mask would have "
            "a gap, which rnnkit's masks (one valid window per sample) cannot hold. Concatenate along the features "
            "(axis -1) or join the sequences before masking them");
      }
    }
  }
  outer_ = this->batch_;
  for (int64_t d = 0; d < axis; ++d) outer_ *= inputs[0].shape[d];
  blocks_.clear();
  outputBlock_ = 0;
  for (const Activations<T>& input : inputs) {
    int64_t block = 1;
    for (size_t d = axis; d < rank; ++d) block *= input.shape[d];
    blocks_.push_back(block);
    outputBlock_ += block;
  }
  for (int64_t o = 0; o < outer_; ++o) {
    T* row = output + o * outputBlock_;
    for (size_t k = 0; k < inputs.size(); ++k) {
      std::copy(inputs[k].data + o * blocks_[k], inputs[k].data + (o + 1) * blocks_[k], row);
      row += blocks_[k];
    }
  }
}

template <typename T>
void ConcatenateLayer<T>::gradients(const T* dOutput, const std::vector<T*>& dInputs) {
  for (int64_t o = 0; o < outer_; ++o) {
    const T* row = dOutput + o * outputBlock_;
    for (size_t k = 0; k < dInputs.size(); ++k) {
      if (dInputs[k]) std::copy(row, row + blocks_[k], dInputs[k] + o * blocks_[k]);
      row += blocks_[k];
    }
  }
}

template class MergeLayer<float>;
template class MergeLayer<double>;
template class ElementwiseMergeLayer<float>;
template class ElementwiseMergeLayer<double>;
template class ConcatenateLayer<float>;
template class ConcatenateLayer<double>;

}  // namespace rnnkit::ops
