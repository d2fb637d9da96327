// Recurrent dropout (Keras semantics, ops/recurrent_cell.h) for every cell, float64:
//   * with a fixed mask m (zeros and 1/keep), the cell's states equal a plain-loop reference in which
//     h_{t-1} meets U as h_{t-1} * m (GRU: the blend keeps the unmasked h_{t-1}), rows past their length included;
//   * analytic gradients of L = sum(R_seq * h_1..T) + sum_k sum(R_final[k] * state_k(T)) with respect to every
//     parameter, x and the initial states agree with central differences (tolerance 1e-6);
//   * an all-ones mask reproduces the unmasked cell: states bit-identical, gradients bit-identical for
//     SimpleRNN/LSTM and within 1e-14 for the GRU (its masked path sums the recurrent terms in another order);
//   * the layer op: inference ignores the rate, training draws a fresh mask per call, and with the rng
//     reseeded (so the mask is fixed) the layer's gradients agree with central differences, windows and
//     bidirectional included (the mask is permuted into cell row order consistently in forward and backward),
//     and a sample keeps its mask when other samples' lengths reorder the cell rows.
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cell_test_support.h"
#include "harness.h"
#include "ops/recurrent_layer.h"

namespace {

using namespace rnnkit::tests;
using namespace rnnkit::tests::cells;
using rnnkit::ops::CellKind;
using rnnkit::ops::RecurrentCell;

using AlignedVector = rnnkit::ops::Workspace<double>;

constexpr double kKeep = 0.6;

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

// Inverted-dropout mask [B, H]: 0 or 1/keep, at least one zero and one kept unit (fixed seed).
Vector fixedMask(int64_t size, uint32_t seed) {
  std::mt19937 gen(seed);
  std::bernoulli_distribution keep(kKeep);
  Vector mask(size);
  for (double& m : mask) m = keep(gen) ? 1 / kKeep : 0.0;
  mask[0] = 0.0;
  mask[size - 1] = 1 / kKeep;
  return mask;
}

// (row [n], matrix [n, cols] row-major) -> row * matrix, columns [col0, col0 + width).
Vector rowTimes(const double* row, int64_t n, const Vector& matrix, int64_t cols, int64_t col0, int64_t width) {
  Vector out(width, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < width; ++j) out[j] += row[i] * matrix[i * cols + col0 + j];
  }
  return out;
}

