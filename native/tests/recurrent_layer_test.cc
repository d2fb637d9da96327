// Layer-level float64 checks through native/ops (the layer ops the network chains, not the bare cells):
//   * central-difference gradients of L = sum(R * output) (R: fixed random weights shaped like the output) with
//     respect to every parameter and the input, for RecurrentLayer over each cell (SimpleRNN, LSTM, GRU in both
//     reset forms) x returnSequences x goBackwards x sequence windows, and bidirectional with each merge mode;
//     DenseLayer on [T, F] inputs; Masking and Embedding in front of a recurrent layer;
//   * masked output positions are exactly 0, and every sample's outputs (final state included) equal those of
//     its trimmed sequence run alone, so padding never leaks into results.
#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "harness.h"
#include "ops/basic_layers.h"
#include "ops/recurrent_layer.h"

namespace {

using namespace rnnkit::ops;
using rnnkit::tests::expectGradient;
using rnnkit::tests::numericGradient;
using rnnkit::tests::randomVector;
using rnnkit::tests::registry;
using Vector = std::vector<double>;

constexpr int64_t kBatch = 4, kSteps = 5, kFeatures = 3, kUnits = 4;

// One window per kind of sample: post-padding, pre-padding, zero-length, full length. Lengths 3, 3, 0, 5 make
// the cell layout reorder the rows (full first), so a row/sample mix-up shows.
SequenceWindows mixedWindows() {
  SequenceWindows windows;
  windows.start = {0, 2, 0, 0};
  windows.end = {3, 5, 0, static_cast<int32_t>(kSteps)};
  return windows;
}

// A layer op with its own parameter and gradient storage (the network keeps these in one flat store).
struct BoundLayer {
  std::unique_ptr<LayerOp<double>> op;
  std::vector<ParamInfo> infos;
  std::vector<Vector> values, grads;
};

BoundLayer bindLayer(std::unique_ptr<LayerOp<double>> op, const Shape& inputShape, uint32_t seed) {
  BoundLayer layer{std::move(op), {}, {}, {}};
  layer.infos = layer.op->params(inputShape);
  for (const ParamInfo& info : layer.infos) {
    layer.values.push_back(randomVector(shapeSize(info.shape), ++seed, 0.5));
    layer.grads.emplace_back(shapeSize(info.shape), 0.0);
  }
  std::vector<double*> values, grads;
  for (size_t p = 0; p < layer.values.size(); ++p) {
    values.push_back(layer.values[p].data());
    grads.push_back(layer.grads[p].data());
  }
  layer.op->bind(values, grads);
  return layer;
}

// A chain of layers, an input batch and the fixed output weights R of the loss.
struct Chain {
  std::vector<BoundLayer> layers;
  Vector x;
  int64_t batch = kBatch;
  Shape inputShape;
  const SequenceWindows* windows = nullptr;
  Vector outputWeights;  // R, drawn at the first forward
  ForwardMode mode = kGradientPass;
  std::vector<Shape> shapes;  // shapes[i]: per-sample input of layer i (filled by forward)

  Activations<double> forward() {
    std::mt19937 rng(7);  // unused: no dropout in a gradient pass, so every layer is deterministic
    Activations<double> a{x.data(), batch, inputShape, windows};
    shapes.clear();
    for (BoundLayer& layer : layers) {
      shapes.push_back(a.shape);
      a = layer.op->forward(a, mode, rng);
    }
    const size_t size = batch * shapeSize(a.shape);
    if (outputWeights.size() != size) outputWeights = randomVector(size, 4242);
    return a;
  }

  double loss() {
    const Activations<double> out = forward();
    double sum = 0;
    for (size_t i = 0; i < outputWeights.size(); ++i) sum += outputWeights[i] * out.data[i];
    return sum;
  }

