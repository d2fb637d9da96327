// The GRU RecurrentCell: checks its arguments (the shared checks of cell_checks.h), owns the forward tape and the
// backward scratch, and hands raw pointers to kernels/gru.h. Workspaces grow and never shrink, so a repeated shape allocates nothing.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/gru.h"
#include "ops/cell_checks.h"
#include "ops/layer.h"
#include "ops/recurrent_cell.h"

namespace rnnkit::ops {
namespace {

using namespace cellchecks;

constexpr const char* kCell = "GRU";

[[noreturn]] void fail(const std::string& what, const std::string& expected, const std::string& received) {
  throw std::invalid_argument(std::string(kCell) + ": expected " + expected + " for " + what + " but received " +
                              received);
}

template <typename T>
class GruCell final : public RecurrentCell<T> {
 public:
  explicit GruCell(const CellConfig& config) : useBias_(config.useBias) {
    if (config.kind != CellKind::Gru) {
      fail("config.kind", "CellKind::Gru (2)", std::to_string(static_cast<int32_t>(config.kind)));
    }
    checkElementwise(kCell, "activation", config.activation);
    checkElementwise(kCell, "recurrentActivation", config.recurrentActivation);
    options_.activation = config.activation;
    options_.recurrentActivation = config.recurrentActivation;
    options_.resetAfter = config.resetAfter;
  }

  int stateCount() const override { return 1; }

  std::vector<std::vector<int64_t>> paramShapes(int64_t inputSize, int64_t hiddenSize) const override {
    std::vector<std::vector<int64_t>> shapes{{inputSize, 3 * hiddenSize}, {hiddenSize, 3 * hiddenSize}};
    if (useBias_) {
      shapes.push_back(options_.resetAfter ? std::vector<int64_t>{2, 3 * hiddenSize}
                                           : std::vector<int64_t>{3 * hiddenSize});
    }
    return shapes;
  }

  void forward(const RecurrentShape& shape, const T* x, const int32_t* activeRows, const T* const* params,
               const T* const* initialStates, const T* recurrentMask) override {
    checkCall(shape, x, params, activeRows);
    hasForward_ = false;  // the tape is overwritten from here on
    const int64_t stepRows = shape.steps * shape.batch, H = shape.hiddenSize;
    grow(states_, (shape.steps + 1) * shape.batch * H);
    grow(gates_, stepRows * 3 * H);
    grow(candidate_, stepRows * H);
    const T* initial = initialStates ? initialStates[0] : nullptr;
    if (initial) {
      std::copy(initial, initial + shape.batch * H, states_.begin());
    } else {
      std::fill(states_.begin(), states_.begin() + shape.batch * H, T(0));
    }
    const kernels::RecurrentMask<T> dropout = dropoutMask_.keep(shape, recurrentMask);
    kernels::gruForward<T>(shape, options_, x, activeRows, paramsOf(params),
                           {states_.data(), gates_.data(), candidate_.data()}, dropout, &products_);
    shape_ = shape;
    x_ = x;
    hasActiveRows_ = activeRows != nullptr;
    if (activeRows) activeRows_.assign(activeRows, activeRows + shape.steps);
    hasForward_ = true;
  }

  void infer(const RecurrentShape& shape, const T* x, const int32_t* activeRows, const T* const* params,
             const T* const* initialStates, T* hSeq, T* const* finalStates) override {
    checkCall(shape, x, params, activeRows);
    hasForward_ = false;  // the tape no longer matches: states() and backward() need a forward() first
    const int64_t B = shape.batch, H = shape.hiddenSize, stride = kernels::inferenceRowStride(shape);
    grow(stackedKernel_, (H + shape.inputSize) * 3 * H);
    grow(inferenceRows_, 3 * B * stride);  // two steps' [h | x] rows, then the candidate rows
    grow(z_, B * 3 * H + 3 * H);           // the step's gates, then the step bias
    const kernels::GruInferenceScratch<T> scratch{stackedKernel_.data(), inferenceRows_.data(),
                                                  inferenceRows_.data() + 2 * B * stride, z_.data(),
                                                  z_.data() + B * 3 * H};
    kernels::gruInfer<T>(shape, options_, x, activeRows, paramsOf(params), initialStates ? initialStates[0] : nullptr,
                         scratch, hSeq, entryOrNull(finalStates, 0), inferenceProducts_);
  }

