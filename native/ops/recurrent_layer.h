// A recurrent layer (SimpleRNN, LSTM or GRU; optionally bidirectional) over user-layout batches [B, T, F].
// It owns the layout changes (sequence_layout.h), input dropout and the merge of the two directions; the cells
// do the numerics. Output: [B, T, H'] with returnSequences (steps outside a sample's window are 0), else [B, H'],
// the state after the sample's last valid step; H' = 2H for a concatenating bidirectional layer, else H.
#pragma once

#include <memory>
#include <vector>

#include "ops/layer.h"
#include "ops/recurrent_cell.h"
#include "ops/sequence_layout.h"

namespace rnnkit::ops {

enum class MergeMode : int32_t { Concat = 0, Sum = 1, Mul = 2, Ave = 3 };

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
};

template <typename T>
class RecurrentLayer : public UnaryLayerOp<T> {
 public:
  explicit RecurrentLayer(const RecurrentLayerConfig& config);
  Shape outputShape(const Shape& input) const override;
  std::vector<ParamInfo> params(const Shape& input) const override;
  Activations<T> forward(const Activations<T>& input, ForwardMode mode, std::mt19937& rng) override;
  void backward(const T* dOutput, T* dInput) override;

 private:
  struct Direction {
    std::unique_ptr<RecurrentCell<T>> cell;
    bool backwards = false;
    bool alignWithTime = false;  // backward half of a bidirectional layer
    size_t firstParam = 0;       // index of this direction's kernel in values_/grads_
    Workspace<T> xCell, dxCell;
    Workspace<T> hCell;    // inference: h after every step [T, B, H] (returnSequences) or the final h [B, H]
    Workspace<T> output;   // this direction's output, user layout [B, T, H] or [B, H]
    Workspace<T> dOutput;  // gradient of `output`
    Workspace<T> dCell;    // the same gradient in cell layout: dhSeq [T, B, H] or dFinal [B, H]
    Workspace<T> recurrentMask;  // [B, H] in cell row order; empty when no recurrent dropout is active
  };

  int64_t outputUnits() const;
  void drawRecurrentMask(Direction& direction, std::mt19937& rng);
  void runDirection(Direction& direction, const T* x);
  void mergeOutputs();
  void splitOutputGradient(size_t index, const T* dOutput);

  RecurrentLayerConfig config_;
  std::vector<Direction> directions_;
  size_t paramsPerDirection_ = 0;
  SequencePlan plan_;
  int64_t batch_ = 0, steps_ = 0, features_ = 0;
  bool windowed_ = false;
  bool keptForBackward_ = false;  // the last forward kept what backward needs
  SequenceWindows outWindows_;
  Workspace<T> dropoutScale_;  // [B, F]; empty when no dropout is active
  Workspace<T> output_;
};

}  // namespace rnnkit::ops
