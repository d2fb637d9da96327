// Whole graphs with returned and initial states, merges and attention, run by GraphRunner<double>: central
// differences of every parameter gradient (issue 13's "float64 gradient checks through graphs with fan-out, merges,
// returned states and initial states"). The runner never computes the gradient of a model input (nothing asks for
// it), so where a graph starts with a Dense projection of its input, that projection's kernel and bias gradients
// (x^T dY and sum dY) check the gradient that reaches the input side of the graph; every other tensor's gradient is
// checked through the parameters of the layers that produce it.
#include <string>
#include <vector>

#include "graph_harness.h"

namespace {

using namespace rnnkit::tests::graph;
using rnnkit::kernels::AttentionScore;

LayerSpec recurrent(const std::string& name, CellKind cell, int64_t units, bool returnSequences, bool returnState,
                    bool bidirectional = false) {
  LayerSpec spec;
  spec.kind = LayerKind::Recurrent;
  spec.name = name;
  spec.recurrent.cell.kind = cell;
  spec.recurrent.cell.resetAfter = true;
  spec.recurrent.units = units;
  spec.recurrent.returnSequences = returnSequences;
  spec.recurrent.returnState = returnState;
  spec.recurrent.bidirectional = bidirectional;
  return spec;
}

LayerSpec layerOf(LayerKind kind, const std::string& name) {
  LayerSpec spec;
  spec.kind = kind;
  spec.name = name;
  return spec;
}

LayerSpec masking(const std::string& name) {
  LayerSpec spec = layerOf(LayerKind::Masking, name);
  spec.maskValue = -1;
  return spec;
}

LayerSpec attention(AttentionScore score, bool useScale) {
  LayerSpec spec = layerOf(LayerKind::Attention, "attention");
  spec.attention.score = score;
  spec.attention.useScale = useScale;
  spec.attention.returnAttentionScores = true;
  return spec;
}

// Sets every feature of the masked steps to the Masking layer's value -1: masked[b] lists, per sample, a 0/1 per step.
std::vector<double> maskedInput(int64_t batch, int64_t steps, int64_t features, uint32_t seed,
                                const std::vector<std::vector<int>>& masked) {
  std::vector<double> x = randomVector(batch * steps * features, seed);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < steps; ++t)
      if (masked[b][t])
        for (int64_t f = 0; f < features; ++f) x[(b * steps + t) * features + f] = -1;
  return x;
}

RNNKIT_TEST("graph state: encoder LSTM states start a decoder; decoder output and encoder h meet in concat and add") {
  GraphSpec g;
  g.inputs = {{"encoder_in", {5, 3}}, {"decoder_in", {4, 3}}};
  g.layers = {dense("proj", 3, Activation::Tanh),
              recurrent("encoder", CellKind::Lstm, 3, false, true),
              recurrent("decoder", CellKind::Lstm, 3, false, false),
              layerOf(LayerKind::Concatenate, "concat"),
              layerOf(LayerKind::Add, "add"),
              dense("head1", 2, Activation::Linear),
              dense("head2", 2, Activation::Sigmoid)};
  // proj(x) -> 2; encoder -> output 3 (read by nothing: the encoder gets gradients through its states only), h 4,
  // c 5; decoder(decoder_in, initial h 4, c 5) -> 6; h fans out into the decoder, concat and add.
  g.nodes = {{0, {0}, {2}},    {1, {2}, {3, 4, 5}}, {2, {1, 4, 5}, {6}}, {3, {6, 4}, {7}},
             {4, {6, 4}, {8}}, {5, {7}, {9}},       {6, {8}, {10}}};
  g.outputs = {9, 10};
  GraphHarness h(g, {0.7, 1.3});
  const std::vector<double> xe = randomVector(3 * 5 * 3, 21), xd = randomVector(3 * 4 * 3, 22);
  const std::vector<Activations<double>> inputs = {input(xe, 3, {5, 3}), input(xd, 3, {4, 3})};
  h.check("seq2seq states", inputs);
  h.seeded = {0, 1};  // only the add branch: concat and head1 get exactly zero
  h.check("seq2seq states, add branch only", inputs);
  for (const auto& grad : h.grads[5])
    for (double v : grad) RNNKIT_CHECK(v == 0, "head1's gradient must be zero with its output unseeded, got " << v);
}

