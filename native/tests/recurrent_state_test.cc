// Explicit state in RecurrentLayer (float64): initial states as extra inputs, returned states as extra outputs.
//   * central-difference gradients of L = sum(R0 * output) + sum_k sum(R_k * state_k) (R: fixed random weights), and
//     of the states-only loss (no gradient reaches the output: dOutputs[0] == nullptr), with respect to x, every
//     parameter and every initial state; each cell x one-way / goBackwards / bidirectional x returnSequences, on the
//     mixed windows of layer_chain.h (post-, pre-padded, zero-length and full samples);
//   * forward: every sample's returned states equal those of its trimmed sequence run alone from its own initial
//     states (a zero-length sample returns its initial states), the returned h equals the output at the last valid
//     step, zero initial states give exactly the outputs of a layer without state inputs, and the inference pass
//     gives the gradient pass's outputs and states;
//   * shape and count errors name what was expected and received.
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "layer_chain.h"

namespace {

using namespace rnnkit::tests::layers;

struct StateVariant {
  bool returnSequences = false, goBackwards = false, bidirectional = false;
  MergeMode merge = MergeMode::Concat;
  std::string describe() const {
    std::string text = bidirectional ? std::string("bidirectional ") + mergeName(merge)
                                     : goBackwards ? "goBackwards" : "one-way";
    return text + (returnSequences ? ", sequences" : ", final");
  }
  RecurrentLayerConfig config(const CellConfig& cell, bool returnState) const {
    LayerVariant base{returnSequences, goBackwards, true, bidirectional, merge};
    RecurrentLayerConfig config = base.config(cell);
    config.returnState = returnState;
    return config;
  }
};

// A bound recurrent layer with x, initial states, windows and the loss weights R.
struct StateCase {
  BoundLayer layer;
  Vector x;
  std::vector<Vector> initial;  // one [B, H] per state tensor
  SequenceWindows windows = mixedWindows();
  std::vector<Vector> weights;  // R per output
  bool lossOnOutput = true;
  ForwardMode mode = kGradientPass;

  StateCase(const CellConfig& cell, const StateVariant& variant, bool returnState, uint32_t seed)
      : layer(bindLayer(std::make_unique<RecurrentLayer<double>>(variant.config(cell, returnState)),
                        Shape{kSteps, kFeatures}, seed)),
        x(randomVector(kBatch * kSteps * kFeatures, seed + 1)) {
    const auto* op = static_cast<RecurrentLayer<double>*>(layer.op.get());
    for (int64_t k = 0; k < op->stateTensors(); ++k) initial.push_back(randomVector(kBatch * kUnits, seed + 10 + k));
  }

  std::vector<Activations<double>> forward(bool withStates = true) {
    std::mt19937 rng(7);
    std::vector<Activations<double>> inputs{{x.data(), kBatch, {kSteps, kFeatures}, &windows}};
    for (Vector& state : initial) {
      if (withStates) inputs.push_back({state.data(), kBatch, {kUnits}, nullptr});
    }
    std::vector<Activations<double>> outputs = layer.op->forwardAll(inputs, mode, rng);
    for (size_t k = weights.size(); k < outputs.size(); ++k) {
      weights.push_back(randomVector(kBatch * shapeSize(outputs[k].shape), 900 + k));
    }
    return outputs;
  }

  double loss() {
    const std::vector<Activations<double>> outputs = forward();
    double sum = 0;
    for (size_t k = lossOnOutput ? 0 : 1; k < outputs.size(); ++k) {
      for (size_t i = 0; i < weights[k].size(); ++i) sum += weights[k][i] * outputs[k].data[i];
    }
    return sum;
  }