  const T* states(int k) const override {
    if (k != 0) fail("state index", "0 (a GRU has one state)", std::to_string(k));
    if (!hasForward_) fail("states()", "a completed forward pass", "a call before any forward");
    return states_.data();
  }

  void backward(const T* const* params, const T* dhSeq, const T* const* dFinal, T* const* dParams, T* dx,
                T* const* dInitial) override {
    if (!hasForward_) fail("backward()", "a completed forward pass", "a call before any forward");
    checkParams(params, "params");
    checkParams(dParams, "dParams");
    const int64_t stepRows = shape_.steps * shape_.batch, H = shape_.hiddenSize;
    grow(dGates_, stepRows * 3 * H);
    grow(dCandidate_, stepRows * H);
    grow(dState_, shape_.batch * H);
    const kernels::GruTape<const T> tape{states_.data(), gates_.data(), candidate_.data()};
    const kernels::GruGradients<T> grads{dParams[0], dParams[1], useBias_ ? dParams[2] : nullptr, dx,
                                         dInitial ? dInitial[0] : nullptr};
    kernels::gruBackward<T>(shape_, options_, x_, hasActiveRows_ ? activeRows_.data() : nullptr, paramsOf(params),
                            tape, dhSeq, dFinal ? dFinal[0] : nullptr, grads,
                            {dGates_.data(), dCandidate_.data(), dState_.data()}, dropoutMask_.kept(), &products_);
  }

 private:
  kernels::GruParams<T> paramsOf(const T* const* params) const {
    return {params[0], params[1], useBias_ ? params[2] : nullptr};
  }

  // What forward() and infer() check before a kernel runs.
  void checkCall(const RecurrentShape& shape, const T* x, const T* const* params, const int32_t* activeRows) const {
    checkInputs(kCell, shape, x, activeRows);
    checkParams(params, "params");
  }

  // Pointer: const T* (params) or T* (dParams).
  template <typename Pointer>
  void checkParams(Pointer const* params, const char* what) const {
    requirePointer(kCell, what, params);
    const char* names[] = {"kernel", "recurrentKernel", "bias"};
    for (int i = 0; i < (useBias_ ? 3 : 2); ++i) {
      requirePointer(kCell, (std::string(what) + "." + names[i]).c_str(), params[i]);
    }
  }

  kernels::GruOptions options_;
  bool useBias_;
  RecurrentShape shape_{};
  bool hasForward_ = false;
  const T* x_ = nullptr;  // the caller keeps x alive until backward (recurrent_cell.h)
  bool hasActiveRows_ = false;
  std::vector<int32_t> activeRows_;
  Workspace<T> states_, gates_, candidate_;    // forward tape, see kernels::GruTape
  Workspace<T> dGates_, dCandidate_, dState_;  // backward scratch, see kernels::GruScratch
  kernels::RecurrentProducts<T> products_;     // packed U blocks, reused across calls
  Workspace<T> stackedKernel_, inferenceRows_, z_;  // infer() scratch, see kernels::GruInferenceScratch
  kernels::PackedProduct<T> inferenceProducts_[2];  // infer(): the packed stacked operands
  KeptRecurrentMask<T> dropoutMask_{true};     // recurrent dropout, with the GRU's dMasked scratch
};

}  // namespace

template <typename T>
std::unique_ptr<RecurrentCell<T>> makeGruCell(const CellConfig& config) {
  return std::make_unique<GruCell<T>>(config);
}

template std::unique_ptr<RecurrentCell<float>> makeGruCell<float>(const CellConfig&);
template std::unique_ptr<RecurrentCell<double>> makeGruCell<double>(const CellConfig&);

}  // namespace rnnkit::ops
