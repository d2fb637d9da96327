// GRU cell checks (float64): finite-difference gradients for every option, hand-worked forward cases,
// float/double agreement, rows past their length, and misuse errors.
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness.h"
#include "ops/recurrent_cell.h"

namespace {

using rnnkit::kernels::Activation;
using rnnkit::kernels::RecurrentShape;
using rnnkit::ops::CellConfig;
using rnnkit::ops::CellKind;
using rnnkit::ops::makeGruCell;
using rnnkit::ops::RecurrentCell;
using namespace rnnkit::tests;

CellConfig gruConfig(bool resetAfter, Activation activation = Activation::Tanh,
                     Activation recurrentActivation = Activation::Sigmoid, bool useBias = true) {
  CellConfig config;
  config.kind = CellKind::Gru;
  config.activation = activation;
  config.recurrentActivation = recurrentActivation;
  config.useBias = useBias;
  config.resetAfter = resetAfter;
  return config;
}

// One cell input plus the loss weights: L = sum(seqWeights * h_1..T) + sum(finalWeights * h_T).
struct Problem {
  CellConfig config;
  RecurrentShape shape{};
  std::vector<int32_t> activeRows;  // empty: nullptr (every row runs every step)
  std::vector<double> x, kernel, recurrentKernel, bias, initial;  // bias/initial empty: absent / nullptr
  std::vector<double> seqWeights, finalWeights;                   // empty: that gradient input is nullptr
};

struct Gradients {
  std::vector<double> kernel, recurrentKernel, bias, x, initial;
};

Problem randomProblem(const CellConfig& config, const RecurrentShape& shape, uint32_t seed, bool withLengths,
                      bool withInitial, bool seqLoss, bool finalLoss, double weightScale = 0.7) {
  const int64_t B = shape.batch, T = shape.steps, F = shape.inputSize, H = shape.hiddenSize;
  Problem p{config, shape, {}, {}, {}, {}, {}, {}, {}, {}};
  if (withLengths) {  // B = 4, lengths 5, 4, 2, 0: activeRows[s] = number of rows with length > s
    const int32_t lengths[] = {5, 4, 2, 0};
    for (int64_t s = 0; s < T; ++s) p.activeRows.push_back(int32_t(std::count_if(lengths, lengths + 4, [&](int32_t l) { return l > s; })));
  }
  p.x = randomVector(T * B * F, seed + 1);
  p.kernel = randomVector(F * 3 * H, seed + 2, weightScale);
  p.recurrentKernel = randomVector(H * 3 * H, seed + 3, weightScale);
  if (config.useBias) p.bias = randomVector((config.resetAfter ? 2 : 1) * 3 * H, seed + 4, 0.5);
  if (withInitial) p.initial = randomVector(B * H, seed + 5, 0.8);
  if (seqLoss) p.seqWeights = randomVector(T * B * H, seed + 6);
  if (finalLoss) p.finalWeights = randomVector(B * H, seed + 7);
  return p;
}

const double* orNull(const std::vector<double>& v) { return v.empty() ? nullptr : v.data(); }
double* orNull(std::vector<double>& v) { return v.empty() ? nullptr : v.data(); }

void runForward(RecurrentCell<double>& cell, const Problem& p) {
  const double* params[] = {p.kernel.data(), p.recurrentKernel.data(), orNull(p.bias)};
  const double* initial[] = {orNull(p.initial)};
  cell.forward(p.shape, p.x.data(), p.activeRows.empty() ? nullptr : p.activeRows.data(), params, initial);
}

double loss(RecurrentCell<double>& cell, const Problem& p) {
  runForward(cell, p);
  const int64_t BH = p.shape.batch * p.shape.hiddenSize;
  const double* h = cell.states(0);
  double sum = 0;
  for (size_t i = 0; i < p.seqWeights.size(); ++i) sum += p.seqWeights[i] * h[BH + i];
  for (size_t i = 0; i < p.finalWeights.size(); ++i) sum += p.finalWeights[i] * h[p.shape.steps * BH + i];
  return sum;
}

// Forward then backward with dhSeq = seqWeights, dFinal = finalWeights (each possibly nullptr).
Gradients analyticGradients(RecurrentCell<double>& cell, const Problem& p, bool wantDx, bool wantInitial) {
  const int64_t F = p.shape.inputSize, H = p.shape.hiddenSize;
  Gradients g{std::vector<double>(F * 3 * H, NAN), std::vector<double>(H * 3 * H, NAN),
              std::vector<double>(p.bias.size(), NAN), {}, {}};
  if (wantDx) g.x.assign(p.x.size(), NAN);  // NaN fill: the backward must overwrite every entry
  if (wantInitial) g.initial.assign(p.shape.batch * H, NAN);
  runForward(cell, p);
  const double* params[] = {p.kernel.data(), p.recurrentKernel.data(), orNull(p.bias)};
  const double* dFinal[] = {orNull(p.finalWeights)};
  double* dParams[] = {g.kernel.data(), g.recurrentKernel.data(), orNull(g.bias)};
  double* dInitial[] = {orNull(g.initial)};
  cell.backward(params, orNull(p.seqWeights), dFinal, dParams, orNull(g.x), dInitial);
  return g;
}

// Scalar activations for the pre-activation kink check below.
double activate(Activation activation, double a) {
  switch (activation) {
    case Activation::Tanh: return std::tanh(a);
    case Activation::Sigmoid: return 1 / (1 + std::exp(-a));
    case Activation::HardSigmoid: return std::min(1.0, std::max(0.0, 0.2 * a + 0.5));
    case Activation::Relu: return std::max(0.0, a);
    default: return a;
  }
}

// Recomputes the gate pre-activations of the active rows with plain loops (the GRU math of gru.h) and
// checks none lies within `margin` of a kink (hardSigmoid +-2.5, relu 0), so central differences never
// straddle one. Also checks the cell's states against this naive forward.
void checkAwayFromKinks(RecurrentCell<double>& cell, const Problem& p, double margin = 1e-4) {
  const int64_t B = p.shape.batch, F = p.shape.inputSize, H = p.shape.hiddenSize, G = 3 * H;
  const CellConfig& c = p.config;
  std::vector<double> h(p.initial.empty() ? std::vector<double>(B * H, 0.0) : p.initial);
  runForward(cell, p);
  auto nearKink = [&](Activation act, double a) {
    return (act == Activation::HardSigmoid && std::min(std::fabs(a - 2.5), std::fabs(a + 2.5)) < margin) ||
           (act == Activation::Relu && std::fabs(a) < margin);
  };
  for (int64_t s = 0; s < p.shape.steps; ++s) {
    const int64_t active = p.activeRows.empty() ? B : p.activeRows[s];
    for (int64_t b = 0; b < active; ++b) {
      std::vector<double> xz(G, 0.0), hz(G, 0.0), gate(2 * H), hNext(H);
      for (int64_t j = 0; j < G; ++j) {
        for (int64_t f = 0; f < F; ++f) xz[j] += p.x[(s * B + b) * F + f] * p.kernel[f * G + j];
        if (c.useBias) xz[j] += p.bias[j] + (c.resetAfter ? p.bias[G + j] * (j < 2 * H) : 0.0);
        for (int64_t k = 0; k < H && (j < 2 * H || c.resetAfter); ++k) hz[j] += h[b * H + k] * p.recurrentKernel[k * G + j];
        if (j >= 2 * H && c.resetAfter && c.useBias) hz[j] += p.bias[G + j];
      }
      for (int64_t j = 0; j < 2 * H; ++j) {
        RNNKIT_CHECK(!nearKink(c.recurrentActivation, xz[j] + hz[j]), "gate pre-activation " << xz[j] + hz[j] << " near a kink");
        gate[j] = activate(c.recurrentActivation, xz[j] + hz[j]);
      }
      for (int64_t j = 0; j < H; ++j) {
        double pre = xz[2 * H + j];
        if (c.resetAfter) pre += gate[H + j] * hz[2 * H + j];
        for (int64_t k = 0; k < H && !c.resetAfter; ++k) pre += gate[H + k] * h[b * H + k] * p.recurrentKernel[k * G + 2 * H + j];
        RNNKIT_CHECK(!nearKink(c.activation, pre), "candidate pre-activation " << pre << " near a kink");
        const double hh = activate(c.activation, pre), z = gate[j];
        hNext[j] = z * h[b * H + j] + (1 - z) * hh;
      }
      std::copy(hNext.begin(), hNext.end(), h.begin() + b * H);
    }
    const double* cellH = cell.states(0) + (s + 1) * B * H;
    for (int64_t i = 0; i < B * H; ++i) RNNKIT_CHECK(std::fabs(cellH[i] - h[i]) < 1e-12, "state differs from the naive forward at step " << s);
  }
}

// Every gradient the variant asks for against central differences (epsilon 1e-6, tolerance 1e-6).
void checkGradients(Problem p, bool wantDx, const std::string& name) {
  auto cell = makeGruCell<double>(p.config);
  checkAwayFromKinks(*cell, p);
  const Gradients g = analyticGradients(*cell, p, wantDx, !p.initial.empty());
  auto objective = [&] { return loss(*cell, p); };
  expectGradient(name + " kernel", g.kernel, numericGradient(objective, p.kernel));
  expectGradient(name + " recurrentKernel", g.recurrentKernel, numericGradient(objective, p.recurrentKernel));
  if (!p.bias.empty()) expectGradient(name + " bias", g.bias, numericGradient(objective, p.bias));
  if (wantDx) expectGradient(name + " x", g.x, numericGradient(objective, p.x));
  if (!p.initial.empty()) expectGradient(name + " initial", g.initial, numericGradient(objective, p.initial));
}

// All 24 variants of bias x loss terms x initial state x lengths for one (form, activation, gates) triple.
void checkAllVariants(bool resetAfter, Activation activation, Activation recurrentActivation, uint32_t seed) {
  int variant = 0;
  for (bool useBias : {true, false}) {
    for (int terms : {0, 1, 2}) {  // dhSeq only, dFinal only, both
      for (bool withInitial : {false, true}) {
        for (bool withLengths : {false, true}) {
          const RecurrentShape shape = withLengths ? RecurrentShape{5, 4, 3, 3} : RecurrentShape{3, 2, 3, 4};
          const CellConfig config = gruConfig(resetAfter, activation, recurrentActivation, useBias);
          const Problem p = randomProblem(config, shape, seed + 100 * variant, withLengths, withInitial, terms != 1, terms != 0);
          const bool wantDx = withInitial || terms != 2;  // also exercise dx == nullptr
          const std::string name = std::string("bias=") + (useBias ? "1" : "0") + " terms=" + "SFB"[terms] +
                                   " initial=" + (withInitial ? "1" : "0") + " lengths=" + (withLengths ? "1" : "0");
          checkGradients(p, wantDx, name);
          ++variant;
        }
      }
    }
  }
}

#define GRU_GRADIENT_TEST(form, resetAfter, act, rec, seed)                                    \
  RNNKIT_TEST("gru " form " gradients: " #act " / " #rec " x all variants") {                  \
    checkAllVariants(resetAfter, Activation::act, Activation::rec, seed);                      \
  }

GRU_GRADIENT_TEST("resetAfter", true, Tanh, Sigmoid, 1000)
GRU_GRADIENT_TEST("resetAfter", true, Tanh, HardSigmoid, 2000)
GRU_GRADIENT_TEST("resetAfter", true, Relu, Sigmoid, 3000)
GRU_GRADIENT_TEST("resetAfter", true, Relu, HardSigmoid, 4000)
GRU_GRADIENT_TEST("resetAfter", true, Linear, Sigmoid, 5000)
GRU_GRADIENT_TEST("resetAfter", true, Linear, HardSigmoid, 6000)
GRU_GRADIENT_TEST("resetAfter", true, Sigmoid, Sigmoid, 7000)
GRU_GRADIENT_TEST("resetAfter", true, Sigmoid, HardSigmoid, 8000)
GRU_GRADIENT_TEST("resetBefore", false, Tanh, Sigmoid, 11000)
GRU_GRADIENT_TEST("resetBefore", false, Tanh, HardSigmoid, 12000)
GRU_GRADIENT_TEST("resetBefore", false, Relu, Sigmoid, 13000)
GRU_GRADIENT_TEST("resetBefore", false, Relu, HardSigmoid, 14000)
GRU_GRADIENT_TEST("resetBefore", false, Linear, Sigmoid, 15000)
GRU_GRADIENT_TEST("resetBefore", false, Linear, HardSigmoid, 16000)
GRU_GRADIENT_TEST("resetBefore", false, Sigmoid, Sigmoid, 17000)
GRU_GRADIENT_TEST("resetBefore", false, Sigmoid, HardSigmoid, 18000)

}  // namespace