  // Analytic gradients: parameters into layer.grads, returns dL/dx then dL/d(initial state k).
  std::vector<Vector> backward() {
    forward();
    std::vector<const double*> dOutputs;
    for (size_t k = 0; k < weights.size(); ++k) dOutputs.push_back(k > 0 || lossOnOutput ? weights[k].data() : nullptr);
    std::vector<Vector> dInputs{Vector(x.size(), 0.0)};
    for (const Vector& state : initial) dInputs.emplace_back(state.size(), 0.0);
    std::vector<double*> pointers;
    for (Vector& d : dInputs) pointers.push_back(d.data());
    layer.op->backwardAll(dOutputs, pointers);
    return dInputs;
  }
};

void checkStateGradients(const CellConfig& cell, const StateVariant& variant, bool lossOnOutput, bool returnState = true) {
  StateCase test(cell, variant, returnState, 31);
  test.lossOnOutput = lossOnOutput;
  const std::vector<Vector> dInputs = test.backward();
  auto loss = [&test] { return test.loss(); };
  for (size_t p = 0; p < test.layer.values.size(); ++p) {
    const Vector analytic = test.layer.grads[p];
    expectGradient("d" + test.layer.infos[p].name, analytic, numericGradient(loss, test.layer.values[p], 1e-6));
  }
  expectGradient("dx", dInputs[0], numericGradient(loss, test.x, 1e-6));
  for (size_t k = 0; k < test.initial.size(); ++k) {
    expectGradient("dInitialState" + std::to_string(k), dInputs[1 + k], numericGradient(loss, test.initial[k], 1e-6));
  }
}

std::vector<StateVariant> allVariants() {
  std::vector<StateVariant> variants;
  for (bool sequences : {false, true}) {
    variants.push_back({sequences, false, false});
    variants.push_back({sequences, true, false});
    variants.push_back({sequences, false, true});
  }
  variants.push_back({false, false, true, MergeMode::Mul});  // the merge reads the other direction's output
  variants.push_back({true, true, true, MergeMode::Ave});    // goBackwards inside a bidirectional layer
  // Unmerged (Keras merge_mode=None): two outputs before the states; "states only" then weighs the backward output.
  variants.push_back({true, false, true, MergeMode::None});
  variants.push_back({false, true, true, MergeMode::None});
  return variants;
}

const bool gradientCasesRegistered = [] {
  for (const CellCase& cell : cellCases()) {
    for (const StateVariant& variant : allVariants()) {
      for (bool lossOnOutput : {true, false}) {
        const std::string name = std::string("recurrent state ") + cell.name + " gradients (" +
                                 (lossOnOutput ? "output and states" : "states only") + "): " + variant.describe();
        registry().push_back({name, [cell, variant, lossOnOutput] {
          checkStateGradients(cell.config, variant, lossOnOutput);
        }});
      }
      if (variant.merge == MergeMode::None) {
        registry().push_back({std::string("recurrent state ") + cell.name + " gradients (no returned states): " +
                                  variant.describe(),
                              [cell, variant] { checkStateGradients(cell.config, variant, true, false); }});
      }
    }
  }
  return true;
}();

void expectClose(const std::string& what, const double* got, const double* expected, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    RNNKIT_CHECK(std::fabs(got[i] - expected[i]) < 1e-12,
                 what << " entry " << i << " is " << got[i] << ", expected " << expected[i]);
  }
}

