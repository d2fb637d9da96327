// GRU cell checks (float64): finite-difference gradients for every option, hand-worked forward cases,
// clipped hardSigmoid gates, float/double agreement, rows past their length, workspace reuse and misuse errors.
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cell_infer_checks.h"
#include "gru_test_support.h"

namespace {

using namespace rnnkit::tests;
using namespace rnnkit::tests::gru;

// All 24 variants of bias x loss terms x initial state x lengths for one (form, activation, gates) triple.
void checkAllVariants(bool resetAfter, Activation activation, Activation recurrentActivation, uint32_t seed) {
  uint32_t variant = 0;
  for (bool useBias : {true, false}) {
    for (int terms : {0, 1, 2}) {  // dhSeq only, dFinal only, both
      for (bool withInitial : {false, true}) {
        for (bool withLengths : {false, true}) {
          const RecurrentShape shape = withLengths ? RecurrentShape{5, 4, 3, 3} : RecurrentShape{3, 2, 3, 4};
          const CellConfig config = gruConfig(resetAfter, activation, recurrentActivation, useBias);
          const Problem p =
              randomProblem(config, shape, seed + 100 * variant++, withLengths, withInitial, terms != 1, terms != 0);
          const bool wantDx = withInitial || terms != 2;  // also run with dx == nullptr
          checkGradients(p, wantDx,
                         std::string("bias=") + "01"[useBias] + " terms=" + "SFB"[terms] +
                             " initial=" + "01"[withInitial] + " lengths=" + "01"[withLengths]);
        }
      }
    }
  }
}

#define GRU_GRADIENT_TEST(form, resetAfter, act, rec, seed)                   \
  RNNKIT_TEST("gru " form " gradients: " #act " / " #rec " x all variants") { \
    checkAllVariants(resetAfter, Activation::act, Activation::rec, seed);     \
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

// Hand-worked case, B = 1, F = 1, H = 2, T = 2, default activations (sigmoid gates, tanh candidate):
//   x = [1, -1], h0 = [0.5, -0.5], kernel [1, 6] = [z: 0.5 -0.3 | r: -0.5 0.4 | h: 1.0 -0.8]
//   recurrentKernel rows [0.2 0 | 0.3 0 | -0.4 0.1] and [0 -0.2 | 0 0.5 | 0.2 0.6]
//   resetAfter bias: b_i = [0.1 0 | 0 0.1 | -0.1 0], b_r = [0 0.2 | 0.2 0 | 0.3 -0.2]
//   resetBefore bias: their sum [0.1 0.2 | 0.2 0.1 | 0.2 -0.2] (only the candidate's use of b_r differs)
// resetAfter, step 1: xz = [0.6 -0.3 | -0.5 0.5 | 0.9 -0.8], hz = h0 U + b_r = [0.1 0.3 | 0.35 -0.25 | 0 -0.45]
//   z = sigmoid(0.7, 0) = [0.66818777, 0.5], r = sigmoid(-0.15, 0.25) = [0.46257015, 0.5621765]
//   pre_hh = xz_h + r * hz_h = [0.9, -1.05297943], hh = tanh(.) = [0.71629787, -0.782962]
//   h1 = z * h0 + (1 - z) * hh = [0.57177028, -0.64148100]
// step 2 (x = -1): xz = [-0.4 0.3 | 0.5 -0.3 | -1.1 0.8],
//   hz = [0.114354 0.328296 | 0.371531 -0.32074 | -0.057004 -0.527712]
//   z = [0.42907014, 0.65210303], r = [0.70506418, 0.34961306], hh = [-0.81447863, 0.5479907]
//   h2 = [-0.21968061, -0.22766740]
// resetBefore, step 1: x W + b = [0.6 -0.1 | -0.3 0.5 | 1.2 -1.0], h0 U_zr = [0.1 0.1 | 0.15 -0.25]: z, r as above,
//   r * h0 = [0.23128508, -0.28108825], pre_hh = 1.2 -1.0 + (r h0) U_h = [1.05126832, -1.14552444]
//   hh = [0.78229896, -0.81626599], h1 = [0.59367025, -0.65813299]
// step 2: x W + b = [-0.4 0.5 | 0.7 -0.3 | -0.8 0.6], h1 U_zr = [0.118734 0.131627 | 0.178101 -0.329066]
//   z = [0.43014344, 0.6528582], r = [0.70642856, 0.34772224], r * h1 = [0.41938562, -0.22884748]
//   pre_hh = [-1.01352374, 0.50463008], hh = [-0.76721554, 0.46575067], h2 = [-0.18183945, -0.26798599]
// The full-precision expectations come from the same arithmetic in double; tolerance 1e-12.
void checkHandCase(bool resetAfter, const Vector& bias, const Vector& expected) {
  const Problem p{gruConfig(resetAfter), RecurrentShape{2, 1, 1, 2}, {}, {1.0, -1.0},
                  {0.5, -0.3, -0.5, 0.4, 1.0, -0.8},
                  {0.2, 0.0, 0.3, 0.0, -0.4, 0.1, 0.0, -0.2, 0.0, 0.5, 0.2, 0.6}, bias, {0.5, -0.5}, {}, {}};
  auto cell = makeGruCell<double>(p.config);
  runForward(*cell, p);
  const double* h = cell->states(0);
  for (int i = 0; i < 6; ++i) {
    RNNKIT_CHECK(std::fabs(h[i] - expected[i]) < 1e-12, "state entry " << i << ": " << h[i] << " vs " << expected[i]);
  }
}

RNNKIT_TEST("gru resetAfter forward matches the hand-worked case") {
  checkHandCase(true, {0.1, 0, 0, 0.1, -0.1, 0, 0, 0.2, 0.2, 0, 0.3, -0.2},
                {0.5, -0.5, 0.5717702781860191, -0.6414809999006439, -0.2196806129739199, -0.2276674002480476});
}

RNNKIT_TEST("gru resetBefore forward matches the hand-worked case") {
  checkHandCase(false, {0.1, 0.2, 0.2, 0.1, 0.2, -0.2},
                {0.5, -0.5, 0.5936702483058245, -0.6581329933535013, -0.1818394474177415, -0.26798599216224606});
}

// hardSigmoid gates pinned in their clipped regions (z pre-activation near -10, r near +10, so z = 0, r = 1):
// the GRU reduces to h_t = act(x W_h + h U_h + b); clipped gates must pass exactly zero gradient.
void checkSaturatedGates(bool resetAfter) {
  const RecurrentShape shape{4, 3, 3, 3};
  Problem p = randomProblem(gruConfig(resetAfter, Activation::Tanh, Activation::HardSigmoid), shape, 77, false,
                            true, true, true, 0.3);
  for (int64_t j = 0; j < 3; ++j) {
    p.bias[j] = -10;     // z
    p.bias[3 + j] = 10;  // r
  }
  checkGradients(p, true, resetAfter ? "saturated resetAfter" : "saturated resetBefore");
  auto cell = makeGruCell<double>(p.config);
  const Gradients g = analyticGradients(*cell, p, false, false);
  for (int64_t f = 0; f < 3; ++f) {
    for (int64_t j = 0; j < 6; ++j) RNNKIT_CHECK(g.kernel[f * 9 + j] == 0.0, "clipped gate column " << j);
  }
}

RNNKIT_TEST("gru hardSigmoid gates in their clipped region pass zero gradient") {
  checkSaturatedGates(true);
  checkSaturatedGates(false);
}

template <typename T>
std::vector<T> castTo(const Vector& v) {
  return std::vector<T>(v.begin(), v.end());
}

// States [T+1, B, H], then the gradients (kernel, recurrentKernel, bias, x, initial) of one run in precision T.
template <typename T>
std::vector<Vector> runInPrecision(const Problem& p) {
  auto cell = makeGruCell<T>(p.config);
  const auto x = castTo<T>(p.x), kernel = castTo<T>(p.kernel), recurrent = castTo<T>(p.recurrentKernel);
  const auto bias = castTo<T>(p.bias), initial = castTo<T>(p.initial);
  const auto seq = castTo<T>(p.seqWeights), last = castTo<T>(p.finalWeights);
  const T* params[] = {kernel.data(), recurrent.data(), bias.data()};
  const T* initialStates[] = {initial.data()};
  cell->forward(p.shape, x.data(), p.activeRows.data(), params, initialStates);
  const T* states = cell->states(0);
  std::vector<Vector> out{Vector(states, states + (p.shape.steps + 1) * p.shape.batch * p.shape.hiddenSize)};
  std::vector<std::vector<T>> grads{kernel, recurrent, bias, x, initial};  // the right sizes; overwritten
  T* dParams[] = {grads[0].data(), grads[1].data(), grads[2].data()};
  const T* dFinal[] = {last.data()};
  T* dInitial[] = {grads[4].data()};
  cell->backward(params, seq.data(), dFinal, dParams, grads[3].data(), dInitial);
  for (const auto& grad : grads) out.emplace_back(grad.begin(), grad.end());
  return out;
}

RNNKIT_TEST("gru float results match double within 1e-5 relative") {
  const char* names[] = {"states", "kernel", "recurrentKernel", "bias", "x", "initial"};
  for (bool resetAfter : {true, false}) {
    const Problem p = randomProblem(gruConfig(resetAfter), RecurrentShape{5, 4, 6, 8}, 31, true, true, true, true);
    const auto single = runInPrecision<float>(p), reference = runInPrecision<double>(p);
    for (size_t i = 0; i < reference.size(); ++i) {
      const double err = maxRelativeError(single[i], reference[i]);
      RNNKIT_CHECK(err < 1e-5, names[i] << (resetAfter ? " (resetAfter)" : " (resetBefore)") << ": " << err);
    }
  }
}

// Slice of row b, step s out of a [T, B, width] buffer.
Vector slice(const Vector& values, int64_t s, int64_t b, int64_t batch, int64_t width) {
  const auto begin = values.begin() + (s * batch + b) * width;
  return Vector(begin, begin + width);
}

// Each row of a lengths-5,4,2,0 batch run alone over its own length; dParams must add up to the batch's and
// dInitial match row by row. A length-0 row only passes dFinal to its initial state.
void checkPerRowDecomposition(const Problem& p, const Gradients& g) {
  const int64_t B = p.shape.batch, F = p.shape.inputSize, H = p.shape.hiddenSize;
  Gradients sum{Vector(g.kernel.size(), 0.0), Vector(g.recurrentKernel.size(), 0.0), Vector(g.bias.size(), 0.0),
                {}, {}};
  for (int64_t b = 0; b < B; ++b) {
    const Vector initialRow = slice(p.initial, 0, b, B, H), finalRow = slice(p.finalWeights, 0, b, B, H);
    if (kLengths[b] == 0) {
      RNNKIT_CHECK(slice(g.initial, 0, b, B, H) == finalRow, "length-0 row: dInitial != dFinal");
      continue;
    }
    Problem alone{p.config, RecurrentShape{kLengths[b], 1, F, H}, {}, {}, p.kernel, p.recurrentKernel, p.bias,
                  initialRow, {}, finalRow};
    for (int64_t s = 0; s < kLengths[b]; ++s) {
      const Vector x = slice(p.x, s, b, B, F), seq = slice(p.seqWeights, s, b, B, H);
      alone.x.insert(alone.x.end(), x.begin(), x.end());
      alone.seqWeights.insert(alone.seqWeights.end(), seq.begin(), seq.end());
    }
    auto cell = makeGruCell<double>(alone.config);
    const Gradients single = analyticGradients(*cell, alone, false, true);
    for (size_t i = 0; i < sum.kernel.size(); ++i) sum.kernel[i] += single.kernel[i];
    for (size_t i = 0; i < sum.recurrentKernel.size(); ++i) sum.recurrentKernel[i] += single.recurrentKernel[i];
    for (size_t i = 0; i < sum.bias.size(); ++i) sum.bias[i] += single.bias[i];
    RNNKIT_CHECK(maxRelativeError(slice(g.initial, 0, b, B, H), single.initial) < 1e-12, "row " << b << " dInitial");
  }
  RNNKIT_CHECK(maxRelativeError(g.kernel, sum.kernel) < 1e-12, "dKernel != sum over rows");
  RNNKIT_CHECK(maxRelativeError(g.recurrentKernel, sum.recurrentKernel) < 1e-12, "dRecurrentKernel != sum over rows");
  RNNKIT_CHECK(maxRelativeError(g.bias, sum.bias) < 1e-12, "dBias != sum over rows");
}

// Lengths 5, 4, 2, 0 over T = 5, dhSeq zero outside each row's window (as the layer sends it). A row keeps its
// state after its length, and whatever x holds there changes neither the states nor any gradient; dx there is 0.
// Gradients agree to 1e-14, not bit for bit: Eigen's small products and column sums choose their summation order
// by the output buffer's alignment.
void checkRowsPastLength(bool resetAfter) {
  const int64_t B = 4, T = 5, F = 3, H = 3;
  Problem padded = randomProblem(gruConfig(resetAfter), RecurrentShape{T, B, F, H}, 55, true, true, true, true);
  Problem zeroPadded = padded;
  for (int64_t s = 0; s < T; ++s) {
    for (int64_t b = 0; b < B; ++b) {
      if (s < kLengths[b]) continue;
      std::fill_n(padded.seqWeights.begin() + (s * B + b) * H, H, 0.0);
      std::fill_n(zeroPadded.seqWeights.begin() + (s * B + b) * H, H, 0.0);
      std::fill_n(padded.x.begin() + (s * B + b) * F, F, 1e3);
      std::fill_n(zeroPadded.x.begin() + (s * B + b) * F, F, 0.0);
    }
  }
  auto cell = makeGruCell<double>(padded.config);
  const Gradients g = analyticGradients(*cell, padded, true, true);
  const Vector states = statesOf(*cell, padded.shape);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t s = kLengths[b] + 1; s <= T; ++s) {
      RNNKIT_CHECK(slice(states, s, b, B, H) == slice(states, kLengths[b], b, B, H), "row " << b << " moved at " << s);
    }
    for (int64_t s = kLengths[b]; s < T; ++s) RNNKIT_CHECK(slice(g.x, s, b, B, F) == Vector(F, 0.0), "dx past length");
  }
  const Gradients g0 = analyticGradients(*cell, zeroPadded, true, true);
  const Vector zeroPaddedStates = statesOf(*cell, padded.shape);
  RNNKIT_CHECK(zeroPaddedStates == states, "padding x changed the states");
  RNNKIT_CHECK(maxRelativeError(g.kernel, g0.kernel) < 1e-14, "padding x changed dKernel");
  RNNKIT_CHECK(maxRelativeError(g.recurrentKernel, g0.recurrentKernel) < 1e-14, "padding x changed dRecurrentKernel");
  RNNKIT_CHECK(maxRelativeError(g.bias, g0.bias) < 1e-14, "padding x changed dBias");
  RNNKIT_CHECK(g.initial == g0.initial, "padding x changed dInitial");
  checkPerRowDecomposition(padded, g);
}

