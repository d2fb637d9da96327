// RecurrentCell adapter for the LSTM kernels: argument checks, parameter unpacking and the owned workspaces.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/lstm.h"
#include "ops/cell_checks.h"
#include "ops/errors.h"
#include "ops/recurrent_cell.h"

namespace rnnkit::ops {
namespace {

using namespace cellchecks;
using kernels::kLstmGateCount;

constexpr const char* kCell = "LSTM";

template <typename T>
class LstmCell final : public RecurrentCell<T> {
 public:
  explicit LstmCell(const CellConfig& config) : useBias_(config.useBias) {
    if (config.kind != CellKind::Lstm) {
      throw std::invalid_argument(std::string(kCell) + ": expected cell kind Lstm (1) but received " +
                                  std::to_string(static_cast<int32_t>(config.kind)));
    }
    checkElementwise(kCell, "activation", config.activation);
    checkElementwise(kCell, "recurrentActivation", config.recurrentActivation);
    activations_ = {config.activation, config.recurrentActivation};
  }

  int stateCount() const override { return 2; }

  std::vector<std::vector<int64_t>> paramShapes(int64_t inputSize, int64_t hiddenSize) const override {
    const int64_t width = kLstmGateCount * hiddenSize;
    std::vector<std::vector<int64_t>> shapes = {{inputSize, width}, {hiddenSize, width}};
    if (useBias_) shapes.push_back({width});
    return shapes;
  }

  void forward(const RecurrentShape& shape, const T* x, const int32_t* activeRows, const T* const* params,
               const T* const* initialStates, const T* recurrentMask) override {
    checkInputs(kCell, shape, x, activeRows);
    const kernels::LstmParams<T> unpacked = unpack(params);
    const int64_t stateCount = (shape.steps + 1) * shape.batch * shape.hiddenSize;
    grow(gates_, shape.steps * shape.batch * kLstmGateCount * shape.hiddenSize);
    grow(h_, stateCount);
    grow(c_, stateCount);
    grow(cellActivated_, shape.steps * shape.batch * shape.hiddenSize);
    const kernels::RecurrentMask<T> dropout = dropoutMask_.keep(shape, recurrentMask);
    kernels::lstmForward(shape, activations_, x, activeRows, unpacked, entryOrNull(initialStates, 0),
                         entryOrNull(initialStates, 1), tape(), dropout, &products_);
    shape_ = shape;
    x_ = x;
    activeRows_ = activeRows;
    hasForward_ = true;
  }

  void infer(const RecurrentShape& shape, const T* x, const int32_t* activeRows, const T* const* params,
             const T* const* initialStates, T* hSeq, T* const* finalStates) override {
    checkInputs(kCell, shape, x, activeRows);
    const kernels::LstmParams<T> unpacked = unpack(params);
    const int64_t B = shape.batch, H = shape.hiddenSize, width = kLstmGateCount * H;
    grow(stackedKernel_, (H + shape.inputSize) * width);  // one row: the projected inputs (kernels/lstm.h)
    grow(inferenceRows_, 2 * B * kernels::inferenceRowStride(shape));
    grow(z_, B * width);
    grow(c_, B * H);
    const kernels::LstmInferenceScratch<T> scratch{stackedKernel_.data(), inferenceRows_.data(), z_.data(), c_.data()};
    hasForward_ = false;  // the tape no longer matches: states() and backward() need a forward() first
    kernels::lstmInfer(shape, activations_, x, activeRows, unpacked, entryOrNull(initialStates, 0),
                       entryOrNull(initialStates, 1), scratch, hSeq, entryOrNull(finalStates, 0),
                       entryOrNull(finalStates, 1), &stackedProduct_);
  }

  const T* states(int k) const override {
    if (k < 0 || k > 1) {
      throw std::invalid_argument(std::string(kCell) + ": expected state index 0 (h) or 1 (c) but received " +
                                  std::to_string(k));
    }
    if (!hasForward_) throw StateError(std::string(kCell) + ": states() called before forward()");
    return k == 0 ? h_.data() : c_.data();
  }

  void backward(const T* const* params, const T* dhSeq, const T* const* dFinal, T* const* dParams, T* dx,
                T* const* dInitial) override {
    if (!hasForward_) throw StateError(std::string(kCell) + ": backward() called before forward()");
    const kernels::LstmParams<T> unpacked = unpack(params);
    requirePointer(kCell, "dParams", dParams);
    requirePointer(kCell, "dParams[0] (kernel gradient)", dParams[0]);
    requirePointer(kCell, "dParams[1] (recurrentKernel gradient)", dParams[1]);
    if (useBias_) requirePointer(kCell, "dParams[2] (bias gradient)", dParams[2]);
    const int64_t stateStride = shape_.batch * shape_.hiddenSize;
    grow(dGates_, shape_.steps * stateStride * kLstmGateCount);
    grow(dh_, stateStride);
    grow(dc_, stateStride);
    const kernels::LstmBackwardScratch<T> scratch{dGates_.data(), dh_.data(), dc_.data()};
    const kernels::LstmGradients<T> gradients{dParams[0], dParams[1], useBias_ ? dParams[2] : nullptr, dx,
                                              entryOrNull(dInitial, 0), entryOrNull(dInitial, 1)};
    kernels::lstmBackward(shape_, activations_, x_, activeRows_, unpacked, tape(), dhSeq, entryOrNull(dFinal, 0),
                          entryOrNull(dFinal, 1), scratch, gradients, dropoutMask_.kept(), &products_);
  }

 private:
  kernels::LstmParams<T> unpack(const T* const* params) const {
    requirePointer(kCell, "params", params);
    requirePointer(kCell, "params[0] (kernel)", params[0]);
    requirePointer(kCell, "params[1] (recurrentKernel)", params[1]);
    if (useBias_) requirePointer(kCell, "params[2] (bias)", params[2]);
    return {params[0], params[1], useBias_ ? params[2] : nullptr};
  }

  kernels::LstmTape<T> tape() { return {gates_.data(), h_.data(), c_.data(), cellActivated_.data()}; }

  kernels::LstmActivations activations_;
  bool useBias_;
  RecurrentShape shape_{};
  bool hasForward_ = false;
  const T* x_ = nullptr;                  // the last forward's input, read again by backward
  const int32_t* activeRows_ = nullptr;
  Workspace<T> gates_, h_, c_, cellActivated_;  // forward tape
  Workspace<T> dGates_, dh_, dc_;               // backward scratch
  Workspace<T> stackedKernel_, inferenceRows_, z_;  // infer() scratch (its cell state goes in c_)
  kernels::RecurrentProducts<T> products_;      // packed U, reused across calls
  kernels::PackedProduct<T> stackedProduct_;    // infer(): packed [U; W]
  KeptRecurrentMask<T> dropoutMask_{false};     // recurrent dropout
};

}  // namespace

template <typename T>
std::unique_ptr<RecurrentCell<T>> makeLstmCell(const CellConfig& config) {
  return std::make_unique<LstmCell<T>>(config);
}

template std::unique_ptr<RecurrentCell<float>> makeLstmCell<float>(const CellConfig&);
template std::unique_ptr<RecurrentCell<double>> makeLstmCell<double>(const CellConfig&);

}  // namespace rnnkit::ops