// Returned states against the trimmed run of each sample alone (same weights, its own initial states), and the
// returned h against the output at the last valid step.
void checkFinalStates(const CellConfig& cell, const StateVariant& variant, ForwardMode mode) {
  StateCase batched(cell, variant, true, 41);
  batched.mode = mode;
  const std::vector<Activations<double>> outputs = batched.forward();
  StateCase alone(cell, variant, true, 41);  // same seeds: same weights
  alone.mode = mode;
  for (int64_t b = 0; b < kBatch; ++b) {
    const int64_t start = batched.windows.start[b], length = batched.windows.end[b] - start;
    for (size_t k = 0; k < batched.initial.size(); ++k) {
      const double* got = outputs[1 + k].data + b * kUnits;
      const std::string what = "sample " + std::to_string(b) + " state " + std::to_string(k);
      if (length == 0) {
        expectClose(what + " (zero length: the initial state)", got, batched.initial[k].data() + b * kUnits, kUnits);
        continue;
      }
      std::mt19937 rng(7);
      std::vector<Activations<double>> inputs{
          {batched.x.data() + (b * kSteps + start) * kFeatures, 1, {length, kFeatures}, nullptr}};
      for (Vector& state : batched.initial) inputs.push_back({state.data() + b * kUnits, 1, {kUnits}, nullptr});
      const std::vector<Activations<double>> single = alone.layer.op->forwardAll(inputs, mode, rng);
      expectClose(what + " against the trimmed run", got, single[1 + k].data, kUnits);
    }
    if (!variant.returnSequences || length == 0) continue;
    const std::string sample = "sample " + std::to_string(b);
    if (variant.bidirectional) {
      // Concat: the forward h is the first half of the output at the last valid time, the backward h (the states
      // after the forward ones) the second half of the output at the first valid time.
      const int64_t width = 2 * kUnits, backwardH = 1 + static_cast<int64_t>(batched.initial.size()) / 2;
      expectClose(sample + " forward h against the output at the last valid step", outputs[1].data + b * kUnits,
                  outputs[0].data + (b * kSteps + start + length - 1) * width, kUnits);
      expectClose(sample + " backward h against the output at the first valid step",
                  outputs[backwardH].data + b * kUnits, outputs[0].data + (b * kSteps + start) * width + kUnits, kUnits);
      continue;
    }
    // One-way: the output at the last valid step (processing order for goBackwards) is the returned h.
    const int64_t last = variant.goBackwards ? kSteps - 1 - start : start + length - 1;
    expectClose(sample + " returned h against the output at the last valid step", outputs[1].data + b * kUnits,
                outputs[0].data + (b * kSteps + last) * kUnits, kUnits);
  }
}

// Zero initial states and returnState change nothing in the output; the inference pass gives the gradient pass's
// outputs and states.
void checkAgainstStateless(const CellConfig& cell, const StateVariant& variant) {
  StateCase stateless(cell, variant, false, 51);
  const Activations<double> plain = stateless.forward(false).at(0);
  const Vector expected(plain.data, plain.data + kBatch * shapeSize(plain.shape));
  StateCase withState(cell, variant, true, 51);
  for (Vector& state : withState.initial) std::fill(state.begin(), state.end(), 0.0);
  for (ForwardMode mode : {kGradientPass, kInferencePass}) {
    withState.mode = mode;
    const Activations<double> got = withState.forward().at(0);
    RNNKIT_CHECK(got.shape == plain.shape, "output shape " << shapeToString(got.shape));
    for (size_t i = 0; i < expected.size(); ++i) {
      RNNKIT_CHECK(got.data[i] == expected[i] || std::fabs(got.data[i] - expected[i]) < 1e-12,
                   "output " << i << " with zero initial states is " << got.data[i] << ", without " << expected[i]);
    }
  }
  StateCase taped(cell, variant, true, 61);
  const std::vector<Activations<double>> reference = taped.forward();
  std::vector<Vector> kept;
  for (const Activations<double>& a : reference) kept.emplace_back(a.data, a.data + kBatch * shapeSize(a.shape));
  taped.mode = kInferencePass;
  const std::vector<Activations<double>> inferred = taped.forward();
  RNNKIT_CHECK(inferred.size() == kept.size(), "inference returned " << inferred.size() << " tensors");
  for (size_t k = 0; k < kept.size(); ++k) {
    expectClose("inference output " + std::to_string(k), inferred[k].data, kept[k].data(), kept[k].size());
  }
}

const bool forwardCasesRegistered = [] {
  for (const CellCase& cell : cellCases()) {
    for (const StateVariant& variant : allVariants()) {
      if (variant.merge != MergeMode::Concat) continue;  // the output checks below read the concatenated halves
      for (bool inference : {false, true}) {
        const ForwardMode mode = inference ? kInferencePass : kGradientPass;
        registry().push_back({std::string("recurrent state ") + cell.name + (inference ? " inference" : "") +
                                  " returned states equal trimmed runs: " + variant.describe(),
                              [cell, variant, mode] { checkFinalStates(cell.config, variant, mode); }});
      }
      registry().push_back({std::string("recurrent state ") + cell.name +
                                " zero initial states change nothing, inference equals gradient pass: " +
                                variant.describe(),
                            [cell, variant] { checkAgainstStateless(cell.config, variant); }});
    }
  }
  return true;
}();