RNNKIT_TEST("gru rows past their length keep their state and add nothing to dParams") {
  checkRowsPastLength(true);
  checkRowsPastLength(false);
}

// A workspace grown by a larger shape and reused for a smaller one gives a fresh cell's results (to 1e-14: the
// summation order follows buffer alignment, see checkRowsPastLength).
RNNKIT_TEST("gru workspaces reused across shapes give the same results") {
  for (bool resetAfter : {true, false}) {
    const Problem big = randomProblem(gruConfig(resetAfter), RecurrentShape{6, 5, 4, 7}, 91, false, true, true, true);
    const Problem small =
        randomProblem(gruConfig(resetAfter), RecurrentShape{5, 4, 3, 3}, 92, true, false, true, false);
    auto reused = makeGruCell<double>(small.config), fresh = makeGruCell<double>(small.config);
    analyticGradients(*reused, big, true, true);
    const Gradients a = analyticGradients(*reused, small, true, false);
    const Gradients b = analyticGradients(*fresh, small, true, false);
    RNNKIT_CHECK(maxRelativeError(statesOf(*reused, small.shape), statesOf(*fresh, small.shape)) < 1e-14, "states");
    for (auto [mine, theirs] : {std::pair{&a.kernel, &b.kernel}, {&a.recurrentKernel, &b.recurrentKernel},
                                {&a.bias, &b.bias}, {&a.x, &b.x}}) {
      RNNKIT_CHECK(maxRelativeError(*mine, *theirs) < 1e-14, "gradients depend on workspace history");
    }
  }
}

