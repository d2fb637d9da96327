// infer() checks for RecurrentCell implementations (private helper of the cell tests): the inference pass against the
// cell's own taped forward, over shapes that reach every product path of the stacked inference kernels.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cell_test_support.h"

namespace rnnkit::tests::cells {

// infer() gives forward()'s states: h after every step (hSeq) and every state after the last step (finalStates: h, and
// an LSTM's c), within `tolerance` relative (the LSTM's inference kernel rounds differently at T precision). It runs
// on a cell that has just run forward() (reused workspaces) and on a fresh one.
template <typename T>
void checkInferMatchesForward(CellFactory<T> factory, const CellInputs& in, double tolerance,
                              const std::string& label) {
  const RecurrentShape& shape = in.shape;
  const int64_t stateSize = shape.batch * shape.hiddenSize;
  std::vector<std::vector<T>> params, initial;
  for (const auto& p : in.params) params.push_back(convert<T>(p));
  for (const auto& s : in.initial) initial.push_back(convert<T>(s));
  const std::vector<T> x = convert<T>(in.x);
  const auto paramPtr = pointers(params), initialPtr = pointers(initial);
  const auto reused = factory(in.config);
  reused->forward(shape, x.data(), in.activeRowsOrNull(), paramPtr.data(), initialPtr.data());
  const Vector expected(reused->states(0) + stateSize, reused->states(0) + (shape.steps + 1) * stateSize);
  const int states = reused->stateCount();
  std::vector<Vector> expectedFinal;
  for (int k = 0; k < states; ++k) {
    const T* last = reused->states(k) + shape.steps * stateSize;
    expectedFinal.emplace_back(last, last + stateSize);
  }
  const auto fresh = factory(in.config);
  for (ops::RecurrentCell<T>* cell : {reused.get(), fresh.get()}) {
    const char* which = cell == reused.get() ? " (after a forward)" : " (fresh cell)";
    std::vector<T> hSeq(shape.steps * stateSize, T(-7));
    cell->infer(shape, x.data(), in.activeRowsOrNull(), paramPtr.data(), initialPtr.data(), hSeq.data(), nullptr);
    const Vector gotSeq(hSeq.begin(), hSeq.end());
    const double seqDiff = relativeDifference(gotSeq.data(), expected.data(), shape.steps * stateSize);
    RNNKIT_CHECK(seqDiff <= tolerance, label << which << ": infer hSeq differs from forward by " << seqDiff);
    // Every final state at once, then each alone (the others not wanted: nullptr).
    for (int wanted = -1; wanted < states; ++wanted) {
      std::vector<std::vector<T>> finals(states, std::vector<T>(stateSize, T(-7)));
      std::vector<T*> finalPtr;
      for (int k = 0; k < states; ++k) finalPtr.push_back(wanted < 0 || k == wanted ? finals[k].data() : nullptr);
      cell->infer(shape, x.data(), in.activeRowsOrNull(), paramPtr.data(), initialPtr.data(), nullptr,
                  finalPtr.data());
      for (int k = 0; k < states; ++k) {
        if (!finalPtr[k]) continue;
        const Vector got(finals[k].begin(), finals[k].end());
        const double finalDiff = relativeDifference(got.data(), expectedFinal[k].data(), stateSize);
        RNNKIT_CHECK(finalDiff <= tolerance,
                     label << which << ": infer final state " << k << " differs from forward by " << finalDiff);
      }
    }
  }
}

// checkInferMatchesForward (double within 1e-13, float within 2e-6) for each config, with and without bias, given and
// zero initial states, with and without lengths, over shapes that reach every product path of the stacked inference
// kernels: one row (GEMVs; 12 steps of H+F = 5 also cross the LSTM's one-row input-projection chunks of H+F steps),
// `small` with `smallLengths` (Eigen's coefficient-based product for tiny shapes), and 37 rows of depth 7 + 20 = 27,
// which the row stride pads to 32 (the packed GEMM), lengths 6 down to 1.
inline void checkInferAcrossShapes(CellFactory<double> factory64, CellFactory<float> factory32,
                                   const std::vector<CellConfig>& configs, const RecurrentShape& small,
                                   const std::vector<int32_t>& smallLengths, uint32_t seed) {
  std::vector<int32_t> manyLengths;
  for (int32_t b = 0; b < 37; ++b) manyLengths.push_back(static_cast<int32_t>(6 - b / 7));
  const std::vector<std::pair<RecurrentShape, std::vector<int32_t>>> cases = {
      {{5, 1, 3, 4}, {3}}, {{12, 1, 2, 3}, {9}}, {small, smallLengths}, {{6, 37, 7, 20}, manyLengths}};
  for (const auto& [shape, lengths] : cases) {
    for (CellConfig config : configs) {
      for (bool useBias : {true, false}) {
        config.useBias = useBias;
        for (bool zeroInitial : {false, true}) {
          for (const auto& withLengths : {std::vector<int32_t>{}, lengths}) {
            const CellInputs in = randomInputs<double>(factory64, config, {shape, withLengths, ++seed, 0.5, 1.0,
                                                                           zeroInitial});
            const std::string label =
                "T=" + std::to_string(shape.steps) + " B=" + std::to_string(shape.batch) + " F=" +
                std::to_string(shape.inputSize) + " H=" + std::to_string(shape.hiddenSize) + " " +
                activationName(config.activation) + "/" + activationName(config.recurrentActivation) +
                (useBias ? " bias" : " no bias") + (zeroInitial ? " zero states" : " given states") +
                (withLengths.empty() ? "" : " lengths");
            checkInferMatchesForward(factory64, in, 1e-13, label + " double");
            checkInferMatchesForward(factory32, in, 2e-6, label + " float");
          }
        }
      }
    }
  }
}

}  // namespace rnnkit::tests::cells