void expectInvalid(const std::string& what, const std::function<void()>& body, const std::vector<std::string>& parts) {
  try {
    body();
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    for (const std::string& part : parts) {
      RNNKIT_CHECK(message.find(part) != std::string::npos, what << ": message '" << message << "' lacks '" << part << "'");
    }
    return;
  }
  RNNKIT_CHECK(false, what << ": no std::invalid_argument");
}

RNNKIT_TEST("recurrent state: input count and state shapes are checked, outputs list the states") {
  StateVariant bidirectional{false, false, true};
  RecurrentLayer<double> lstm(bidirectional.config(cellCases()[1].config, true));
  RNNKIT_CHECK(lstm.stateTensors() == 4, "a bidirectional LSTM has " << lstm.stateTensors() << " state tensors");
  const Shape x{kAnyLength, kFeatures}, state{kUnits};
  const std::vector<Shape> shapes = lstm.outputShapes({x, state, state, state, state});
  RNNKIT_CHECK(shapes.size() == 5 && shapes[0] == Shape{2 * kUnits} && shapes[4] == state,
               "output shapes " << shapes.size() << " " << shapeToString(shapes[0]));
  expectInvalid("two states for four", [&] { lstm.outputShapes({x, state, state}); },
                {"Expected 1 input tensor (x) or 5", "received 3"});
  expectInvalid("a wrong state shape", [&] { lstm.outputShapes({x, state, state, Shape{kUnits + 1}, state}); },
                {"initial state 2", "[4]", "received [5]"});
  StateVariant sequences{true, false, false};
  RecurrentLayer<double> gru(sequences.config(cellCases()[2].config, false));
  const std::vector<Shape> single = gru.outputShapes({x, state});
  RNNKIT_CHECK(single.size() == 1 && single[0] == (Shape{kAnyLength, kUnits}), "GRU output " << single.size());
}

// MergeMode::None returns the two halves of what Concat returns as two outputs (forward, backward), then the same
// states, in the gradient and the inference pass.
void checkUnmergedHalves(const CellConfig& cell, bool returnSequences, bool returnState) {
  for (ForwardMode mode : {kGradientPass, kInferencePass}) {
    StateCase concat(cell, StateVariant{returnSequences, false, true, MergeMode::Concat}, returnState, 81);
    StateCase none(cell, StateVariant{returnSequences, false, true, MergeMode::None}, returnState, 81);
    concat.mode = none.mode = mode;
    const std::vector<Activations<double>> merged = concat.forward(), split = none.forward();
    RNNKIT_CHECK(split.size() == merged.size() + 1, "unmerged outputs " << split.size() << " for " << merged.size());
    const int64_t rows = kBatch * (returnSequences ? kSteps : 1);
    for (int k = 0; k < 2; ++k) {
      RNNKIT_CHECK(split[k].shape.back() == kUnits, "unmerged output " << k << " " << shapeToString(split[k].shape));
      for (int64_t r = 0; r < rows; ++r) {
        expectClose("unmerged output " + std::to_string(k) + " row " + std::to_string(r), split[k].data + r * kUnits,
                    merged[0].data + r * 2 * kUnits + k * kUnits, kUnits);
      }
    }
    for (size_t k = 1; k < merged.size(); ++k) {
      expectClose("state " + std::to_string(k - 1), split[k + 1].data, merged[k].data, kBatch * kUnits);
    }
  }
}

RNNKIT_TEST("recurrent state: unmerged bidirectional outputs are the halves of the concatenated one") {
  for (const CellCase& cell : cellCases()) {
    for (bool sequences : {false, true}) {
      for (bool returnState : {false, true}) checkUnmergedHalves(cell.config, sequences, returnState);
    }
  }
}

RNNKIT_TEST("recurrent state: a batch mismatch between x and a state is refused") {
  StateCase test(cellCases()[0].config, StateVariant{}, true, 71);
  test.initial[0].resize((kBatch - 1) * kUnits);
  std::mt19937 rng(7);
  expectInvalid("state batch", [&] {
    test.layer.op->forwardAll({{test.x.data(), kBatch, {kSteps, kFeatures}, nullptr},
                               {test.initial[0].data(), kBatch - 1, {kUnits}, nullptr}},
                              kGradientPass, rng);
  }, {"initial states of 4 samples", "received 3"});
}

}  // namespace
