// Layer-level float64 checks of the non-recurrent layer ops through native/ops: DenseLayer on [T, F] inputs (every
// activation, with and without bias), Masking (zeroed steps, windows passed on) and Embedding (table gradients), the
// last two also in front of an LSTM: central-difference gradients of L = sum(R * output) (layer_chain.h).
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "layer_chain.h"

namespace {

using namespace rnnkit::tests::layers;

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
      chain.layers[0].op->forwardAll({{chain.x.data(), kBatch, chain.inputShape, nullptr}}, kInferencePass, rng).at(0);
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
