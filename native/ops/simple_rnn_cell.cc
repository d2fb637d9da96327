// RecurrentCell adapter for the SimpleRNN kernels: argument checks, parameter unpacking and the owned workspaces.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/simple_rnn.h"
#include "ops/cell_checks.h"
#include "ops/errors.h"
#include "ops/recurrent_cell.h"

namespace rnnkit::ops {
namespace {

using namespace cellchecks;

constexpr const char* kCell = "SimpleRNN";

template <typename T>
class SimpleRnnCell final : public RecurrentCell<T> {
 public:
  explicit SimpleRnnCell(const CellConfig& config) : activation_(config.activation), useBias_(config.useBias) {
    if (config.kind != CellKind::SimpleRnn) {
      throw std::invalid_argument(std::string(kCell) + ": expected cell kind SimpleRnn (0) but received " +
                                  std::to_string(static_cast<int32_t>(config.kind)));
    }
    checkElementwise(kCell, "activation", config.activation);
  }

  int stateCount() const override { return 1; }

  std::vector<std::vector<int64_t>> paramShapes(int64_t inputSize, int64_t hiddenSize) const override {
    std::vector<std::vector<int64_t>> shapes = {{inputSize, hiddenSize}, {hiddenSize, hiddenSize}};
    if (useBias_) shapes.push_back({hiddenSize});
    return shapes;
  }

  void forward(const RecurrentShape& shape, const T* x, const int32_t* activeRows, const T* const* params,
               const T* const* initialStates, const T* recurrentMask) override {
    checkInputs(kCell, shape, x, activeRows);
    const kernels::SimpleRnnParams<T> unpacked = unpack(params);
    grow(states_, (shape.steps + 1) * shape.batch * shape.hiddenSize);
    const kernels::RecurrentMask<T> dropout = dropoutMask_.keep(shape, recurrentMask);
    kernels::simpleRnnForward(shape, activation_, x, activeRows, unpacked, entryOrNull(initialStates, 0),
                              states_.data(), dropout, &products_);
    shape_ = shape;
    x_ = x;
    activeRows_ = activeRows;
    hasForward_ = true;
  }

  void infer(const RecurrentShape& shape, const T* x, const int32_t* activeRows, const T* const* params,
             const T* const* initialStates, T* hSeq, T* const* finalStates) override {
    checkInputs(kCell, shape, x, activeRows);
    const kernels::SimpleRnnParams<T> unpacked = unpack(params);
    const int64_t B = shape.batch, H = shape.hiddenSize;
    grow(stackedKernel_, (H + shape.inputSize) * H);  // one row: the projected inputs (kernels/simple_rnn.h)
    grow(inferenceRows_, 2 * B * kernels::inferenceRowStride(shape));
    hasForward_ = false;  // the tape no longer matches: states() and backward() need a forward() first
    kernels::simpleRnnInfer(shape, activation_, x, activeRows, unpacked, entryOrNull(initialStates, 0),
                            {stackedKernel_.data(), inferenceRows_.data()}, hSeq, entryOrNull(finalStates, 0),
                            &stackedProduct_);
  }

  const T* states(int k) const override {
    if (k != 0) {
      throw std::invalid_argument(std::string(kCell) + ": expected state index 0 (h) but received " +
                                  std::to_string(k));
    }
    if (!hasForward_) throw StateError(std::string(kCell) + ": states() called before forward()");
    return states_.data();
  }

  void backward(const T* const* params, const T* dhSeq, const T* const* dFinal, T* const* dParams, T* dx,
                T* const* dInitial) override {
    if (!hasForward_) throw StateError(std::string(kCell) + ": backward() called before forward()");
    const kernels::SimpleRnnParams<T> unpacked = unpack(params);
    requirePointer(kCell, "dParams", dParams);
    requirePointer(kCell, "dParams[0] (kernel gradient)", dParams[0]);
    requirePointer(kCell, "dParams[1] (recurrentKernel gradient)", dParams[1]);
    if (useBias_) requirePointer(kCell, "dParams[2] (bias gradient)", dParams[2]);
    const int64_t stateStride = shape_.batch * shape_.hiddenSize;
    grow(dPre_, shape_.steps * stateStride);
    grow(dh_, stateStride);
    const kernels::SimpleRnnBackwardScratch<T> scratch{dPre_.data(), dh_.data()};
    const kernels::SimpleRnnGradients<T> gradients{dParams[0], dParams[1], useBias_ ? dParams[2] : nullptr, dx,
                                                   entryOrNull(dInitial, 0)};
    kernels::simpleRnnBackward(shape_, activation_, x_, activeRows_, unpacked, states_.data(), dhSeq,
                               entryOrNull(dFinal, 0), scratch, gradients, dropoutMask_.kept(), &products_);
  }

 private:
  kernels::SimpleRnnParams<T> unpack(const T* const* params) const {
    requirePointer(kCell, "params", params);
    requirePointer(kCell, "params[0] (kernel)", params[0]);
    requirePointer(kCell, "params[1] (recurrentKernel)", params[1]);
    if (useBias_) requirePointer(kCell, "params[2] (bias)", params[2]);
    return {params[0], params[1], useBias_ ? params[2] : nullptr};
  }

  Activation activation_;
  bool useBias_;
  RecurrentShape shape_{};
  bool hasForward_ = false;
  const T* x_ = nullptr;                  // the last forward's input, read again by backward
  const int32_t* activeRows_ = nullptr;
  Workspace<T> states_;                 // forward tape: h_0 .. h_T
  Workspace<T> dPre_, dh_;              // backward scratch
  Workspace<T> stackedKernel_, inferenceRows_;  // infer() scratch
  kernels::RecurrentProducts<T> products_;  // packed U, reused across calls
  kernels::PackedProduct<T> stackedProduct_;  // infer(): packed [U; W]
  KeptRecurrentMask<T> dropoutMask_{false};  // recurrent dropout
};

}  // namespace

template <typename T>
std::unique_ptr<RecurrentCell<T>> makeSimpleRnnCell(const CellConfig& config) {
  return std::make_unique<SimpleRnnCell<T>>(config);
}

template std::unique_ptr<RecurrentCell<float>> makeSimpleRnnCell<float>(const CellConfig&);
template std::unique_ptr<RecurrentCell<double>> makeSimpleRnnCell<double>(const CellConfig&);

}  // namespace rnnkit::ops