// Plain-loop forward with recurrent dropout, tanh / sigmoid only: states per kind [T+1, B, H].
std::vector<Vector> maskedReference(const CellInputs& in, const Vector& mask) {
  const int64_t T = in.shape.steps, B = in.shape.batch, F = in.shape.inputSize, H = in.shape.hiddenSize;
  const CellKind kind = in.config.kind;
  const int64_t gates = kind == CellKind::Lstm ? 4 : kind == CellKind::Gru ? 3 : 1, G = gates * H;
  const bool resetAfter = in.config.resetAfter;
  const Vector& W = in.params[0];
  const Vector& U = in.params[1];
  const Vector zeroBias(2 * G, 0.0);
  const Vector& bias = in.config.useBias ? in.params[2] : zeroBias;
  std::vector<Vector> states(in.initial.size(), Vector((T + 1) * B * H));
  for (size_t k = 0; k < states.size(); ++k) std::copy(in.initial[k].begin(), in.initial[k].end(), states[k].begin());
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t prev = (t * B + b) * H, next = ((t + 1) * B + b) * H;
      const bool active = in.lengths.empty() || in.lengths[b] > t;
      for (auto& s : states) std::copy(s.begin() + prev, s.begin() + prev + H, s.begin() + next);
      if (!active) continue;
      Vector hm(H);
      for (int64_t j = 0; j < H; ++j) hm[j] = states[0][prev + j] * mask[b * H + j];
      const Vector xw = rowTimes(&in.x[(t * B + b) * F], F, W, G, 0, G);
      if (kind == CellKind::SimpleRnn) {
        const Vector hu = rowTimes(hm.data(), H, U, G, 0, G);
        for (int64_t j = 0; j < H; ++j) states[0][next + j] = std::tanh(xw[j] + hu[j] + bias[j]);
      } else if (kind == CellKind::Lstm) {
        const Vector hu = rowTimes(hm.data(), H, U, G, 0, G);
        for (int64_t j = 0; j < H; ++j) {
          auto z = [&](int gate) { return xw[gate * H + j] + hu[gate * H + j] + bias[gate * H + j]; };
          const double i = sigmoid(z(0)), f = sigmoid(z(1)), g = std::tanh(z(2)), o = sigmoid(z(3));
          const double c = f * states[1][prev + j] + i * g;
          states[1][next + j] = c;
          states[0][next + j] = o * std::tanh(c);
        }
      } else {
        const Vector huZr = rowTimes(hm.data(), H, U, G, 0, 2 * H);
        const double* recurrentBias = resetAfter ? &bias[G] : &zeroBias[0];
        Vector z(H), r(H);
        for (int64_t j = 0; j < H; ++j) {
          z[j] = sigmoid(xw[j] + bias[j] + huZr[j] + recurrentBias[j]);
          r[j] = sigmoid(xw[H + j] + bias[H + j] + huZr[H + j] + recurrentBias[H + j]);
        }
        Vector candidateInput = hm;  // resetBefore: (r * hm) U_h; resetAfter: r * (hm U_h + b_r_h)
        if (!resetAfter) {
          for (int64_t j = 0; j < H; ++j) candidateInput[j] *= r[j];
        }
        const Vector hu = rowTimes(candidateInput.data(), H, U, G, 2 * H, H);
        for (int64_t j = 0; j < H; ++j) {
          const double recurrent = resetAfter ? r[j] * (hu[j] + recurrentBias[2 * H + j]) : hu[j];
          const double hh = std::tanh(xw[2 * H + j] + bias[2 * H + j] + recurrent);
          states[0][next + j] = z[j] * states[0][prev + j] + (1 - z[j]) * hh;  // unmasked h_{t-1}
        }
      }
    }
  }
  return states;
}

struct Variant {
  std::string label;
  CellConfig config;
  CellFactory<double> factory;
};

std::vector<Variant> variants() {
  std::vector<Variant> list;
  CellConfig simple;
  simple.kind = CellKind::SimpleRnn;
  list.push_back({"SimpleRNN", simple, &rnnkit::ops::makeSimpleRnnCell<double>});
  CellConfig lstm;
  lstm.kind = CellKind::Lstm;
  list.push_back({"LSTM", lstm, &rnnkit::ops::makeLstmCell<double>});
  CellConfig gru;
  gru.kind = CellKind::Gru;
  gru.resetAfter = true;
  list.push_back({"GRU resetAfter", gru, &rnnkit::ops::makeGruCell<double>});
  gru.resetAfter = false;
  list.push_back({"GRU resetBefore", gru, &rnnkit::ops::makeGruCell<double>});
  return list;
}

// B = 3 rows of lengths 4, 3, 1 (sorted longest first) over T = 4 steps, so rows stop at different steps.
CellInputs inputsFor(const Variant& v) {
  RandomSpec spec;
  spec.shape = {4, 3, 2, 3};
  spec.lengths = {4, 3, 1};
  spec.seed = 11;
  spec.paramScale = 0.7;
  return randomInputs(v.factory, v.config, spec);
}

