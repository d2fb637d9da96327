// Outputs compiled without a loss (LossConfig::none, JS loss 'none'): how a stateful model trains over its state
// graph (x, initial h, c) -> (y, final h, c). A train step must update the weights exactly as the same network
// whose state outputs have a loss of weight 0 (no gradient reaches anything from them), report no metrics for them,
// and return their values as predict computes them before the update, also when the batch is split into shards.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "graph_harness.h"

namespace {

using namespace rnnkit::tests::graph;

constexpr int64_t kSteps = 4, kFeatures = 3, kUnits = 5;

// x -> LSTM (initial h, c from inputs 1, 2; returnState) -> out 3, h 4, c 5; dense(out 3) -> y 6. Outputs y, h, c.
GraphSpec stateGraph() {
  LayerSpec rnn = lstm("lstm", kUnits, false);
  rnn.recurrent.returnState = true;
  GraphSpec g;
  g.inputs = {{"x", {kSteps, kFeatures}}, {"h", {kUnits}}, {"c", {kUnits}}};
  g.layers = {rnn, dense("head", 2, Activation::Linear)};
  g.nodes = {{0, {0, 1, 2}, {3, 4, 5}}, {1, {3}, {6}}};
  g.outputs = {6, 4, 5};
  return g;
}

std::vector<float> floats(size_t count, uint32_t seed) {
  const std::vector<double> values = randomVector(count, seed);
  return {values.begin(), values.end()};
}

// Runs one training step of a fresh network (same initial weights: parameter p filled from seed 40 + p) with the
// state outputs' losses given by `stateLoss`; returns the metrics and leaves the weights after the step in `after`,
// the predicted outputs before it in `predicted`.
NetworkMetrics trainOnce(const LossConfig& stateLoss, int64_t batch, std::vector<std::vector<float>>& after,
                              std::vector<std::vector<float>>& predicted) {
  Network network(stateGraph());
  for (size_t p = 0; p < network.params().size(); ++p) {
    const std::vector<float> values = floats(network.params()[p].size, static_cast<uint32_t>(40 + p));
    std::copy(values.begin(), values.end(), network.paramData(p));
  }
  OptimizerConfig sgd;
  sgd.kind = OptimizerKind::Sgd;
  sgd.learningRate = 0.1;
  LossConfig mse;
  mse.loss = Loss::MeanSquaredError;
  network.compile({mse, stateLoss, stateLoss}, sgd);
  const std::vector<float> x = floats(batch * kSteps * kFeatures, 1), h = floats(batch * kUnits, 2),
                           c = floats(batch * kUnits, 3), y = floats(batch * 2, 4);
  const std::vector<float> stateTargets(stateLoss.none ? 0 : batch * kUnits, 0.f);
  NetworkBatch input;
  input.batch = batch;
  input.inputs = {x.data(), h.data(), c.data()};
  input.shapes = {{kSteps, kFeatures}, {kUnits}, {kUnits}};
  input.targets = {y.data(), stateTargets.data(), stateTargets.data()};
  predicted = {std::vector<float>(batch * 2), std::vector<float>(batch * kUnits), std::vector<float>(batch * kUnits)};
  network.predict(input, {predicted[0].data(), predicted[1].data(), predicted[2].data()});
  const NetworkMetrics metrics = network.trainBatch(input, 7);
  after.clear();
  for (size_t p = 0; p < network.params().size(); ++p) {
    after.emplace_back(network.paramData(p), network.paramData(p) + network.params()[p].size);
  }
  return metrics;
}

void checkNoLoss(int threads, int64_t batch) {
  const int previous = Network::threads();
  Network::setThreads(threads);
  LossConfig none, weightZero;
  none.none = true;
  none.weight = 0;
  weightZero.loss = Loss::MeanSquaredError;
  weightZero.weight = 0;
  std::vector<std::vector<float>> withNone, withZero, predicted, unused;
  const NetworkMetrics metrics = trainOnce(none, batch, withNone, predicted);
  const NetworkMetrics reference = trainOnce(weightZero, batch, withZero, unused);
  Network::setThreads(previous);
  const std::string what = std::to_string(threads) + " thread(s), batch " + std::to_string(batch);
  RNNKIT_CHECK(std::fabs(metrics.loss - reference.loss) < 1e-6,
               what << ": total loss " << metrics.loss << " vs " << reference.loss);
  RNNKIT_CHECK(metrics.outputs[1].loss == 0 && metrics.outputs[2].elements == 0, what << ": metrics of a none output");
  for (size_t p = 0; p < withNone.size(); ++p) {
    for (size_t i = 0; i < withNone[p].size(); ++i) {
      RNNKIT_CHECK(withNone[p][i] == withZero[p][i], what << ": param " << p << "[" << i << "] " << withNone[p][i]
                                                          << " vs " << withZero[p][i]);
    }
  }
  RNNKIT_CHECK(metrics.values.size() == 2, what << ": expected the values of 2 outputs, got " << metrics.values.size());
  RNNKIT_CHECK(reference.values.empty(), what << ": outputs with a loss return no values");
  for (size_t v = 0; v < 2; ++v) {
    RNNKIT_CHECK(metrics.values[v].size() == predicted[v + 1].size(), what << ": size of values " << v);
    for (size_t i = 0; i < predicted[v + 1].size(); ++i) {
      RNNKIT_CHECK(std::fabs(metrics.values[v][i] - predicted[v + 1][i]) < 1e-6,
                   what << ": values " << v << "[" << i << "] " << metrics.values[v][i] << " vs predict "
                        << predicted[v + 1][i]);
    }
  }
}

RNNKIT_TEST("network: outputs without a loss send no gradient and return their values (one shard)") {
  checkNoLoss(1, 3);
}

RNNKIT_TEST("network: outputs without a loss return every shard's rows in place (batch split over threads)") {
  checkNoLoss(2, 40);
}

}  // namespace
