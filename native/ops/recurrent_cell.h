// One direction of a recurrent layer over a whole batch of sequences, in the kernels' layout.
//
// Layout contract (the recurrent layer op converts to and from the user's [B, T, F]):
//   x       [T, B, F]  time-major, in processing order (goBackwards already applied: step s is the s-th
//                      step the cell sees)
//   rows    sorted by sequence length, longest first, so the rows still running at step s are the prefix
//           [0, activeRows[s]); activeRows == nullptr means every row runs every step. A row past its
//           length keeps its state unchanged and costs no arithmetic; its gradients pass straight through.
//   params  Keras layout, gates concatenated along columns in Keras order:
//             kernel [F, G*H], recurrentKernel [H, G*H], bias [G*H] (GRU resetAfter: [2, G*H], input bias
//             row then recurrent bias row); LSTM G=4 (i, f, c, o), GRU G=3 (z, r, h), SimpleRNN G=1.
//   states  [T+1, B, H] per state (h; LSTM also c), entry 0 = the initial state.
//   recurrentMask [B, H] (recurrent dropout, Keras): h_{t-1} enters the recurrent products as h_{t-1} * mask,
//           the same mask at every step, already divided by the keep probability, rows in cell row order;
//           nullptr = no recurrent dropout. The GRU blend z * h_{t-1} + (1 - z) * hh keeps the unmasked h_{t-1}.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/activations.h"
#include "kernels/recurrent_shape.h"

namespace rnnkit::ops {

using kernels::Activation;
using kernels::RecurrentShape;

enum class CellKind : int32_t { SimpleRnn = 0, Lstm = 1, Gru = 2 };

struct CellConfig {
  CellKind kind = CellKind::Lstm;
  Activation activation = Activation::Tanh;              // SimpleRNN output / LSTM cell+output / GRU candidate
  Activation recurrentActivation = Activation::Sigmoid;  // LSTM and GRU gates
  bool useBias = true;
  bool resetAfter = true;                                // GRU only: Keras 2+ form (true) or tfjs form (false)
};

template <typename T>
class RecurrentCell {
 public:
  virtual ~RecurrentCell() = default;

  // 1 (h) or 2 (LSTM: h, c).
  virtual int stateCount() const = 0;
  // kernel, recurrentKernel and, when useBias, bias: the order of every params / dParams array below.
  virtual std::vector<std::vector<int64_t>> paramShapes(int64_t inputSize, int64_t hiddenSize) const = 0;

  // Forward pass; keeps what backward needs in the cell's own workspace (grown, never shrunk, so a
  // repeated shape allocates nothing). initialStates[k]: [B, H], or nullptr for zeros. recurrentMask [B, H] or
  // nullptr (see above); the cell copies it, and backward uses the same mask.
  // (The default argument lives here only: calls go through this interface.)
  virtual void forward(const RecurrentShape& shape, const T* x, const int32_t* activeRows,
                       const T* const* params, const T* const* initialStates,
                       const T* recurrentMask = nullptr) = 0;

  // Forward for inference: the same outputs as forward() at float precision, keeping nothing for backward (each cell
  // runs its stacked-operand kernel, kernels/stacked_steps.h). hSeq [T, B, H] receives h after each step (a row past
  // its length: its held state), or nullptr; finalStates[k] [B, H] (stateCount() entries, or finalStates nullptr)
  // receives state k after the last step (0: h, LSTM 1: c), or nullptr for a state not wanted. backward() must not
  // follow: it needs a forward(), and states() refuses until one has run.
  virtual void infer(const RecurrentShape& shape, const T* x, const int32_t* activeRows, const T* const* params,
                     const T* const* initialStates, T* hSeq, T* const* finalStates) = 0;

  // State k after each step of the last forward: [T+1, B, H]. Valid until the next forward.
  virtual const T* states(int k) const = 0;

  // Backward through the last forward (x, activeRows and params must still be the ones it saw).
  //   dhSeq     [T, B, H] gradient reaching h_s from the layer's outputs at each step, or nullptr
  //   dFinal[k] [B, H] gradient of final state k, or nullptr
  // Overwrites dParams (paramShapes order), dx [T, B, F] (nullptr: not needed) and dInitial[k] [B, H]
  // (nullptr: not needed).
  virtual void backward(const T* const* params, const T* dhSeq, const T* const* dFinal,
                        T* const* dParams, T* dx, T* const* dInitial) = 0;
};

template <typename T>
std::unique_ptr<RecurrentCell<T>> makeSimpleRnnCell(const CellConfig& config);
template <typename T>
std::unique_ptr<RecurrentCell<T>> makeLstmCell(const CellConfig& config);
template <typename T>
std::unique_ptr<RecurrentCell<T>> makeGruCell(const CellConfig& config);

}  // namespace rnnkit::ops