RNNKIT_TEST("graph state: bidirectional GRU (resetAfter) states start another bidirectional GRU, masked inputs") {
  GraphSpec g;
  g.inputs = {{"x", {6, 3}}, {"y", {4, 2}}};
  g.layers = {masking("mask_x"),
              dense("proj", 4, Activation::Tanh),
              recurrent("encoder", CellKind::Gru, 3, true, true, true),
              masking("mask_y"),
              recurrent("decoder", CellKind::Gru, 3, false, false, true),
              recurrent("summary", CellKind::Lstm, 2, false, false),
              dense("head", 2, Activation::Linear)};
  // encoder(proj(mask(x))) -> sequence 4, forward h 5, backward h 6; decoder(mask(y), 5, 6) -> 8; summary over the
  // masked encoder sequence -> 9; the backward h is also a model output.
  g.nodes = {{0, {0}, {2}},    {1, {2}, {3}}, {2, {3}, {4, 5, 6}}, {3, {1}, {7}},
             {4, {7, 5, 6}, {8}}, {5, {4}, {9}}, {6, {8}, {10}}};
  g.outputs = {10, 9, 6};
  GraphHarness h(g, {0.9, 1.2, 0.4});
  // x: post-padded, full, pre-padded, entirely masked (returns its initial states); y: full, post-, pre-padded, full.
  const std::vector<double> x = maskedInput(4, 6, 3, 23, {{0, 0, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 0},
                                                          {1, 1, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1}});
  const std::vector<double> y = maskedInput(4, 4, 2, 24, {{0, 0, 0, 0}, {0, 0, 0, 1}, {1, 0, 0, 0}, {0, 0, 0, 0}});
  h.check("bidirectional GRU states", {input(x, 4, {6, 3}), input(y, 4, {4, 2})});
}

void checkAttentionGraph(const std::string& what, AttentionScore score, bool useScale, bool withKey) {
  GraphSpec g;
  g.inputs = {{"encoder_in", {5, 3}}, {"decoder_in", {3, 3}}};
  LayerSpec cat = layerOf(LayerKind::Concatenate, "concat");
  g.layers = {masking("mask_encoder"),
              recurrent("encoder", CellKind::Lstm, 4, true, true),
              masking("mask_decoder"),
              recurrent("decoder", CellKind::Lstm, 4, true, false),
              attention(score, useScale),
              cat,
              dense("head", 2, Activation::Tanh)};
  // encoder -> sequence 3 (the attention's value, and its key too when withKey), h 4, c 5; decoder(mask, 4, 5) -> 7;
  // attention(query 7, value 3) -> context 8, scores 9; concat(context, decoder) -> head.
  std::vector<int64_t> attentionInputs = {7, 3};
  if (withKey) attentionInputs.push_back(3);
  g.nodes = {{0, {0}, {2}}, {1, {2}, {3, 4, 5}},           {2, {1}, {6}},   {3, {6, 4, 5}, {7}},
             {4, attentionInputs, {8, 9}}, {5, {8, 7}, {10}}, {6, {10}, {11}}};
  g.outputs = {11, 9};
  GraphHarness h(g, {1.0, 0.6});
  // Encoder steps masked (the attention's value mask): post-padded, full, pre-padded; decoder (query mask) too.
  const std::vector<double> xe = maskedInput(3, 5, 3, 25, {{0, 0, 0, 1, 1}, {0, 0, 0, 0, 0}, {1, 0, 0, 0, 0}});
  const std::vector<double> xd = maskedInput(3, 3, 3, 26, {{0, 0, 0}, {0, 0, 1}, {0, 0, 0}});
  h.check(what, {input(xe, 3, {5, 3}), input(xd, 3, {3, 3})});
}

RNNKIT_TEST("graph state: attention over masked encoder outputs, decoder started by the encoder's states") {
  checkAttentionGraph("dot attention, scaled, key = value", AttentionScore::Dot, true, true);
  checkAttentionGraph("concat attention", AttentionScore::Concat, false, false);
  checkAttentionGraph("additive attention, scaled", AttentionScore::Additive, true, false);
}

}  // namespace
