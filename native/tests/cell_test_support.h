// Cell-independent checks for RecurrentCell implementations (private helper of lstm_test.cc and
// simple_rnn_test.cc): random inputs, the finite-difference gradient check of
//   L = sum(R_seq * h_1..T) + sum_k sum(R_final[k] * state_k(T)),
// the per-row decomposition check for rows past their length, and float-versus-double agreement.
// Each test file supplies a plain-loop reference forward written independently of the kernels.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <utility>
#include <string>
#include <vector>

#include "ops/errors.h"
#include "harness.h"
#include "ops/recurrent_cell.h"

namespace rnnkit::tests::cells {

using kernels::Activation;
using kernels::RecurrentShape;
using ops::CellConfig;
using Vector = std::vector<double>;

template <typename T>
using CellFactory = std::unique_ptr<ops::RecurrentCell<T>> (*)(const CellConfig&);

// Everything one forward pass reads. States that are "not given" are zeros here.
struct CellInputs {
  CellConfig config;
  RecurrentShape shape{};
  std::vector<Vector> params;      // paramShapes order
  Vector x;                        // [T, B, F]
  std::vector<Vector> initial;     // per state [B, H]
  std::vector<int32_t> lengths;    // per row, sorted longest first; empty = every row runs every step
  std::vector<int32_t> activeRows; // derived from lengths
  const int32_t* activeRowsOrNull() const { return activeRows.empty() ? nullptr : activeRows.data(); }
};

struct ReferenceResult {
  std::vector<Vector> states;  // per state [T+1, B, H]
  double kinkMargin = std::numeric_limits<double>::infinity();  // closest pre-activation to a kink
  int64_t saturatedHardSigmoid = 0;  // hardSigmoid evaluations at |z| > 2.5, where its derivative is 0
};
using Reference = std::function<ReferenceResult(const CellInputs&)>;

// Scalar activation for the references, written out rather than taken from kernels/activations.h.
inline double activate(Activation activation, double z, ReferenceResult& result) {
  switch (activation) {
    case Activation::Tanh: return std::tanh(z);
    case Activation::Sigmoid: return 1 / (1 + std::exp(-z));
    case Activation::HardSigmoid:
      result.kinkMargin = std::min({result.kinkMargin, std::fabs(z - 2.5), std::fabs(z + 2.5)});
      if (std::fabs(z) > 2.5) ++result.saturatedHardSigmoid;
      return std::min(1.0, std::max(0.0, 0.2 * z + 0.5));
    case Activation::Relu:
      result.kinkMargin = std::min(result.kinkMargin, std::fabs(z));
      return std::max(0.0, z);
    default: return z;
  }
}

inline const char* activationName(Activation activation) {
  switch (activation) {
    case Activation::Linear: return "linear";
    case Activation::Tanh: return "tanh";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::HardSigmoid: return "hardSigmoid";
    case Activation::Relu: return "relu";
    default: return "?";
  }
}

// activeRows[s] = number of rows whose length exceeds s (rows sorted longest first).
inline std::vector<int32_t> activeRowsFromLengths(const std::vector<int32_t>& lengths, int64_t steps) {
  std::vector<int32_t> active;
  if (lengths.empty()) return active;
  for (int64_t s = 0; s < steps; ++s) {
    active.push_back(static_cast<int32_t>(
        std::count_if(lengths.begin(), lengths.end(), [s](int32_t length) { return length > s; })));
  }
  return active;
}

inline int64_t count(const std::vector<int64_t>& dims) {
  int64_t size = 1;
  for (int64_t d : dims) size *= d;
  return size;
}

// How to draw random inputs: uniform parameters in [-paramScale, paramScale], x in [-inputScale, inputScale],
// initial states in [-0.8, 0.8] (or zeros).
struct RandomSpec {
  RecurrentShape shape{};
  std::vector<int32_t> lengths;  // empty: no activeRows
  uint32_t seed = 1;
  double paramScale = 0.5;
  double inputScale = 1.0;
  bool zeroInitial = false;
};

template <typename T>
CellInputs randomInputs(CellFactory<T> factory, const CellConfig& config, const RandomSpec& spec) {
  const RecurrentShape& shape = spec.shape;
  CellInputs in;
  in.config = config;
  in.shape = shape;
  const auto cell = factory(config);
  uint32_t next = spec.seed;
  for (const auto& dims : cell->paramShapes(shape.inputSize, shape.hiddenSize)) {
    in.params.push_back(randomVector(count(dims), ++next, spec.paramScale));
  }
  in.x = randomVector(shape.steps * shape.batch * shape.inputSize, ++next, spec.inputScale);
  for (int k = 0; k < cell->stateCount(); ++k) {
    in.initial.push_back(randomVector(shape.batch * shape.hiddenSize, ++next, spec.zeroInitial ? 0.0 : 0.8));
  }
  in.lengths = spec.lengths;
  in.activeRows = activeRowsFromLengths(spec.lengths, shape.steps);
  return in;
}

// Random inputs whose pre-activations all stay >= 1e-4 from the kinks of relu / hardSigmoid (a +-1e-6 step
// then never crosses one), that saturate hardSigmoid at least once when it is configured, and whose states are
// not all zero at any step (a relu layer dead at some step cuts every gradient path and makes checks vacuous).
template <typename T>
CellInputs kinkFreeInputs(CellFactory<T> factory, const Reference& reference, const CellConfig& config,
                          RandomSpec spec) {
  const RecurrentShape& shape = spec.shape;
  const uint32_t firstSeed = spec.seed;
  const bool gated = config.kind != ops::CellKind::SimpleRnn;
  const bool hardSigmoid = config.activation == Activation::HardSigmoid ||
                           (gated && config.recurrentActivation == Activation::HardSigmoid);
  for (uint32_t attempt = 0; attempt < 50; ++attempt) {
    spec.seed = firstSeed + 1000 * attempt;
    CellInputs in = randomInputs(factory, config, spec);
    const ReferenceResult ref = reference(in);
    const int64_t stateSize = shape.batch * shape.hiddenSize;
    bool alive = true;
    for (const Vector& state : ref.states) {
      for (int64_t s = 1; s <= shape.steps; ++s) {
        const auto first = state.begin() + s * stateSize;
        alive = alive && *std::max_element(first, first + stateSize, [](double a, double b) {
          return std::fabs(a) < std::fabs(b);
        }) != 0.0;
      }
    }
    if (ref.kinkMargin > 1e-4 && (!hardSigmoid || ref.saturatedHardSigmoid > 0) && alive) return in;
  }
  throw Failure("no kink-free random inputs found in 50 seeds");
}

// max |a - b| / max |b| over the arrays (0 when both are all zero).
inline double relativeDifference(const double* a, const double* b, int64_t size) {
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < size; ++i) {
    worst = std::max(worst, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  return scale == 0 ? worst : worst / scale;
}

template <typename T>
std::vector<const T*> pointers(const std::vector<std::vector<T>>& arrays) {
  std::vector<const T*> result;
  for (const auto& a : arrays) result.push_back(a.data());
  return result;
}

template <typename T>
std::vector<T*> mutablePointers(std::vector<std::vector<T>>& arrays) {
  std::vector<T*> result;
  for (auto& a : arrays) result.push_back(a.data());
  return result;
}

// Which parts of the loss exist and which initial states are passed / differentiated.
struct GradientOptions {
  bool givenInitial = true;
  bool sequenceLoss = true;
  std::vector<bool> finalLoss;     // per state; empty = every state
  std::vector<bool> wantDInitial;  // per state; empty = every state
  bool wantDx = true;
};

inline bool flag(const std::vector<bool>& flags, int k) { return flags.empty() || flags[k]; }

// Forward the reference states agree with, analytic gradients (backward) against central differences.
inline void checkGradients(CellFactory<double> factory, const Reference& reference, CellInputs in,
                           const GradientOptions& options, const std::string& label) {
  const RecurrentShape& shape = in.shape;
  const auto cell = factory(in.config);
  const int states = cell->stateCount();
  const int64_t stateSize = shape.batch * shape.hiddenSize;
  const Vector seqWeights = randomVector(shape.steps * stateSize, 91);
  std::vector<Vector> finalWeights;
  for (int k = 0; k < states; ++k) finalWeights.push_back(randomVector(stateSize, 92 + k));

  auto loss = [&]() {
    const auto params = pointers(in.params);
    const auto initial = pointers(in.initial);
    cell->forward(shape, in.x.data(), in.activeRowsOrNull(), params.data(), initial.data());
    double total = 0;
    if (options.sequenceLoss) {
      for (int64_t i = 0; i < shape.steps * stateSize; ++i) total += seqWeights[i] * cell->states(0)[stateSize + i];
    }
    for (int k = 0; k < states; ++k) {
      if (!flag(options.finalLoss, k)) continue;
      const double* last = cell->states(k) + shape.steps * stateSize;
      for (int64_t i = 0; i < stateSize; ++i) total += finalWeights[k][i] * last[i];
    }
    return total;
  };

  // Analytic pass, with nullptr standing for the zero initial states when they are "not given".
  if (!options.givenInitial) {
    for (auto& state : in.initial) std::fill(state.begin(), state.end(), 0.0);
  }
  const ReferenceResult ref = reference(in);
  const auto params = pointers(in.params);
  std::vector<const double*> initial = pointers(in.initial);
  if (!options.givenInitial) std::fill(initial.begin(), initial.end(), nullptr);
  cell->forward(shape, in.x.data(), in.activeRowsOrNull(), params.data(), initial.data());
  for (int k = 0; k < states; ++k) {
    const double diff = relativeDifference(cell->states(k), ref.states[k].data(), (shape.steps + 1) * stateSize);
    RNNKIT_CHECK(diff < 1e-12, label << ": state " << k << " differs from the reference by " << diff);
  }

  std::vector<Vector> dParams;
  for (const auto& p : in.params) dParams.emplace_back(p.size(), -1.0);  // poison: backward must overwrite
  Vector dx(in.x.size(), -1.0);
  std::vector<Vector> dInitial(states, Vector(stateSize, -1.0));
  std::vector<const double*> dFinal(states, nullptr);
  std::vector<double*> dInitialPtr(states, nullptr);
  for (int k = 0; k < states; ++k) {
    if (flag(options.finalLoss, k)) dFinal[k] = finalWeights[k].data();
    if (flag(options.wantDInitial, k)) dInitialPtr[k] = dInitial[k].data();
  }
  auto dParamPtr = mutablePointers(dParams);
  cell->backward(params.data(), options.sequenceLoss ? seqWeights.data() : nullptr, dFinal.data(),
                 dParamPtr.data(), options.wantDx ? dx.data() : nullptr, dInitialPtr.data());

  static const char* const kParamNames[] = {"kernel", "recurrentKernel", "bias"};
  for (size_t p = 0; p < in.params.size(); ++p) {
    expectGradient(label + " d" + kParamNames[p], dParams[p], numericGradient(loss, in.params[p]));
  }
  if (options.wantDx) expectGradient(label + " dx", dx, numericGradient(loss, in.x));
  for (int k = 0; k < states; ++k) {
    if (!flag(options.wantDInitial, k)) {
      RNNKIT_CHECK(dInitial[k][0] == -1.0, label << ": dInitial[" << k << "] was written though not requested");
      continue;
    }
    expectGradient(label + " dInitial[" + std::to_string(k) + "]", dInitial[k], numericGradient(loss, in.initial[k]));
  }
}

// Outputs of one forward + backward with every gradient requested, converted to double.
struct CellRun {
  std::vector<Vector> states, dParams, dInitial;
  Vector dx;
};

template <typename T>
std::vector<T> convert(const Vector& values) {
  return std::vector<T>(values.begin(), values.end());
}

template <typename T>
CellRun runCell(ops::RecurrentCell<T>& cell, const CellInputs& in, const Vector& seqWeights,
                const std::vector<Vector>& finalWeights) {
  const RecurrentShape& shape = in.shape;
  const int64_t stateSize = shape.batch * shape.hiddenSize;
  std::vector<std::vector<T>> params, initial, finals, dParams, dInitial;
  for (const auto& p : in.params) params.push_back(convert<T>(p));
  for (const auto& s : in.initial) initial.push_back(convert<T>(s));
  for (const auto& f : finalWeights) finals.push_back(convert<T>(f));
  const std::vector<T> x = convert<T>(in.x), seq = convert<T>(seqWeights);
  const auto paramPtr = pointers(params), initialPtr = pointers(initial), finalPtr = pointers(finals);
  cell.forward(shape, x.data(), in.activeRowsOrNull(), paramPtr.data(), initialPtr.data());
  for (const auto& p : params) dParams.emplace_back(p.size());
  for (const auto& s : initial) dInitial.emplace_back(s.size());
  std::vector<T> dx(x.size());
  auto dParamPtr = mutablePointers(dParams), dInitialPtr = mutablePointers(dInitial);
  cell.backward(paramPtr.data(), seq.data(), finalPtr.data(), dParamPtr.data(), dx.data(), dInitialPtr.data());

  CellRun run;
  for (int k = 0; k < cell.stateCount(); ++k) {
    run.states.emplace_back(cell.states(k), cell.states(k) + (shape.steps + 1) * stateSize);
  }
  for (const auto& d : dParams) run.dParams.emplace_back(d.begin(), d.end());
  for (const auto& d : dInitial) run.dInitial.emplace_back(d.begin(), d.end());
  run.dx.assign(dx.begin(), dx.end());
  return run;
}

template <typename T>
CellRun runCell(CellFactory<T> factory, const CellInputs& in, const Vector& seqWeights,
                const std::vector<Vector>& finalWeights) {
  return runCell(*factory(in.config), in, seqWeights, finalWeights);
}

inline std::vector<Vector> randomFinalWeights(size_t states, int64_t stateSize, uint32_t seed) {
  std::vector<Vector> weights;
  for (size_t k = 0; k < states; ++k) weights.push_back(randomVector(stateSize, seed + static_cast<uint32_t>(k)));
  return weights;
}

// The float cell agrees with the double cell within 1e-5 relative (per array, against its largest entry).
inline void checkFloatMatchesDouble(CellFactory<float> factory32, CellFactory<double> factory64,
                                    const CellInputs& in) {
  const int64_t stateSize = in.shape.batch * in.shape.hiddenSize;
  const Vector seq = randomVector(in.shape.steps * stateSize, 71);
  const auto finals = randomFinalWeights(in.initial.size(), stateSize, 72);
  const CellRun single = runCell(factory32, in, seq, finals), reference = runCell(factory64, in, seq, finals);
  auto expectClose = [](const std::string& what, const Vector& a, const Vector& b) {
    const double diff = relativeDifference(a.data(), b.data(), static_cast<int64_t>(b.size()));
    RNNKIT_CHECK(diff < 1e-5, what << ": float differs from double by " << diff << " (relative)");
  };
  for (size_t k = 0; k < reference.states.size(); ++k) {
    expectClose("state " + std::to_string(k), single.states[k], reference.states[k]);
    expectClose("dInitial " + std::to_string(k), single.dInitial[k], reference.dInitial[k]);
  }
  for (size_t p = 0; p < reference.dParams.size(); ++p) {
    expectClose("dParams " + std::to_string(p), single.dParams[p], reference.dParams[p]);
  }
  expectClose("dx", single.dx, reference.dx);
}

// A cell that ran a larger shape first (its workspaces stay large) gives exactly what a fresh cell gives.
inline void checkWorkspaceReuse(CellFactory<double> factory, const CellInputs& large, const CellInputs& small) {
  auto weightsFor = [](const CellInputs& in) {
    const int64_t stateSize = in.shape.batch * in.shape.hiddenSize;
    return std::make_pair(randomVector(in.shape.steps * stateSize, 61),
                          randomFinalWeights(in.initial.size(), stateSize, 62));
  };
  const auto [largeSeq, largeFinals] = weightsFor(large);
  const auto [smallSeq, smallFinals] = weightsFor(small);
  const auto reused = factory(small.config);
  runCell(*reused, large, largeSeq, largeFinals);
  const CellRun again = runCell(*reused, small, smallSeq, smallFinals);
  const CellRun fresh = runCell(factory, small, smallSeq, smallFinals);
  // Not bit-exact: Eigen may peel differently for differently aligned buffers.
  auto expectSame = [](const std::string& what, const Vector& a, const Vector& b) {
    const double diff = relativeDifference(a.data(), b.data(), static_cast<int64_t>(b.size()));
    RNNKIT_CHECK(a.size() == b.size() && diff < 1e-13, what << ": a reused cell differs from a fresh one by " << diff);
  };
  for (size_t k = 0; k < fresh.states.size(); ++k) {
    expectSame("state " + std::to_string(k), again.states[k], fresh.states[k]);
    expectSame("dInitial " + std::to_string(k), again.dInitial[k], fresh.dInitial[k]);
  }
  for (size_t p = 0; p < fresh.dParams.size(); ++p) {
    expectSame("dParams " + std::to_string(p), again.dParams[p], fresh.dParams[p]);
  }
  expectSame("dx", again.dx, fresh.dx);
}

// Runs `body` and expects std::invalid_argument whose message contains `fragment`.
inline void expectInvalidArgument(const std::function<void()>& body, const std::string& fragment) {
  try {
    body();
  } catch (const std::invalid_argument& e) {
    RNNKIT_CHECK(std::string(e.what()).find(fragment) != std::string::npos,
                 "message '" << e.what() << "' does not mention '" << fragment << "'");
    return;
  }
  throw Failure("expected std::invalid_argument mentioning '" + fragment + "'");
}

// Runs `body` and expects ops::StateError (a call out of order, e.g. backward before forward) mentioning `fragment`.
inline void expectStateError(const std::function<void()>& body, const std::string& fragment) {
  try {
    body();
  } catch (const ops::StateError& e) {
    RNNKIT_CHECK(std::string(e.what()).find(fragment) != std::string::npos,
                 "message '" << e.what() << "' does not mention '" << fragment << "'");
    return;
  }
  throw Failure("expected ops::StateError mentioning '" + fragment + "'");
}

}  // namespace rnnkit::tests::cells
