// A merge inside a small graph, float64: two masked sequences (Masking) joined by Concatenate (features) or Add feed
// an LSTM. The LSTM must run on the intersection of the two windows (Keras: the AND of the masks), so a step that is
// valid in one input but masked in the other gets no gradient in either; inside the intersection the gradients of
// both inputs match central differences of L = sum(R * output).
#include <memory>
#include <string>
#include <vector>

#include "layer_chain.h"
#include "ops/merge_layers.h"

namespace {

using namespace rnnkit::tests::layers;

// masked[k][b][t]: step t of sample b of input k equals the mask value -1 (padding).
constexpr bool kMasked[2][kBatch][kSteps] = {
    {{0, 0, 0, 1, 1}, {0, 0, 0, 0, 0}, {1, 1, 0, 0, 0}, {1, 1, 1, 1, 1}},
    {{1, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 0, 1}, {0, 0, 0, 0, 0}}};
// The intersection of the windows: [1, 3), [0, 5), [2, 4), empty.
constexpr int kStart[kBatch] = {1, 0, 2, 0}, kEnd[kBatch] = {3, 5, 4, 0};

struct Graph {
  MaskingLayer<double> mask0{-1.0}, mask1{-1.0};
  std::unique_ptr<LayerOp<double>> merge;
  BoundLayer lstm;
  Vector x[2];
  Vector weights;  // R

  Graph(std::unique_ptr<LayerOp<double>> mergeOp, int64_t mergedFeatures) : merge(std::move(mergeOp)) {
    LayerVariant variant;
    lstm = bindLayer(std::make_unique<RecurrentLayer<double>>(variant.config(cellCases()[1].config)),
                     {kSteps, mergedFeatures}, 60);
    for (int k = 0; k < 2; ++k) {
      x[k] = randomVector(kBatch * kSteps * kFeatures, 61 + k);
      for (int64_t b = 0; b < kBatch; ++b)
        for (int64_t t = 0; t < kSteps; ++t)
          for (int64_t f = 0; f < kFeatures; ++f)
            if (kMasked[k][b][t]) x[k][(b * kSteps + t) * kFeatures + f] = -1.0;
    }
    weights = randomVector(kBatch * kUnits, 63);
  }

  Activations<double> forward() {
    std::mt19937 rng(1);
    const Shape shape{kSteps, kFeatures};
    const Activations<double> m0 = mask0.forward({x[0].data(), kBatch, shape, nullptr}, kGradientPass, rng);
    const Activations<double> m1 = mask1.forward({x[1].data(), kBatch, shape, nullptr}, kGradientPass, rng);
    const Activations<double> merged = merge->forwardAll({m0, m1}, kGradientPass, rng).at(0);
    return lstm.op->forwardAll({merged}, kGradientPass, rng).at(0);
  }

  double loss() {
    const Activations<double> out = forward();
    double sum = 0;
    for (size_t i = 0; i < weights.size(); ++i) sum += weights[i] * out.data[i];
    return sum;
  }

  // Gradients of L with respect to both inputs.
  std::vector<Vector> backward(int64_t mergedFeatures) {
    forward();
    Vector dMerged(kBatch * kSteps * mergedFeatures), dM0(x[0].size()), dM1(x[1].size());
    std::vector<Vector> dx(2, Vector(x[0].size()));
    lstm.op->backwardAll({weights.data()}, {dMerged.data()});
    merge->backwardAll({dMerged.data()}, {dM0.data(), dM1.data()});
    mask0.backward(dM0.data(), dx[0].data());
    mask1.backward(dM1.data(), dx[1].data());
    return dx;
  }
};

void checkGraph(const std::string& what, std::unique_ptr<LayerOp<double>> merge, int64_t mergedFeatures) {
  Graph graph(std::move(merge), mergedFeatures);
  const std::vector<Vector> dx = graph.backward(mergedFeatures);
  for (int k = 0; k < 2; ++k) {
    Vector analytic, numeric;
    bool outsideChecked = false;
    for (int64_t b = 0; b < kBatch; ++b) {
      for (int64_t t = 0; t < kSteps; ++t) {
        for (int64_t f = 0; f < kFeatures; ++f) {
          const size_t i = (b * kSteps + t) * kFeatures + f;
          if (t < kStart[b] || t >= kEnd[b]) {
            // Outside the merged window: skipped by the LSTM, masked or not in this input.
            RNNKIT_CHECK(dx[k][i] == 0, what << ": input " << k << " sample " << b << " step " << t << " outside the "
                                             << "merged window has gradient " << dx[k][i]);
            outsideChecked = outsideChecked || !kMasked[k][b][t];
            continue;
          }
          const double saved = graph.x[k][i];
          graph.x[k][i] = saved + 1e-6;
          const double up = graph.loss();
          graph.x[k][i] = saved - 1e-6;
          const double down = graph.loss();
          graph.x[k][i] = saved;
          analytic.push_back(dx[k][i]);
          numeric.push_back((up - down) / 2e-6);
        }
      }
    }
    RNNKIT_CHECK(outsideChecked, what << ": input " << k << " has an unmasked step outside the merged window");
    expectGradient(what + ": input " + std::to_string(k) + " inside the merged window", analytic, numeric);
  }
}

RNNKIT_TEST("merge graph: masking x2 -> concatenate / add -> LSTM runs on the intersection of the masks") {
  checkGraph("concatenate", std::make_unique<ConcatenateLayer<double>>(-1), 2 * kFeatures);
  checkGraph("add", std::make_unique<ElementwiseMergeLayer<double>>(MergeOperation::Add), kFeatures);
}

}  // namespace