// Runs `body` and requires std::invalid_argument whose message contains every one of `fragments`.
template <typename Body>
void expectInvalid(const char* what, Body body, std::initializer_list<const char*> fragments) {
  try {
    body();
  } catch (const std::invalid_argument& e) {
    for (const char* fragment : fragments) {
      RNNKIT_CHECK(std::string(e.what()).find(fragment) != std::string::npos,
                   what << ": message '" << e.what() << "' lacks '" << fragment << "'");
    }
    return;
  }
  throw Failure(std::string(what) + ": no std::invalid_argument thrown");
}

RNNKIT_TEST("gru infer (stacked-operand kernel) gives forward's h in double and float, both forms") {
  for (bool resetAfter : {true, false}) {
    cells::checkInferAcrossShapes(makeGruCell<double>, makeGruCell<float>,
                                  {gruConfig(resetAfter), gruConfig(resetAfter, Activation::Relu, Activation::HardSigmoid)},
                                  RecurrentShape{5, 4, 3, 3}, {5, 4, 2, 0}, resetAfter ? 640 : 660);
  }
}

RNNKIT_TEST("gru states() and backward() after infer() are refused") {
  for (bool resetAfter : {true, false}) {
    const CellConfig config = gruConfig(resetAfter);
    const cells::CellInputs in = cells::randomInputs<double>(makeGruCell<double>, config,
                                                             {RecurrentShape{5, 4, 3, 3}, {5, 4, 2, 0}, 680});
    const auto cell = makeGruCell<double>(config);
    const auto params = cells::pointers(in.params), initial = cells::pointers(in.initial);
    cell->forward(in.shape, in.x.data(), in.activeRowsOrNull(), params.data(), initial.data());
    std::vector<double> hFinal(in.shape.batch * in.shape.hiddenSize);
    double* finals[1] = {hFinal.data()};
    cell->infer(in.shape, in.x.data(), in.activeRowsOrNull(), params.data(), initial.data(), nullptr, finals);
    expectInvalid("states after infer", [&] { cell->states(0); }, {"states()", "a completed forward pass"});
    std::vector<std::vector<double>> dParams;
    for (const auto& p : in.params) dParams.emplace_back(p.size());
    auto dParamPtr = cells::mutablePointers(dParams);
    expectInvalid("backward after infer",
                  [&] { cell->backward(params.data(), nullptr, nullptr, dParamPtr.data(), nullptr, nullptr); },
                  {"backward()", "a completed forward pass"});
  }
}

