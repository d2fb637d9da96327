// A recurrent layer (SimpleRNN, LSTM or GRU; optionally bidirectional) over user-layout batches [B, T, F].
// It owns the layout changes (sequence_layout.h), input dropout and the merge of the two directions; the cells
// do the numerics. Output: [B, T, H'] with returnSequences (steps outside a sample's window are 0), else [B, H'],
// the state after the sample's last valid step; H' = 2H for a concatenating bidirectional layer, else H. A
// bidirectional layer with MergeMode::None (Keras merge_mode=None) returns the two directions unmerged: two outputs,
// forward then backward (in time order), each [B, T, H] or [B, H], before the states.
//
// Explicit state (Keras): inputs are [x] or [x, s_1, ..., s_S], the initial states, each [B, H]; with returnState the
// outputs are [output, s_1, ..., s_S], the final states, each [B, H]. S = stateCount (1: h; LSTM 2: h, c) x
// directions, in Keras order: forward h (c), then backward h (c). A sample's final state is its state after its last
// valid step in processing order (a zero-length sample's final state is its initial state); without initial states
// every state starts at zero. Gradients flow into the initial states and from the returned states.
#pragma once

#include <memory>
#include <vector>

#include "ops/layer.h"
#include "ops/recurrent_cell.h"
#include "ops/sequence_layout.h"

namespace rnnkit::ops {

enum class MergeMode : int32_t { Concat = 0, Sum = 1, Mul = 2, Ave = 3, None = 4 };

struct Regularizer {
  double l1 = 0, l2 = 0;
};

struct RecurrentLayerConfig {
  CellConfig cell;
  int64_t units = 0;
  bool returnSequences = false;
  bool goBackwards = false;
  bool bidirectional = false;
  MergeMode mergeMode = MergeMode::Concat;
  double dropout = 0;  // input dropout rate, one mask per sample and feature shared by all steps (Keras)
  // Recurrent dropout rate: one mask per direction, sample and hidden unit, shared by all steps, applied to
  // h_{t-1} where it enters the recurrent products (Keras; see recurrent_cell.h). Training only.
  double recurrentDropout = 0;
  Regularizer kernelRegularizer, recurrentRegularizer, biasRegularizer;
  bool returnState = false;  // outputs [output(s), final states...] (see above)
};

template <typename T>
class RecurrentLayer : public LayerOp<T> {
 public:
  explicit RecurrentLayer(const RecurrentLayerConfig& config);
  // S: the number of state tensors (initial-state inputs, and returned states with returnState).
  int64_t stateTensors() const { return static_cast<int64_t>(directions_.size()) * stateCount_; }
  std::vector<Shape> outputShapes(const std::vector<Shape>& inputs) const override;
  std::vector<ParamInfo> paramInfos(const std::vector<Shape>& inputs) const override;
  std::vector<Activations<T>> forwardAll(const std::vector<Activations<T>>& inputs, ForwardMode mode,
                                         std::mt19937& rng) override;
  void backwardAll(const std::vector<const T*>& dOutputs, const std::vector<T*>& dInputs) override;

 private:
  struct Direction {
    std::unique_ptr<RecurrentCell<T>> cell;
    bool backwards = false;
    bool alignWithTime = false;  // backward half of a bidirectional layer
    size_t firstParam = 0;       // index of this direction's kernel in values_/grads_
    Workspace<T> xCell, dxCell;
    Workspace<T> hCell;    // inference: h after every step [T, B, H] (returnSequences) or the final h [B, H]
    Workspace<T> cCell;    // inference with returnState, LSTM: the final c [B, H], cell row order
    Workspace<T> output;   // this direction's output, user layout [B, T, H] or [B, H]
    Workspace<T> dOutput;  // gradient of `output`
    Workspace<T> dCell;    // the same gradient in cell layout: dhSeq [T, B, H] or dFinal [B, H]
    Workspace<T> recurrentMask;  // [B, H] in cell row order; empty when no recurrent dropout is active
    std::vector<Workspace<T>> initial;   // per state [B, H], cell row order (used when initial states are given)
    std::vector<Workspace<T>> final;     // per state [B, H], sample order (returnState)
    std::vector<Workspace<T>> dFinal;    // per state [B, H], cell row order
    std::vector<Workspace<T>> dInitial;  // per state [B, H], cell row order
  };

  int64_t outputUnits() const;
  // The leading outputs before the returned states: 2 for an unmerged bidirectional layer, else 1.
  size_t mainOutputs() const;
  void checkInputShapes(const std::vector<Shape>& inputs) const;
  void drawRecurrentMask(Direction& direction, std::mt19937& rng);
  void runDirection(Direction& direction, const T* x);
  // lastStates[k]: state k after the last step [B, H], cell row order.
  void keepFinalStates(Direction& direction, const T* const* lastStates);
  void mergeOutputs();
  void splitOutputGradient(size_t index, const T* dOutput);
  void backwardDirection(size_t index, const T* dOutput, const std::vector<const T*>& dOutputs,
                         const std::vector<T*>& dInputs);

  RecurrentLayerConfig config_;
  std::vector<Direction> directions_;
  size_t paramsPerDirection_ = 0;
  int64_t stateCount_ = 1;     // states per direction (cell)
  bool hasInitial_ = false;    // the last forward was given initial states
  SequencePlan plan_;
  int64_t batch_ = 0, steps_ = 0, features_ = 0;
  bool windowed_ = false;
  bool keptForBackward_ = false;  // the last forward kept what backward needs
  SequenceWindows outWindows_;
  Workspace<T> dropoutScale_;  // [B, F]; empty when no dropout is active
  Workspace<T> output_;
};

}  // namespace rnnkit::ops
