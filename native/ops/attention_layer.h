// Keras `Attention` (Luong: dot or concat scores) and `AdditiveAttention` (Bahdanau) as one graph node.
// Inputs: query [Tq, D], value [Tv, Dv] and optionally key [Tv, D] (the value when absent). Outputs: [Tq, Dv], and
// with returnAttentionScores the attention weights [Tq, Tv] (after masking, softmax and dropout, as Keras returns
// them). Masks (Activations::windows): the value's window is the steps that can be attended to; rows of query
// steps outside the query's window are zeroed in the output; the output's mask is the query's, the scores carry
// none (Keras's compute_mask gives one mask, which goes to the first output). The key's mask is not used (Keras).
// The numerics are in kernels/attention.h.
#pragma once

#include <vector>

#include "kernels/attention.h"
#include "ops/layer.h"

namespace rnnkit::ops {

struct AttentionConfig {
  kernels::AttentionScore score = kernels::AttentionScore::Dot;  // Concat: Attention(score_mode='concat')
  bool useScale = false;               // Attention: scalar `scale`; AdditiveAttention: `scale` [D]
  double dropout = 0;                  // on the attention weights, training only, kept ones scaled by 1 / (1 - rate)
  bool returnAttentionScores = false;  // a second output, the weights [Tq, Tv]
  bool useCausalMask = false;          // query step i attends to value steps j <= i only
};

template <typename T>
class AttentionLayer : public LayerOp<T> {
 public:
  explicit AttentionLayer(const AttentionConfig& config);
  std::vector<Shape> outputShapes(const std::vector<Shape>& inputs) const override;
  // Keras's weights, in its build order: Attention `scale` [] (useScale), `concat_score_weight` [] (concat);
  // AdditiveAttention `scale` [D] (useScale).
  std::vector<ParamInfo> paramInfos(const std::vector<Shape>& inputs) const override;
  std::vector<Activations<T>> forwardAll(const std::vector<Activations<T>>& inputs, ForwardMode mode,
                                         std::mt19937& rng) override;
  void backwardAll(const std::vector<const T*>& dOutputs, const std::vector<T*>& dInputs) override;

 private:
  kernels::AttentionProblem<T> problem() const;
  AttentionConfig config_;
  const T *query_ = nullptr, *value_ = nullptr, *key_ = nullptr;
  bool keyIsValue_ = true;
  int64_t batch_ = 0, queryLength_ = 0, valueLength_ = 0, keyDim_ = 0, valueDim_ = 0;
  std::vector<int32_t> valueStart_, valueEnd_;  // empty: the value has no mask
  std::vector<int32_t> queryStart_, queryEnd_;  // empty: the query has no mask
  Workspace<T> products_, weights_, dropScale_, dropped_, output_, scratch_;
  Workspace<T> dWeights_, dQuery_, dKey_, dValue_, dOutputMasked_;
};

}  // namespace rnnkit::ops