RNNKIT_TEST("gru param shapes and misuse errors") {
  using Shapes = std::vector<std::vector<int64_t>>;
  const CellConfig noBias = gruConfig(true, Activation::Tanh, Activation::Sigmoid, false);
  RNNKIT_CHECK(makeGruCell<float>(gruConfig(true))->paramShapes(3, 4) == (Shapes{{3, 12}, {4, 12}, {2, 12}}), "after");
  RNNKIT_CHECK(makeGruCell<float>(gruConfig(false))->paramShapes(3, 4) == (Shapes{{3, 12}, {4, 12}, {12}}), "before");
  RNNKIT_CHECK(makeGruCell<float>(noBias)->paramShapes(3, 4) == (Shapes{{3, 12}, {4, 12}}), "no-bias shapes");
  RNNKIT_CHECK(makeGruCell<float>(gruConfig(true))->stateCount() == 1, "one state");

  CellConfig lstm = gruConfig(true);
  lstm.kind = CellKind::Lstm;
  expectInvalid("wrong kind", [&] { makeGruCell<double>(lstm); }, {"config.kind", "received 1"});
  expectInvalid("softmax", [&] { makeGruCell<double>(gruConfig(true, Activation::Softmax)); },
                {"activation", "received code 5"});

  Problem p = randomProblem(gruConfig(true), RecurrentShape{5, 4, 3, 3}, 5, true, false, true, false);
  auto cell = makeGruCell<double>(p.config);
  const double* params[] = {p.kernel.data(), p.recurrentKernel.data(), p.bias.data()};
  Vector dKernel(p.kernel.size()), dRecurrent(p.recurrentKernel.size()), dBias(p.bias.size());
  double* dParams[] = {dKernel.data(), dRecurrent.data(), dBias.data()};
  expectInvalid("backward first", [&] { cell->backward(params, nullptr, nullptr, dParams, nullptr, nullptr); },
                {"backward()", "before any forward"});
  expectInvalid("states first", [&] { cell->states(0); }, {"states()", "before any forward"});
  expectInvalid("state index", [&] { runForward(*cell, p); cell->states(1); }, {"state index", "received 1"});
  p.activeRows[2] = 4;
  expectInvalid("growing activeRows", [&] { runForward(*cell, p); }, {"activeRows[2]", "[0, 3]", "received 4"});
  p.activeRows.clear();
  p.shape.hiddenSize = 0;
  expectInvalid("zero hidden size", [&] { runForward(*cell, p); }, {"hiddenSize >= 1", "received 0"});
  p.shape.hiddenSize = 3;
  p.bias.clear();
  expectInvalid("missing bias", [&] { runForward(*cell, p); }, {"params.bias", "nullptr"});
}

}  // namespace
