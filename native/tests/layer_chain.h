// Layer chains for the layer-op checks (private helper of recurrent_layer_test.cc and basic_layers_test.cc): layer ops
// bound to their own parameter storage, a chain of them with a fixed random output weighting R, the loss
// L = sum(R * output), its analytic gradients, and the central-difference check of every gradient; plus the cell
// cases and recurrent layer variants both files build chains from.
#pragma once

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

namespace rnnkit::tests::layers {

using namespace rnnkit::ops;
using rnnkit::tests::expectGradient;
using rnnkit::tests::numericGradient;
using rnnkit::tests::randomVector;
using rnnkit::tests::registry;
using Vector = std::vector<double>;

constexpr int64_t kBatch = 4, kSteps = 5, kFeatures = 3, kUnits = 4;

// One window per kind of sample: post-padding, pre-padding, zero-length, full length. Lengths 3, 3, 0, 5 make
// the cell layout reorder the rows (full first), so a row/sample mix-up shows.
inline SequenceWindows mixedWindows() {
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

inline BoundLayer bindLayer(std::unique_ptr<LayerOp<double>> op, const Shape& inputShape, uint32_t seed) {
  BoundLayer layer{std::move(op), {}, {}, {}};
  layer.infos = layer.op->paramInfos({inputShape});
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
      a = layer.op->forwardAll({a}, mode, rng).at(0);
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
      layers[i].op->backwardAll({dOutput.data()}, {wantInput ? dInput.data() : nullptr});
      dOutput.swap(dInput);
    }
    return dOutput;
  }
};

// Every parameter gradient, and the input gradient at `inputEntries` (every entry when empty; none when
// !checkInput), against central differences (eps 1e-6, tolerance 1e-6 of the gradient's largest entry).
// `prefix` goes before the gradient names in failure messages.
inline void checkChainGradients(const std::string& prefix, Chain& chain, bool checkInput,
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

inline const std::vector<CellCase>& cellCases() {
  static const std::vector<CellCase> cases = {
      {"SimpleRNN", {CellKind::SimpleRnn, Activation::Tanh, Activation::Sigmoid, true, true}},
      {"LSTM", {CellKind::Lstm, Activation::Tanh, Activation::Sigmoid, true, true}},
      {"GRU resetAfter", {CellKind::Gru, Activation::Tanh, Activation::Sigmoid, true, true}},
      {"GRU resetBefore", {CellKind::Gru, Activation::Tanh, Activation::Sigmoid, true, false}},
  };
  return cases;
}

inline const char* mergeName(MergeMode mode) {
  switch (mode) {
    case MergeMode::Concat: return "concat";
    case MergeMode::Sum: return "sum";
    case MergeMode::Mul: return "mul";
    case MergeMode::Ave: return "ave";
    case MergeMode::None: return "none";
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

inline Chain recurrentChain(const CellConfig& cell, const LayerVariant& variant, const SequenceWindows* windows,
                     uint32_t seed) {
  Chain chain;
  chain.inputShape = {kSteps, kFeatures};
  chain.windows = windows;
  chain.x = randomVector(kBatch * kSteps * kFeatures, seed);
  chain.layers.push_back(
      bindLayer(std::make_unique<RecurrentLayer<double>>(variant.config(cell)), chain.inputShape, seed + 100));
  return chain;
}

}  // namespace rnnkit::tests::layers
