// LSTM cell: hand-worked forward cases, a plain-loop reference, float64 finite-difference gradient checks over
// every option, rows past their length, float versus double, workspace reuse and argument errors.
#include <string>
#include <vector>

#include "cell_padding_check.h"
#include "cell_infer_checks.h"
#include "cell_test_support.h"
#include "harness.h"
#include "ops/recurrent_cell.h"

namespace rnnkit::tests::cells {
namespace {

using ops::CellKind;

// z = x W + h U + b per row, gates i, f, c, o; c_t = f c_{t-1} + i g; h_t = o act(c_t); plain loops.
ReferenceResult lstmReference(const CellInputs& in) {
  const int64_t T = in.shape.steps, B = in.shape.batch, F = in.shape.inputSize, H = in.shape.hiddenSize;
  const Vector& W = in.params[0];
  const Vector& U = in.params[1];
  const Vector zeros(4 * H, 0.0);
  const Vector& bias = in.config.useBias ? in.params[2] : zeros;
  ReferenceResult result;
  Vector h = in.initial[0], c = in.initial[1];
  h.resize((T + 1) * B * H);
  c.resize((T + 1) * B * H);
  for (int64_t s = 0; s < T; ++s) {
    for (int64_t r = 0; r < B; ++r) {
      const int64_t prev = (s * B + r) * H, next = ((s + 1) * B + r) * H;
      if (!in.lengths.empty() && s >= in.lengths[r]) {
        for (int64_t j = 0; j < H; ++j) h[next + j] = h[prev + j], c[next + j] = c[prev + j];
        continue;
      }
      Vector z(bias.begin(), bias.end());
      for (int64_t col = 0; col < 4 * H; ++col) {
        for (int64_t f = 0; f < F; ++f) z[col] += in.x[(s * B + r) * F + f] * W[f * 4 * H + col];
        for (int64_t k = 0; k < H; ++k) z[col] += h[prev + k] * U[k * 4 * H + col];
      }
      for (int64_t j = 0; j < H; ++j) {
        const double i = activate(in.config.recurrentActivation, z[j], result);
        const double f = activate(in.config.recurrentActivation, z[H + j], result);
        const double g = activate(in.config.activation, z[2 * H + j], result);
        const double o = activate(in.config.recurrentActivation, z[3 * H + j], result);
        c[next + j] = f * c[prev + j] + i * g;
        // An exact zero c (c0 = 0 and relu(z_c) = 0 so far) stays zero under every perturbation except of c0, so
        // it is not a kink for the checks (with relu and c0 = 0 the c0 check is skipped).
        ReferenceResult untracked;
        h[next + j] = o * activate(in.config.activation, c[next + j], c[next + j] == 0 ? untracked : result);
      }
    }
  }
  result.states = {h, c};
  return result;
}

CellConfig lstmConfig(Activation activation, Activation recurrentActivation, bool useBias) {
  CellConfig config;
  config.kind = CellKind::Lstm;
  config.activation = activation;
  config.recurrentActivation = recurrentActivation;
  config.useBias = useBias;
  return config;
}

const std::vector<int32_t> kLengths = {5, 4, 2, 0};  // activeRows = {3, 3, 2, 2, 1}
const RecurrentShape kShape = {5, 4, 3, 3};          // T, B, F, H

CellInputs lstmInputs(const CellConfig& config, const std::vector<int32_t>& lengths, uint32_t seed,
                      bool zeroInitial = false) {
  // Larger weights with hardSigmoid so that its saturated part (|z| > 2.5) is reached in every case.
  const bool hardSigmoid = config.activation == Activation::HardSigmoid ||
                           config.recurrentActivation == Activation::HardSigmoid;
  return kinkFreeInputs<double>(ops::makeLstmCell<double>, lstmReference, config,
                                {kShape, lengths, seed, hardSigmoid ? 1.3 : 0.9, 1.5, zeroInitial});
}

// Runs a forward with the given parameters and returns h and c after every step.
std::vector<Vector> lstmStates(const CellConfig& config, const RecurrentShape& shape, const Vector& x,
                               const std::vector<Vector>& params, const Vector& h0, const Vector& c0) {
  CellInputs in;
  in.config = config;
  in.shape = shape;
  in.params = params;
  in.x = x;
  in.initial = {h0, c0};
  return runCell(ops::makeLstmCell<double>, in, Vector(shape.steps * shape.batch * shape.hiddenSize, 0.0),
                 randomFinalWeights(2, shape.batch * shape.hiddenSize, 1))
      .states;
}

RNNKIT_TEST("lstm forward by hand: hardSigmoid gates, linear activation, T=2") {
  // F = H = B = 1; gates i, f, c, o; x = (1, 2), h0 = 0.5, c0 = 1
  //   W = (0.5, 1, 2, -0.5), U = (1, 0.5, 1, 1), b = (0, 0.5, 0, 0.5)
  // t=1: z = (0.5+0.5, 1+0.25+0.5, 2+0.5, -0.5+0.5+0.5) = (1, 1.75, 2.5, 0.5)
  //      i = 0.2*1+0.5 = 0.7, f = 0.85, g = 2.5, o = 0.6;  c1 = 0.85*1 + 0.7*2.5 = 2.6;  h1 = 0.6*2.6 = 1.56
  // t=2: z = (1, 2, 4, -1) + 1.56*U + b = (2.56, 3.28, 5.56, 1.06)
  //      i = clip(1.012) = 1, f = clip(1.156) = 1, g = 5.56, o = 0.712;  c2 = 2.6 + 5.56 = 8.16;  h2 = 5.80992
  const CellConfig config = lstmConfig(Activation::Linear, Activation::HardSigmoid, true);
  const auto states = lstmStates(config, {2, 1, 1, 1}, {1, 2}, {{0.5, 1, 2, -0.5}, {1, 0.5, 1, 1}, {0, 0.5, 0, 0.5}},
                                 {0.5}, {1});
  const Vector expectedH = {0.5, 1.56, 5.80992}, expectedC = {1, 2.6, 8.16};
  RNNKIT_CHECK(relativeDifference(states[0].data(), expectedH.data(), 3) < 1e-14, "h differs from the hand values");
  RNNKIT_CHECK(relativeDifference(states[1].data(), expectedC.data(), 3) < 1e-14, "c differs from the hand values");
}

RNNKIT_TEST("lstm forward by hand: sigmoid gates, tanh activation, two rows") {
  // F = H = 1, B = 2, T = 1; only the candidate has a weight: W = (0, 0, 0.5, 0), U = 0, b = 0; h0 = 0, c0 = 1.
  // i = f = o = sigmoid(0) = 0.5, g = tanh(0.5 x), c1 = 0.5 + 0.5 tanh(0.5 x) = sigmoid(x), h1 = 0.5 tanh(c1)
  //   row 0, x = 1:  c1 = sigmoid(1)  = 0.7310585786300049, h1 = 0.5 tanh(c1) = 0.3118562749129378
  //   row 1, x = -1: c1 = sigmoid(-1) = 0.2689414213699951, h1 = 0.5 tanh(c1) = 0.13131977570200792
  const CellConfig config = lstmConfig(Activation::Tanh, Activation::Sigmoid, true);
  const auto states = lstmStates(config, {1, 2, 1, 1}, {1, -1}, {{0, 0, 0.5, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}},
                                 {0, 0}, {1, 1});
  const Vector expectedH = {0, 0, 0.3118562749129378, 0.13131977570200792};
  const Vector expectedC = {1, 1, 0.7310585786300049, 0.2689414213699951};
  RNNKIT_CHECK(relativeDifference(states[0].data(), expectedH.data(), 4) < 1e-14, "h differs from the hand values");
  RNNKIT_CHECK(relativeDifference(states[1].data(), expectedC.data(), 4) < 1e-14, "c differs from the hand values");
}

// One registered case per (activation, recurrentActivation); each loops over bias, loss terms, initial state
// and activeRows.
const bool kGradientCasesRegistered = [] {
  const Activation activations[] = {Activation::Tanh, Activation::Sigmoid, Activation::HardSigmoid, Activation::Relu,
                                    Activation::Linear};
  for (Activation activation : activations) {
    for (Activation recurrent : {Activation::Sigmoid, Activation::HardSigmoid}) {
      const std::string name = std::string("lstm gradients: activation ") + activationName(activation) +
                               ", recurrentActivation " + activationName(recurrent);
      registry().push_back({name, [activation, recurrent] {
        uint32_t seed = 100;
        for (bool useBias : {true, false}) {
          for (int lossTerms = 0; lossTerms < 3; ++lossTerms) {  // 0: sequence only, 1: final only, 2: both
            for (bool givenInitial : {true, false}) {
              for (bool masked : {true, false}) {
                GradientOptions options;
                options.givenInitial = givenInitial;
                options.sequenceLoss = lossTerms != 1;
                if (lossTerms == 0) options.finalLoss = {false, false};
                // With c0 = 0 and relu, c_1 = i relu(z_c) is exactly 0 wherever z_c < 0: relu(c_1) has its kink
                // there as a function of c0, so dL/dc0 does not exist (the kernel returns the subgradient 0).
                if (!givenInitial && activation == Activation::Relu) options.wantDInitial = {true, false};
                const char* const lossNames[] = {", dhSeq only", ", dFinal only", ", both"};
                const std::string label = std::string(useBias ? "bias" : "no bias") + lossNames[lossTerms] +
                                          (givenInitial ? ", initial given" : ", initial null") +
                                          (masked ? ", activeRows" : ", no activeRows");
                const CellConfig config = lstmConfig(activation, recurrent, useBias);
                const CellInputs in =
                    lstmInputs(config, masked ? kLengths : std::vector<int32_t>{}, seed += 7, !givenInitial);
                checkGradients(ops::makeLstmCell<double>, lstmReference, in, options, label);
              }
            }
          }
        }
      }});
    }
  }
  return true;
}();

RNNKIT_TEST("lstm gradients: one final state, partial dInitial, no dx") {
  const CellConfig config = lstmConfig(Activation::Tanh, Activation::Sigmoid, true);
  for (int k = 0; k < 2; ++k) {
    GradientOptions options;
    options.sequenceLoss = false;
    options.finalLoss = {k == 0, k == 1};  // only dFinal[k] given, the other nullptr
    options.wantDInitial = {k == 1, k == 0};
    options.wantDx = false;
    checkGradients(ops::makeLstmCell<double>, lstmReference, lstmInputs(config, kLengths, 300 + k), options,
                   "final state " + std::to_string(k) + " only");
  }
}

RNNKIT_TEST("lstm rows past their length keep their state and add no parameter gradient") {
  for (bool useBias : {true, false}) {
    const CellConfig config = lstmConfig(Activation::Tanh, Activation::Sigmoid, useBias);
    checkRowsPastLength(ops::makeLstmCell<double>, lstmInputs(config, kLengths, 400));
  }
}

RNNKIT_TEST("lstm float matches double within 1e-5 relative") {
  const CellConfig config = lstmConfig(Activation::Tanh, Activation::Sigmoid, true);
  const CellInputs in = randomInputs<double>(ops::makeLstmCell<double>, config, {{6, 4, 5, 8}, {6, 5, 3, 1}, 500});
  checkFloatMatchesDouble(ops::makeLstmCell<float>, ops::makeLstmCell<double>, in);
}

RNNKIT_TEST("lstm infer (stacked-operand kernel) gives forward's h in double and float") {
  checkInferAcrossShapes(ops::makeLstmCell<double>, ops::makeLstmCell<float>,
                         {lstmConfig(Activation::Tanh, Activation::Sigmoid, true),
                          lstmConfig(Activation::Relu, Activation::HardSigmoid, true)},
                         kShape, kLengths, 700);
}

RNNKIT_TEST("lstm states() and backward() after infer() are refused") {
  const CellConfig config = lstmConfig(Activation::Tanh, Activation::Sigmoid, true);
  const CellInputs in = randomInputs<double>(ops::makeLstmCell<double>, config, {kShape, kLengths, 720});
  const auto cell = ops::makeLstmCell<double>(config);
  const auto params = pointers(in.params), initial = pointers(in.initial);
  cell->forward(in.shape, in.x.data(), in.activeRowsOrNull(), params.data(), initial.data());
  Vector hFinal(in.shape.batch * in.shape.hiddenSize);
  double* finals[2] = {hFinal.data(), nullptr};
  cell->infer(in.shape, in.x.data(), in.activeRowsOrNull(), params.data(), initial.data(), nullptr, finals);
  expectStateError([&] { cell->states(0); }, "states() called before forward()");
  std::vector<Vector> dParams;
  for (const Vector& p : in.params) dParams.emplace_back(p.size());
  auto dParamPtr = mutablePointers(dParams);
  expectStateError([&] { cell->backward(params.data(), nullptr, nullptr, dParamPtr.data(), nullptr, nullptr); },
                   "backward() called before forward()");
}

RNNKIT_TEST("lstm reused workspaces give the results of a fresh cell") {
  const CellConfig config = lstmConfig(Activation::Tanh, Activation::Sigmoid, true);
  const CellInputs large = randomInputs<double>(ops::makeLstmCell<double>, config, {{7, 5, 3, 4}, {}, 600});
  const CellInputs small = randomInputs<double>(ops::makeLstmCell<double>, config, {kShape, kLengths, 610});
  checkWorkspaceReuse(ops::makeLstmCell<double>, large, small);
}

RNNKIT_TEST("lstm argument errors name what was expected and received") {
  CellConfig softmax = lstmConfig(Activation::Softmax, Activation::Sigmoid, true);
  expectInvalidArgument([&] { ops::makeLstmCell<double>(softmax); }, "activation");
  CellConfig wrongKind = lstmConfig(Activation::Tanh, Activation::Sigmoid, true);
  wrongKind.kind = CellKind::Gru;
  expectInvalidArgument([&] { ops::makeLstmCell<double>(wrongKind); }, "received 2");

  const CellConfig config = lstmConfig(Activation::Tanh, Activation::Sigmoid, true);
  const CellInputs in = randomInputs<double>(ops::makeLstmCell<double>, config, {kShape, kLengths, 700});
  const auto cell = ops::makeLstmCell<double>(config);
  const auto params = pointers(in.params);
  double* dParams[3] = {nullptr, nullptr, nullptr};
  expectStateError([&] { cell->backward(params.data(), nullptr, nullptr, dParams, nullptr, nullptr); },
                   "before forward");
  expectStateError([&] { cell->states(0); }, "before forward");
  expectInvalidArgument([&] { cell->forward({5, 0, 3, 3}, in.x.data(), nullptr, params.data(), nullptr); },
                        "batch >= 1 but received 0");
  const int32_t badRows[] = {3, 5, 2, 2, 1};
  expectInvalidArgument([&] { cell->forward(kShape, in.x.data(), badRows, params.data(), nullptr); },
                        "activeRows[1] in [0, 4] but received 5");
  const double* noBias[] = {params[0], params[1], nullptr};
  expectInvalidArgument([&] { cell->forward(kShape, in.x.data(), nullptr, noBias, nullptr); }, "params[2] (bias)");
  cell->forward(kShape, in.x.data(), nullptr, params.data(), nullptr);
  expectInvalidArgument([&] { cell->states(2); }, "received 2");
  expectInvalidArgument([&] { cell->backward(params.data(), nullptr, nullptr, dParams, nullptr, nullptr); },
                        "dParams[0]");
  RNNKIT_CHECK(cell->paramShapes(3, 2) == (std::vector<std::vector<int64_t>>{{3, 8}, {2, 8}, {8}}), "param shapes");
  RNNKIT_CHECK(ops::makeLstmCell<float>(lstmConfig(Activation::Tanh, Activation::Sigmoid, false))->paramShapes(3, 2) ==
                   (std::vector<std::vector<int64_t>>{{3, 8}, {2, 8}}),
               "param shapes without bias");
}

}  // namespace
}  // namespace rnnkit::tests::cells