// Forward (+ backward when `gradients` is given) of one cell with the given mask.
double runMasked(RecurrentCell<double>& cell, CellInputs& in, const double* mask, const Vector& seqWeights,
                 const std::vector<Vector>& finalWeights, CellRun* gradients) {
  const int64_t stateSize = in.shape.batch * in.shape.hiddenSize;
  const auto params = pointers(in.params);
  const auto initial = pointers(in.initial);
  cell.forward(in.shape, in.x.data(), in.activeRowsOrNull(), params.data(), initial.data(), mask);
  double loss = 0;
  for (int64_t i = 0; i < in.shape.steps * stateSize; ++i) loss += seqWeights[i] * cell.states(0)[stateSize + i];
  for (int k = 0; k < cell.stateCount(); ++k) {
    const double* last = cell.states(k) + in.shape.steps * stateSize;
    for (int64_t i = 0; i < stateSize; ++i) loss += finalWeights[k][i] * last[i];
  }
  if (!gradients) return loss;
  gradients->states.clear();
  for (int k = 0; k < cell.stateCount(); ++k) {
    gradients->states.emplace_back(cell.states(k), cell.states(k) + (in.shape.steps + 1) * stateSize);
  }
  // Aligned outputs: Eigen picks its vectorized path by the destination's alignment, so two runs compare
  // bit for bit only when their buffers are aligned alike.
  std::vector<AlignedVector> dParams, dInitial(cell.stateCount(), AlignedVector(stateSize, -1.0));
  for (const auto& p : in.params) dParams.emplace_back(p.size(), -1.0);
  AlignedVector dx(in.x.size(), -1.0);
  std::vector<double*> dParamPtr, dInitialPtr;
  for (auto& d : dParams) dParamPtr.push_back(d.data());
  for (auto& d : dInitial) dInitialPtr.push_back(d.data());
  const auto finals = pointers(finalWeights);
  cell.backward(params.data(), seqWeights.data(), finals.data(), dParamPtr.data(), dx.data(), dInitialPtr.data());
  gradients->dParams.clear();
  for (const auto& d : dParams) gradients->dParams.emplace_back(d.begin(), d.end());
  gradients->dInitial.clear();
  for (const auto& d : dInitial) gradients->dInitial.emplace_back(d.begin(), d.end());
  gradients->dx.assign(dx.begin(), dx.end());
  return loss;
}

RNNKIT_TEST("recurrent dropout: each cell's masked forward matches the plain-loop reference") {
  for (const Variant& v : variants()) {
    CellInputs in = inputsFor(v);
    const Vector mask = fixedMask(in.shape.batch * in.shape.hiddenSize, 5);
    const auto cell = v.factory(v.config);
    const auto params = pointers(in.params);
    const auto initial = pointers(in.initial);
    cell->forward(in.shape, in.x.data(), in.activeRowsOrNull(), params.data(), initial.data(), mask.data());
    const std::vector<Vector> reference = maskedReference(in, mask);
    const std::vector<Vector> unmasked = maskedReference(in, Vector(mask.size(), 1.0));
    for (int k = 0; k < cell->stateCount(); ++k) {
      const int64_t size = static_cast<int64_t>(reference[k].size());
      const double diff = relativeDifference(cell->states(k), reference[k].data(), size);
      RNNKIT_CHECK(diff < 1e-12, v.label << " state " << k << " differs from the masked reference by " << diff);
      // The mask must matter, or this check would also pass for a cell that ignores it.
      RNNKIT_CHECK(relativeDifference(unmasked[k].data(), reference[k].data(), size) > 1e-3,
                   v.label << ": the mask barely changes state " << k);
    }
  }
}

RNNKIT_TEST("recurrent dropout: gradients with a fixed mask match central differences") {
  for (const Variant& v : variants()) {
    CellInputs in = inputsFor(v);
    const int64_t stateSize = in.shape.batch * in.shape.hiddenSize;
    const Vector mask = fixedMask(stateSize, 5);
    const Vector seqWeights = randomVector(in.shape.steps * stateSize, 91);
    const auto finalWeights = randomFinalWeights(in.initial.size(), stateSize, 92);
    const auto cell = v.factory(v.config);
    CellRun analytic;
    runMasked(*cell, in, mask.data(), seqWeights, finalWeights, &analytic);
    auto loss = [&] { return runMasked(*cell, in, mask.data(), seqWeights, finalWeights, nullptr); };
    static const char* const kNames[] = {"kernel", "recurrentKernel", "bias"};
    for (size_t p = 0; p < in.params.size(); ++p) {
      expectGradient(v.label + " d" + kNames[p], analytic.dParams[p], numericGradient(loss, in.params[p]));
    }
    expectGradient(v.label + " dx", analytic.dx, numericGradient(loss, in.x));
    for (size_t k = 0; k < in.initial.size(); ++k) {
      expectGradient(v.label + " dInitial[" + std::to_string(k) + "]", analytic.dInitial[k],
                     numericGradient(loss, in.initial[k]));
    }
  }
}

