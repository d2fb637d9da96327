// Layer-level float64 checks of RecurrentLayer through native/ops (the layer ops the network chains, not the bare
// cells):
//   * central-difference gradients of L = sum(R * output) (R: fixed random weights shaped like the output) with
//     respect to every parameter and the input, over each cell (SimpleRNN, LSTM, GRU in both reset forms) x
//     returnSequences x goBackwards x sequence windows, and bidirectional with each merge mode;
//   * masked output positions are exactly 0, and every sample's outputs (final state included) equal those of
//     its trimmed sequence run alone, so padding never leaks into results; in the gradient and the inference pass;
//   * the inference pass gives the gradient pass's outputs and refuses backward.
// Dense, Masking and Embedding: basic_layers_test.cc. The chains: layer_chain.h.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "layer_chain.h"

namespace {

using namespace rnnkit::tests::layers;

void checkRecurrentGradients(const CellConfig& cell, const LayerVariant& variant) {
  const SequenceWindows windows = mixedWindows();
  Chain chain = recurrentChain(cell, variant, variant.windowed ? &windows : nullptr, 11);
  checkChainGradients("", chain, true);
}

// Registers one gradient case per cell and layer variant, so each prints its own ok / FAIL line.
const bool recurrentGradientCasesRegistered = [] {
  std::vector<LayerVariant> variants;
  for (int bits = 0; bits < 8; ++bits) variants.push_back({(bits & 1) != 0, (bits & 2) != 0, (bits & 4) != 0, false});
  for (MergeMode merge : {MergeMode::Concat, MergeMode::Sum, MergeMode::Mul, MergeMode::Ave}) {
    for (bool sequences : {false, true}) variants.push_back({sequences, false, true, true, merge});
  }
  variants.push_back({true, true, true, true, MergeMode::Concat});
  variants.push_back({false, false, false, true, MergeMode::Concat});
  for (const CellCase& cell : cellCases()) {
    for (const LayerVariant& variant : variants) {
      const std::string name = std::string("recurrent layer ") + cell.name + " gradients: " + variant.describe();
      registry().push_back({name, [cell, variant] { checkRecurrentGradients(cell.config, variant); }});
    }
  }
  return true;
}();

// Window of output positions that hold values: processing order for a one-way goBackwards layer, else time order.
int64_t outputWindowStart(const LayerVariant& variant, const SequenceWindows& windows, int64_t b) {
  return variant.goBackwards && !variant.bidirectional ? kSteps - windows.end[b] : windows.start[b];
}

// Runs `chain` on the mixed-window batch with huge padding values and compares every sample with its trimmed
// sequence run alone through a second op bound to the same weights; both runs use `mode`.
void checkAgainstTrimmedRuns(const CellConfig& cell, const LayerVariant& variant, ForwardMode mode) {
  const SequenceWindows windows = mixedWindows();
  Chain chain = recurrentChain(cell, variant, &windows, 21);
  chain.mode = mode;
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t t = 0; t < kSteps; ++t) {
      if (t >= windows.start[b] && t < windows.end[b]) continue;
      for (int64_t f = 0; f < kFeatures; ++f) chain.x[(b * kSteps + t) * kFeatures + f] = 50.0 + t;
    }
  }
  const Activations<double> out = chain.forward();
  const Vector batched(out.data, out.data + kBatch * shapeSize(out.shape));
  const int64_t width = out.shape.back();
  const int64_t stepsOut = variant.returnSequences ? kSteps : 1;

  RecurrentLayer<double> alone(variant.config(cell));
  std::vector<double*> values, unusedGrads;
  for (Vector& v : chain.layers[0].values) values.push_back(v.data());
  for (Vector& g : chain.layers[0].grads) unusedGrads.push_back(g.data());
  alone.bind(values, unusedGrads);
  std::mt19937 rng(7);

  for (int64_t b = 0; b < kBatch; ++b) {
    const int64_t length = windows.end[b] - windows.start[b];
    Vector expected(stepsOut * width, 0.0);  // zero-length sample: the initial state, zeros
    if (length > 0) {
      const Vector trimmedX(chain.x.begin() + (b * kSteps + windows.start[b]) * kFeatures,
                            chain.x.begin() + (b * kSteps + windows.end[b]) * kFeatures);
      const Activations<double> single =
          alone.forwardAll({{trimmedX.data(), 1, {length, kFeatures}, nullptr}}, mode, rng).at(0);
      const int64_t first = variant.returnSequences ? outputWindowStart(variant, windows, b) : 0;
      std::copy(single.data, single.data + shapeSize(single.shape), expected.begin() + first * width);
    }
    for (int64_t i = 0; i < stepsOut * width; ++i) {
      const double got = batched[b * stepsOut * width + i];
      RNNKIT_CHECK(std::fabs(got - expected[i]) < 1e-12,
                   "sample " << b << " output step " << i / width << " unit " << i % width << " is " << got
                         << ", the trimmed run gives " << expected[i] << (expected[i] == 0 ? " (masked: 0)" : ""));
    }
  }
}

const bool trimmedRunCasesRegistered = [] {
  const std::vector<LayerVariant> variants = {
      {false, false, true, false}, {true, false, true, false}, {false, true, true, false},
      {true, true, true, false},   {false, false, true, true}, {true, false, true, true},
      {true, true, true, true},
  };
  for (const CellCase& cell : cellCases()) {
    for (const LayerVariant& variant : variants) {
      for (const bool inference : {false, true}) {
        const std::string name = std::string("recurrent layer ") + cell.name + (inference ? " inference" : "") +
                                 " masked steps and final state equal trimmed runs: " + variant.describe();
        const ForwardMode mode = inference ? kInferencePass : kGradientPass;
        registry().push_back({name, [cell, variant, mode] { checkAgainstTrimmedRuns(cell.config, variant, mode); }});
      }
    }
  }
  return true;
}();

// The inference pass (predict, evaluate; each cell's stacked-operand kernel) gives the gradient pass's
// outputs on a windowed batch, and a backward after it is refused rather than run on a stale tape.
const bool inferenceCasesRegistered = [] {
  const std::vector<LayerVariant> variants = {
      {false, false, true, false}, {true, false, true, false}, {true, true, true, true}};
  for (const CellCase& cell : cellCases()) {
    for (const LayerVariant& variant : variants) {
      const std::string name = std::string("recurrent layer ") + cell.name +
                               " inference pass equals the gradient pass, refuses backward: " + variant.describe();
      registry().push_back({name, [cell, variant] {
        const SequenceWindows windows = mixedWindows();
        Chain chain = recurrentChain(cell.config, variant, &windows, 23);
        const Activations<double> taped = chain.forward();
        const Vector expected(taped.data, taped.data + kBatch * shapeSize(taped.shape));
        chain.mode = kInferencePass;
        const Activations<double> inferred = chain.forward();
        RNNKIT_CHECK(inferred.shape == taped.shape, "inference output shape " << shapeToString(inferred.shape));
        for (size_t i = 0; i < expected.size(); ++i) {
          RNNKIT_CHECK(std::fabs(inferred.data[i] - expected[i]) < 1e-12,
                       "output " << i << ": inference " << inferred.data[i] << ", gradient pass " << expected[i]);
        }
        bool refused = false;
        Vector dOutput(expected.size(), 1.0);
        try {
          chain.layers[0].op->backwardAll({dOutput.data()}, {nullptr});
        } catch (const std::logic_error&) {
          refused = true;
        }
        RNNKIT_CHECK(refused, "backward after an inference pass was not refused");
      }});
    }
  }
  return true;
}();

}  // namespace
