// Argument checks, workspace growth and the kept recurrent-dropout mask, shared by the cell adapters (private helper).
// Every check throws std::invalid_argument naming what was expected and what was received.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <algorithm>

#include "kernels/activations.h"
#include "kernels/recurrent_dropout.h"
#include "kernels/recurrent_shape.h"
#include "ops/layer.h"

namespace rnnkit::ops::cellchecks {

inline void requirePositive(const char* cell, const char* name, int64_t value) {
  if (value < 1) {
    throw std::invalid_argument(std::string(cell) + ": expected " + name + " >= 1 but received " +
                                std::to_string(value));
  }
}

inline void checkShape(const char* cell, const kernels::RecurrentShape& shape) {
  requirePositive(cell, "steps", shape.steps);
  requirePositive(cell, "batch", shape.batch);
  requirePositive(cell, "inputSize", shape.inputSize);
  requirePositive(cell, "hiddenSize", shape.hiddenSize);
}

inline void requirePointer(const char* cell, const char* name, const void* pointer) {
  if (!pointer) throw std::invalid_argument(std::string(cell) + ": expected " + name + " but received nullptr");
}

// Rows are sorted longest first (recurrent_cell.h), so every activeRows[s] lies in [0, B] and never exceeds the count
// before it (the kernels trust both).
inline void checkActiveRows(const char* cell, const kernels::RecurrentShape& shape, const int32_t* activeRows) {
  if (!activeRows) return;
  int64_t previous = shape.batch;
  for (int64_t s = 0; s < shape.steps; ++s) {
    const int64_t active = activeRows[s];
    if (active < 0 || active > shape.batch) {
      throw std::invalid_argument(std::string(cell) + ": expected activeRows[" + std::to_string(s) + "] in [0, " +
                                  std::to_string(shape.batch) + "] but received " + std::to_string(active));
    }
    if (active > previous) {
      throw std::invalid_argument(std::string(cell) + ": expected activeRows[" + std::to_string(s) + "] in [0, " +
                                  std::to_string(previous) + "] (rows sorted longest first, so the running rows " +
                                  "never grow) but received " + std::to_string(active));
    }
    previous = active;
  }
}

// What every forward() and infer() checks before a kernel runs: the shape, x, and activeRows.
inline void checkInputs(const char* cell, const kernels::RecurrentShape& shape, const void* x,
                        const int32_t* activeRows) {
  checkShape(cell, shape);
  requirePointer(cell, "x", x);
  checkActiveRows(cell, shape, activeRows);
}

// The cells apply activations element-wise, so Softmax (and anything outside the enum) is refused.
inline void checkElementwise(const char* cell, const char* name, kernels::Activation activation) {
  const auto code = static_cast<int32_t>(activation);
  const bool elementwise = code >= static_cast<int32_t>(kernels::Activation::Linear) &&
                           code <= static_cast<int32_t>(kernels::Activation::Relu);
  if (!elementwise) {
    throw std::invalid_argument(std::string(cell) + ": expected " + name +
                                " linear, tanh, sigmoid, hardSigmoid or relu (codes 0-4) but received code " +
                                std::to_string(code));
  }
}

// Workspaces only grow, so repeating a shape never allocates.
template <typename T>
void grow(Workspace<T>& buffer, int64_t count) {
  if (buffer.size() < static_cast<size_t>(count)) buffer.resize(static_cast<size_t>(count));
}

// Entry k of an optional pointer array (the array itself may be nullptr).
template <typename P>
P entryOrNull(P const* array, int k) {
  return array ? array[k] : nullptr;
}

// The recurrent dropout mask a cell keeps from forward to backward (backward needs it after the caller's buffer may
// have changed), with the masked-state tape the kernels fill and, for cells that need it, the dMasked scratch.
template <typename T>
class KeptRecurrentMask {
 public:
  explicit KeptRecurrentMask(bool withGradientScratch) : withGradientScratch_(withGradientScratch) {}

  // Copies recurrentMask ([B, H], or nullptr: no recurrent dropout) and sizes the tapes for `shape`.
  kernels::RecurrentMask<T> keep(const kernels::RecurrentShape& shape, const T* recurrentMask) {
    has_ = recurrentMask != nullptr;
    if (!has_) return {};
    const int64_t stateStride = shape.batch * shape.hiddenSize;
    grow(mask_, stateStride);
    std::copy(recurrentMask, recurrentMask + stateStride, mask_.begin());
    grow(maskedPrev_, shape.steps * stateStride);
    if (withGradientScratch_) grow(dMasked_, stateStride);
    return kept();
  }

  // The mask of the last keep(), for backward.
  kernels::RecurrentMask<T> kept() {
    if (!has_) return {};
    return {mask_.data(), maskedPrev_.data(), withGradientScratch_ ? dMasked_.data() : nullptr};
  }

 private:
  bool withGradientScratch_;
  bool has_ = false;
  Workspace<T> mask_, maskedPrev_, dMasked_;  // m [B, H], the tape h_s * m [T, B, H], dMasked [B, H]
};

}  // namespace rnnkit::ops::cellchecks
