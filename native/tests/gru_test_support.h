// Private helpers of gru_test.cc: a GRU problem with the loss
//   L = sum(seqWeights * h_1..T) + sum(finalWeights * h_T),
// its analytic gradients through the cell, a plain-loop reference forward (written from the math in
// kernels/gru.h, not from the kernels) and the finite-difference check built on them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "harness.h"
#include "ops/recurrent_cell.h"

namespace rnnkit::tests::gru {

using kernels::Activation;
using kernels::RecurrentShape;
using ops::CellConfig;
using ops::CellKind;
using ops::makeGruCell;
using ops::RecurrentCell;
using Vector = std::vector<double>;

inline CellConfig gruConfig(bool resetAfter, Activation activation = Activation::Tanh,
                            Activation recurrentActivation = Activation::Sigmoid, bool useBias = true) {
  CellConfig config;
  config.kind = CellKind::Gru;
  config.activation = activation;
  config.recurrentActivation = recurrentActivation;
  config.useBias = useBias;
  config.resetAfter = resetAfter;
  return config;
}

struct Problem {
  CellConfig config;
  RecurrentShape shape{};
  std::vector<int32_t> activeRows;                 // empty: nullptr (every row runs every step)
  Vector x, kernel, recurrentKernel, bias, initial;  // bias / initial empty: no bias / nullptr (zeros)
  Vector seqWeights, finalWeights;                 // empty: dhSeq / dFinal is nullptr
};

struct Gradients {
  Vector kernel, recurrentKernel, bias, x, initial;  // x / initial empty: not requested (nullptr)
};

// Lengths 5, 4, 2, 0 (B = 4): activeRows[s] = number of rows with length > s.
inline const int32_t kLengths[4] = {5, 4, 2, 0};

inline Problem randomProblem(const CellConfig& config, const RecurrentShape& shape, uint32_t seed, bool withLengths,
                             bool withInitial, bool seqLoss, bool finalLoss, double weightScale = 0.7) {
  const int64_t B = shape.batch, T = shape.steps, F = shape.inputSize, H = shape.hiddenSize;
  Problem p{config, shape, {}, {}, {}, {}, {}, {}, {}, {}};
  for (int64_t s = 0; s < T && withLengths; ++s) {
    p.activeRows.push_back(int32_t(std::count_if(kLengths, kLengths + 4, [&](int32_t length) { return length > s; })));
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

inline const double* orNull(const Vector& v) { return v.empty() ? nullptr : v.data(); }
inline double* orNull(Vector& v) { return v.empty() ? nullptr : v.data(); }

inline void runForward(RecurrentCell<double>& cell, const Problem& p) {
  const double* params[] = {p.kernel.data(), p.recurrentKernel.data(), orNull(p.bias)};
  const double* initial[] = {orNull(p.initial)};
  cell.forward(p.shape, p.x.data(), p.activeRows.empty() ? nullptr : p.activeRows.data(), params, initial);
}

inline Vector statesOf(const RecurrentCell<double>& cell, const RecurrentShape& shape) {
  const double* h = cell.states(0);
  return Vector(h, h + (shape.steps + 1) * shape.batch * shape.hiddenSize);
}

inline double loss(RecurrentCell<double>& cell, const Problem& p) {
  runForward(cell, p);
  const int64_t BH = p.shape.batch * p.shape.hiddenSize;
  const double* h = cell.states(0);
  double sum = 0;
  for (size_t i = 0; i < p.seqWeights.size(); ++i) sum += p.seqWeights[i] * h[BH + i];
  for (size_t i = 0; i < p.finalWeights.size(); ++i) sum += p.finalWeights[i] * h[p.shape.steps * BH + i];
  return sum;
}

// Forward then backward with dhSeq = seqWeights and dFinal = finalWeights. Outputs start as NaN, so an entry
// the backward fails to overwrite shows up.
inline Gradients analyticGradients(RecurrentCell<double>& cell, const Problem& p, bool wantDx, bool wantInitial) {
  const int64_t F = p.shape.inputSize, H = p.shape.hiddenSize;
  Gradients g{Vector(F * 3 * H, NAN), Vector(H * 3 * H, NAN), Vector(p.bias.size(), NAN), {}, {}};
  if (wantDx) g.x.assign(p.x.size(), NAN);
  if (wantInitial) g.initial.assign(p.shape.batch * H, NAN);
  runForward(cell, p);
  const double* params[] = {p.kernel.data(), p.recurrentKernel.data(), orNull(p.bias)};
  const double* dFinal[] = {orNull(p.finalWeights)};
  double* dParams[] = {g.kernel.data(), g.recurrentKernel.data(), orNull(g.bias)};
  double* dInitial[] = {orNull(g.initial)};
  cell.backward(params, orNull(p.seqWeights), dFinal, dParams, orNull(g.x), dInitial);
  return g;
}

inline double activate(Activation activation, double a) {
  switch (activation) {
    case Activation::Tanh: return std::tanh(a);
    case Activation::Sigmoid: return 1 / (1 + std::exp(-a));
    case Activation::HardSigmoid: return std::min(1.0, std::max(0.0, 0.2 * a + 0.5));
    case Activation::Relu: return std::max(0.0, a);
    default: return a;
  }
}

// True when a central difference around pre-activation `a` could straddle a kink (hardSigmoid +-2.5, relu 0).
inline bool nearKink(Activation activation, double a, double margin) {
  if (activation == Activation::HardSigmoid) return std::min(std::fabs(a - 2.5), std::fabs(a + 2.5)) < margin;
  return activation == Activation::Relu && std::fabs(a) < margin;
}

// One row, one step of the reference: h <- GRU(x, h), checking every pre-activation against the kinks.
inline void referenceStep(const Problem& p, const double* xRow, double* h, double margin) {
  const CellConfig& c = p.config;
  const int64_t F = p.shape.inputSize, H = p.shape.hiddenSize, G = 3 * H;
  const double* W = p.kernel.data();
  const double* U = p.recurrentKernel.data();
  Vector xz(G, 0.0), hz(G, 0.0), gate(2 * H), hNext(H);
  for (int64_t j = 0; j < G; ++j) {
    for (int64_t f = 0; f < F; ++f) xz[j] += xRow[f] * W[f * G + j];
    if (c.useBias) xz[j] += p.bias[j];
    if (c.useBias && c.resetAfter) hz[j] += p.bias[G + j];
    for (int64_t k = 0; k < H && (j < 2 * H || c.resetAfter); ++k) hz[j] += h[k] * U[k * G + j];
  }
  for (int64_t j = 0; j < 2 * H; ++j) {  // z, r
    RNNKIT_CHECK(!nearKink(c.recurrentActivation, xz[j] + hz[j], margin), "gate pre-activation near a kink");
    gate[j] = activate(c.recurrentActivation, xz[j] + hz[j]);
  }
  for (int64_t j = 0; j < H; ++j) {
    double pre = xz[2 * H + j];
    if (c.resetAfter) pre += gate[H + j] * hz[2 * H + j];
    for (int64_t k = 0; k < H && !c.resetAfter; ++k) pre += gate[H + k] * h[k] * U[k * G + 2 * H + j];
    RNNKIT_CHECK(!nearKink(c.activation, pre, margin), "candidate pre-activation " << pre << " near a kink");
    hNext[j] = gate[j] * h[j] + (1 - gate[j]) * activate(c.activation, pre);
  }
  std::copy(hNext.begin(), hNext.end(), h);
}

// Runs the reference forward over the problem and requires the cell's states to match it (1e-12) and every
// pre-activation to stay `margin` away from a kink, so the finite differences below are meaningful.
inline void checkAgainstReference(RecurrentCell<double>& cell, const Problem& p, double margin = 1e-4) {
  const int64_t B = p.shape.batch, F = p.shape.inputSize, H = p.shape.hiddenSize;
  Vector h = p.initial.empty() ? Vector(B * H, 0.0) : p.initial;
  runForward(cell, p);
  for (int64_t s = 0; s < p.shape.steps; ++s) {
    const int64_t active = p.activeRows.empty() ? B : p.activeRows[s];
    for (int64_t b = 0; b < active; ++b) referenceStep(p, &p.x[(s * B + b) * F], &h[b * H], margin);
    const double* cellH = cell.states(0) + (s + 1) * B * H;
    for (int64_t i = 0; i < B * H; ++i) {
      RNNKIT_CHECK(std::fabs(cellH[i] - h[i]) < 1e-12, "state differs from the reference at step " << s);
    }
  }
}

// maxRelativeError lets NaN through (std::max ignores it), so check finiteness first.
inline void expectFinite(const std::string& what, const Vector& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    RNNKIT_CHECK(std::isfinite(values[i]), what << "[" << i << "] = " << values[i]);
  }
}

// Every gradient the problem has against central differences (epsilon 1e-6, tolerance 1e-6).
inline void checkGradients(Problem p, bool wantDx, const std::string& name) {
  auto cell = makeGruCell<double>(p.config);
  checkAgainstReference(*cell, p);
  const Gradients g = analyticGradients(*cell, p, wantDx, !p.initial.empty());
  for (const Vector* grad : {&g.kernel, &g.recurrentKernel, &g.bias, &g.x, &g.initial}) expectFinite(name, *grad);
  auto objective = [&] { return loss(*cell, p); };
  expectGradient(name + " kernel", g.kernel, numericGradient(objective, p.kernel));
  expectGradient(name + " recurrentKernel", g.recurrentKernel, numericGradient(objective, p.recurrentKernel));
  if (!p.bias.empty()) expectGradient(name + " bias", g.bias, numericGradient(objective, p.bias));
  if (wantDx) expectGradient(name + " x", g.x, numericGradient(objective, p.x));
  if (!p.initial.empty()) expectGradient(name + " initial", g.initial, numericGradient(objective, p.initial));
}

}  // namespace rnnkit::tests::gru