  // Analytic gradients: fills every layer's grads and returns dL/dx (empty when the first layer takes ids).
  Vector backward(bool wantInputGradient) {
    forward();
    Vector dOutput = outputWeights, dInput;
    for (size_t i = layers.size(); i-- > 0;) {
      const bool wantInput = i > 0 || wantInputGradient;
      dInput.assign(wantInput ? batch * shapeSize(shapes[i]) : 0, 0.0);
      layers[i].op->backward(dOutput.data(), wantInput ? dInput.data() : nullptr);
      dOutput.swap(dInput);
    }
    return dOutput;
  }
};

// Every parameter gradient, and the input gradient at `inputEntries` (every entry when empty; none when
// !checkInput), against central differences (eps 1e-6, tolerance 1e-6 of the gradient's largest entry).
// `prefix` goes before the gradient names in failure messages.
void checkChainGradients(const std::string& prefix, Chain& chain, bool checkInput,
                         std::vector<size_t> inputEntries = {}) {
  const Vector dx = chain.backward(checkInput);
  auto loss = [&chain] { return chain.loss(); };
  for (BoundLayer& layer : chain.layers) {
    for (size_t p = 0; p < layer.values.size(); ++p) {
      const Vector analytic = layer.grads[p];
      expectGradient(prefix + "d" + layer.infos[p].name, analytic, numericGradient(loss, layer.values[p], 1e-6));
    }
  }
  if (!checkInput) return;
  if (inputEntries.empty()) {
    inputEntries.resize(chain.x.size());
    std::iota(inputEntries.begin(), inputEntries.end(), size_t(0));
  }
  Vector analytic, numeric;
  for (size_t i : inputEntries) {
    const double saved = chain.x[i];
    chain.x[i] = saved + 1e-6;
    const double up = chain.loss();
    chain.x[i] = saved - 1e-6;
    const double down = chain.loss();
    chain.x[i] = saved;
    analytic.push_back(dx[i]);
    numeric.push_back((up - down) / 2e-6);
  }
  expectGradient(prefix + "dx", analytic, numeric, 1e-6);
}

struct CellCase {
  const char* name;
  CellConfig config;
};

const std::vector<CellCase>& cellCases() {
  static const std::vector<CellCase> cases = {
      {"SimpleRNN", {CellKind::SimpleRnn, Activation::Tanh, Activation::Sigmoid, true, true}},
      {"LSTM", {CellKind::Lstm, Activation::Tanh, Activation::Sigmoid, true, true}},
      {"GRU resetAfter", {CellKind::Gru, Activation::Tanh, Activation::Sigmoid, true, true}},
      {"GRU resetBefore", {CellKind::Gru, Activation::Tanh, Activation::Sigmoid, true, false}},
  };
  return cases;
}

const char* mergeName(MergeMode mode) {
  switch (mode) {
    case MergeMode::Concat: return "concat";
    case MergeMode::Sum: return "sum";
    case MergeMode::Mul: return "mul";
    case MergeMode::Ave: return "ave";
  }
  return "?";
}

struct LayerVariant {
  bool returnSequences = false, goBackwards = false, windowed = false, bidirectional = false;
  MergeMode merge = MergeMode::Concat;

  std::string describe() const {
    std::string text = bidirectional ? std::string("bidirectional ") + mergeName(merge) : "one-way";
    text += returnSequences ? ", sequences" : ", final";
    if (goBackwards) text += ", goBackwards";
    if (windowed) text += ", windows";
    return text;
  }
  RecurrentLayerConfig config(const CellConfig& cell) const {
    RecurrentLayerConfig config;
    config.cell = cell;
    config.units = kUnits;
    config.returnSequences = returnSequences;
    config.goBackwards = goBackwards;
    config.bidirectional = bidirectional;
    config.mergeMode = merge;
    return config;
  }
};

Chain recurrentChain(const CellConfig& cell, const LayerVariant& variant, const SequenceWindows* windows,
                     uint32_t seed) {
  Chain chain;
  chain.inputShape = {kSteps, kFeatures};
  chain.windows = windows;
  chain.x = randomVector(kBatch * kSteps * kFeatures, seed);
  chain.layers.push_back(
      bindLayer(std::make_unique<RecurrentLayer<double>>(variant.config(cell)), chain.inputShape, seed + 100));
  return chain;
}

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
      const Activations<double> single = alone.forward({trimmedX.data(), 1, {length, kFeatures}, nullptr}, mode, rng);
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

// The inference pass (predict, evaluate; the LSTM's own kernel, the other cells' forward) gives the gradient pass's
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
          chain.layers[0].op->backward(dOutput.data(), nullptr);
        } catch (const std::logic_error&) {
          refused = true;
        }
        RNNKIT_CHECK(refused, "backward after an inference pass was not refused");
      }});
    }
  }
  return true;
}();

RNNKIT_TEST("dense layer on [T, F] inputs: gradients for each activation, with and without bias") {
  const std::pair<Activation, const char*> activations[] = {
      {Activation::Linear, "linear"}, {Activation::Tanh, "tanh"}, {Activation::Sigmoid, "sigmoid"},
      {Activation::Softmax, "softmax"}};
  for (const auto& [activation, activationName] : activations) {
    for (bool useBias : {true, false}) {
      DenseConfig config;
      config.units = 5;
      config.activation = activation;
      config.useBias = useBias;
      Chain chain;
      chain.batch = 3;
      chain.inputShape = {kSteps, kFeatures};
      chain.x = randomVector(chain.batch * kSteps * kFeatures, 31);
      chain.layers.push_back(bindLayer(std::make_unique<DenseLayer<double>>(config), chain.inputShape, 32));
      const Activations<double> out = chain.forward();
      RNNKIT_CHECK(out.shape == Shape({kSteps, 5}), "dense on [T, F] gives " << shapeToString(out.shape));
      checkChainGradients(std::string(activationName) + (useBias ? " with bias: " : " without bias: "), chain, true);
    }
  }
}