RNNKIT_TEST("recurrent dropout: an all-ones mask gives the unmasked results") {
  for (const Variant& v : variants()) {
    CellInputs in = inputsFor(v);
    const int64_t stateSize = in.shape.batch * in.shape.hiddenSize;
    const Vector ones(stateSize, 1.0);
    const Vector seqWeights = randomVector(in.shape.steps * stateSize, 81);
    const auto finalWeights = randomFinalWeights(in.initial.size(), stateSize, 82);
    CellRun masked, plain;
    runMasked(*v.factory(v.config), in, ones.data(), seqWeights, finalWeights, &masked);
    runMasked(*v.factory(v.config), in, nullptr, seqWeights, finalWeights, &plain);
    const bool gru = v.config.kind == CellKind::Gru;
    auto expectSame = [&](const std::string& what, const Vector& a, const Vector& b, bool exact) {
      const double diff = relativeDifference(a.data(), b.data(), static_cast<int64_t>(b.size()));
      RNNKIT_CHECK(a.size() == b.size() && (exact ? a == b : diff < 1e-14),
                   v.label << " " << what << ": all-ones mask differs from no mask by " << diff);
    };
    for (size_t k = 0; k < plain.states.size(); ++k) {
      expectSame("state " + std::to_string(k), masked.states[k], plain.states[k], true);
      expectSame("dInitial " + std::to_string(k), masked.dInitial[k], plain.dInitial[k], !gru);
    }
    for (size_t p = 0; p < plain.dParams.size(); ++p) {
      expectSame("dParams " + std::to_string(p), masked.dParams[p], plain.dParams[p], !gru);
    }
    expectSame("dx", masked.dx, plain.dx, !gru);
  }
}

// A recurrent layer op with recurrent dropout, its own parameter storage and an input batch whose windows
// (lengths 2, 4, 3) make the cell layout reorder the rows.
struct DropoutLayerCase {
  static constexpr int64_t kBatch = 3, kSteps = 4, kFeatures = 2;
  std::unique_ptr<rnnkit::ops::RecurrentLayer<double>> op;
  std::vector<rnnkit::ops::ParamInfo> infos;
  std::vector<Vector> values, grads;
  Vector x = randomVector(kBatch * kSteps * kFeatures, 31);
  rnnkit::ops::SequenceWindows windows;
  Vector outputWeights;

  DropoutLayerCase(const CellConfig& cell, bool bidirectional, double rate) {
    rnnkit::ops::RecurrentLayerConfig config;
    config.cell = cell;
    config.units = 3;
    config.returnSequences = true;
    config.bidirectional = bidirectional;
    config.recurrentDropout = rate;
    op = std::make_unique<rnnkit::ops::RecurrentLayer<double>>(config);
    infos = op->paramInfos({{kSteps, kFeatures}});
    uint32_t seed = 40;
    std::vector<double*> valuePtr, gradPtr;
    for (const auto& info : infos) {
      values.push_back(randomVector(rnnkit::ops::shapeSize(info.shape), ++seed, 0.7));
      grads.emplace_back(values.back().size(), 0.0);
    }
    for (size_t p = 0; p < values.size(); ++p) {
      valuePtr.push_back(values[p].data());
      gradPtr.push_back(grads[p].data());
    }
    op->bind(valuePtr, gradPtr);
    windows.start = {0, 0, 1};
    windows.end = {2, 4, 4};
  }