// Masking(-1) in front of an LSTM: sample 0 post-padded, 1 pre-padded, 2 all masked, 3 masked at step 2 only
// (inside its window: kept as an ordinary step with a zero input).
Chain maskedLstmChain(bool returnSequences, std::vector<size_t>& unmaskedEntries) {
  Chain chain;
  chain.inputShape = {kSteps, kFeatures};
  chain.x = randomVector(kBatch * kSteps * kFeatures, 41);
  const bool masked[kBatch][kSteps] = {{0, 0, 0, 1, 1}, {1, 1, 0, 0, 0}, {1, 1, 1, 1, 1}, {0, 0, 1, 0, 0}};
  for (int64_t b = 0; b < kBatch; ++b) {
    for (int64_t t = 0; t < kSteps; ++t) {
      for (int64_t f = 0; f < kFeatures; ++f) {
        const size_t i = (b * kSteps + t) * kFeatures + f;
        if (masked[b][t]) chain.x[i] = -1.0;
        else unmaskedEntries.push_back(i);
      }
    }
  }
  chain.layers.push_back(bindLayer(std::make_unique<MaskingLayer<double>>(-1.0), chain.inputShape, 0));
  LayerVariant variant;
  variant.returnSequences = returnSequences;
  chain.layers.push_back(bindLayer(std::make_unique<RecurrentLayer<double>>(variant.config(cellCases()[1].config)),
                                   chain.inputShape, 42));
  return chain;
}

RNNKIT_TEST("masking layer: zeroes masked steps and passes each sample's window on") {
  std::vector<size_t> unmasked;
  Chain chain = maskedLstmChain(false, unmasked);
  std::mt19937 rng(7);
  const Activations<double> out =
      chain.layers[0].op->forward({chain.x.data(), kBatch, chain.inputShape, nullptr}, kInferencePass, rng);
  RNNKIT_CHECK(out.windows != nullptr, "masking must attach sequence windows");
  const std::vector<int32_t> start = {0, 2, 0, 0}, end = {3, 5, 0, 5};
  RNNKIT_CHECK(out.windows->start == start && out.windows->end == end, "masking windows differ from the expected");
  size_t next = 0;
  for (size_t i = 0; i < chain.x.size(); ++i) {
    const bool kept = next < unmasked.size() && unmasked[next] == i;
    if (kept) ++next;
    RNNKIT_CHECK(out.data[i] == (kept ? chain.x[i] : 0.0), "masking output entry " << i << " is " << out.data[i]);
  }
}

RNNKIT_TEST("masking + LSTM: parameter gradients, input gradients at unmasked steps, zero at masked steps") {
  for (bool sequences : {false, true}) {
    std::vector<size_t> unmasked;
    Chain chain = maskedLstmChain(sequences, unmasked);
    const std::string label = std::string("masking + LSTM ") + (sequences ? "sequences" : "final");
    checkChainGradients(label + ": ", chain, true, unmasked);
    const Vector dx = chain.backward(true);
    size_t next = 0;
    for (size_t i = 0; i < dx.size(); ++i) {
      if (next < unmasked.size() && unmasked[next] == i) {
        ++next;
        continue;
      }
      RNNKIT_CHECK(dx[i] == 0.0, label << ": gradient at masked input entry " << i << " is " << dx[i]);
    }
  }
}

Chain embeddingChain(bool maskZero, bool withLstm, const std::vector<double>& ids) {
  Chain chain;
  chain.inputShape = {kSteps};
  chain.x = ids;
  EmbeddingConfig config;
  config.inputDim = 6;
  config.outputDim = kFeatures;
  config.maskZero = maskZero;
  chain.layers.push_back(bindLayer(std::make_unique<EmbeddingLayer<double>>(config), chain.inputShape, 51));
  if (withLstm) {
    LayerVariant variant;
    chain.layers.push_back(bindLayer(std::make_unique<RecurrentLayer<double>>(variant.config(cellCases()[1].config)),
                                     {kSteps, kFeatures}, 52));
  }
  return chain;
}

RNNKIT_TEST("embedding layer: table gradients alone and in front of an LSTM") {
  // Every id of 0..5 appears, some several times (their gradients add up).
  const std::vector<double> ids = {1, 2, 3, 2, 0, 5, 4, 4, 1, 0, 3, 3, 3, 5, 2, 0, 1, 2, 4, 5};
  Chain alone = embeddingChain(false, false, ids);
  checkChainGradients("embedding alone: ", alone, false);
  Chain withLstm = embeddingChain(false, true, ids);
  checkChainGradients("embedding + LSTM: ", withLstm, false);
}

RNNKIT_TEST("embedding maskZero + LSTM: table gradients with post-, pre- and inner padding") {
  // Sample 0 post-padded, 1 pre-padded, 2 all padding, 3 holds a 0 inside its window (an ordinary step there).
  const std::vector<double> ids = {3, 1, 2, 0, 0, 0, 0, 4, 5, 1, 0, 0, 0, 0, 0, 2, 0, 3, 5, 4};
  Chain chain = embeddingChain(true, true, ids);
  checkChainGradients("", chain, false);
}

}  // namespace