  // Output of one forward; the rng seed fixes which units drop.
  Vector forward(bool training, uint32_t rngSeed) {
    std::mt19937 rng(rngSeed);
    const auto out = op->forwardAll({{x.data(), kBatch, {kSteps, kFeatures}, &windows}},
                                    training ? rnnkit::ops::kTrainingPass : rnnkit::ops::kInferencePass, rng).at(0);
    const size_t size = kBatch * rnnkit::ops::shapeSize(out.shape);
    if (outputWeights.size() != size) outputWeights = randomVector(size, 4343);
    return Vector(out.data, out.data + size);
  }

  double loss(uint32_t rngSeed) {
    const Vector out = forward(true, rngSeed);
    double sum = 0;
    for (size_t i = 0; i < out.size(); ++i) sum += outputWeights[i] * out[i];
    return sum;
  }
};

RNNKIT_TEST("recurrent dropout layer: inference ignores the rate, training draws a new mask per call") {
  for (const Variant& v : variants()) {
    for (bool bidirectional : {false, true}) {
      DropoutLayerCase dropping(v.config, bidirectional, 0.4), plain(v.config, bidirectional, 0.0);
      const std::string label = v.label + (bidirectional ? " bidirectional" : "");
      RNNKIT_CHECK(dropping.forward(false, 1) == plain.forward(false, 1), label << ": inference depends on the rate");
      RNNKIT_CHECK(dropping.forward(true, 1) == dropping.forward(true, 1), label << ": same seed, different mask");
      RNNKIT_CHECK(dropping.forward(true, 1) != dropping.forward(true, 2), label << ": two seeds, same outputs");
      RNNKIT_CHECK(dropping.forward(true, 1) != plain.forward(true, 1), label << ": training ignores the rate");
    }
  }
}

// The mask follows the sample, not the row: changing sample 0's length reorders the cell rows, yet samples 1 and
// 2 (same windows, same draws) keep their outputs.
RNNKIT_TEST("recurrent dropout layer: a sample's mask does not depend on how lengths sort the rows") {
  for (const Variant& v : variants()) {
    DropoutLayerCase c(v.config, false, 0.4);
    const Vector sorted = c.forward(true, 5);  // lengths 2, 4, 3: sample 0 is the last row
    c.windows.end[0] = 4;                      // lengths 4, 4, 3: sample 0 is the first row
    const Vector resorted = c.forward(true, 5);
    const int64_t perSample = static_cast<int64_t>(sorted.size()) / DropoutLayerCase::kBatch;
    for (int64_t b = 1; b < DropoutLayerCase::kBatch; ++b) {
      const double diff = relativeDifference(&resorted[b * perSample], &sorted[b * perSample], perSample);
      RNNKIT_CHECK(diff < 1e-12, v.label << ": sample " << b << " changed by " << diff << " when rows were reordered");
    }
  }
}

RNNKIT_TEST("recurrent dropout layer: gradients under a fixed draw match central differences") {
  for (const Variant& v : variants()) {
    for (bool bidirectional : {false, true}) {
      DropoutLayerCase c(v.config, bidirectional, 0.4);
      const std::string label = v.label + (bidirectional ? " bidirectional " : " ");
      constexpr uint32_t kSeed = 3;
      c.forward(true, kSeed);
      Vector dx(c.x.size(), 0.0);
      c.op->backwardAll({c.outputWeights.data()}, {dx.data()});
      auto loss = [&c] { return c.loss(kSeed); };
      for (size_t p = 0; p < c.values.size(); ++p) {
        const Vector analytic = c.grads[p];
        expectGradient(label + "d" + c.infos[p].name, analytic, numericGradient(loss, c.values[p]));
      }
      expectGradient(label + "dx", dx, numericGradient(loss, c.x));
    }
  }
}

RNNKIT_TEST("recurrent dropout layer: rates outside [0, 1) are refused") {
  CellConfig cell;
  for (double rate : {-0.1, 1.0, std::nan("")}) {
    rnnkit::ops::RecurrentLayerConfig config;
    config.cell = cell;
    config.units = 2;
    config.recurrentDropout = rate;
    expectInvalidArgument([&] { rnnkit::ops::RecurrentLayer<double> layer(config); }, "recurrentDropout");
  }
}

}  // namespace
