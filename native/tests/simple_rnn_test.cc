// SimpleRNN cell: hand-worked forward cases, a plain-loop reference, float64 finite-difference gradient checks over
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

// h_t = act(x_t W + h_{t-1} U + b) per row, plain loops.
ReferenceResult simpleRnnReference(const CellInputs& in) {
  const int64_t T = in.shape.steps, B = in.shape.batch, F = in.shape.inputSize, H = in.shape.hiddenSize;
  const Vector& W = in.params[0];
  const Vector& U = in.params[1];
  ReferenceResult result;
  Vector h = in.initial[0];
  h.resize((T + 1) * B * H);
  for (int64_t s = 0; s < T; ++s) {
    for (int64_t r = 0; r < B; ++r) {
      const int64_t prev = (s * B + r) * H, next = ((s + 1) * B + r) * H;
      for (int64_t j = 0; j < H; ++j) {
        if (!in.lengths.empty() && s >= in.lengths[r]) {
          h[next + j] = h[prev + j];
          continue;
        }
        double z = in.config.useBias ? in.params[2][j] : 0.0;
        for (int64_t f = 0; f < F; ++f) z += in.x[(s * B + r) * F + f] * W[f * H + j];
        for (int64_t k = 0; k < H; ++k) z += h[prev + k] * U[k * H + j];
        h[next + j] = activate(in.config.activation, z, result);
      }
    }
  }
  result.states = {h};
  return result;
}

CellConfig simpleRnnConfig(Activation activation, bool useBias) {
  CellConfig config;
  config.kind = CellKind::SimpleRnn;
  config.activation = activation;
  config.useBias = useBias;
  return config;
}

const std::vector<int32_t> kLengths = {5, 4, 2, 0};  // activeRows = {3, 3, 2, 2, 1}
const RecurrentShape kShape = {5, 4, 3, 3};          // T, B, F, H
// Without activeRows every row runs every step; T = 3 keeps dL/dh0 of a dFinal-only loss well above the
// finite-difference noise (~1e-10 |L|) even with sigmoid / hardSigmoid, whose derivatives (<= 0.25) shrink it
// at every step.
const RecurrentShape kUnmaskedShape = {3, 3, 3, 3};

CellInputs simpleRnnInputs(const CellConfig& config, const std::vector<int32_t>& lengths, uint32_t seed,
                           bool zeroInitial = false) {
  return kinkFreeInputs<double>(ops::makeSimpleRnnCell<double>, simpleRnnReference, config,
                                {lengths.empty() ? kUnmaskedShape : kShape, lengths, seed, 0.9, 1.5, zeroInitial});
}

// Runs a forward with the given parameters and returns h after every step.
Vector simpleRnnStates(const CellConfig& config, const RecurrentShape& shape, const Vector& x,
                       const std::vector<Vector>& params, const Vector& h0) {
  CellInputs in;
  in.config = config;
  in.shape = shape;
  in.params = params;
  in.x = x;
  in.initial = {h0};
  return runCell(ops::makeSimpleRnnCell<double>, in, Vector(shape.steps * shape.batch * shape.hiddenSize, 0.0),
                 randomFinalWeights(1, shape.batch * shape.hiddenSize, 1))
      .states[0];
}

// F = H = 2, B = 1, T = 2, h0 = 0, W = [[1, 2], [0, 1]], U = [[0.5, 0], [1, 0.5]], b = (0.1, -0.1),
// x_1 = (1, 1), x_2 = (0, 2):
//   z_1 = x_1 W + b = (1, 3) + b = (1.1, 2.9)
//   linear: h_1 = (1.1, 2.9);  z_2 = x_2 W + h_1 U + b = (0, 2) + (0.55 + 2.9, 1.45) + b = (3.55, 3.35) = h_2
//   tanh:   h_1 = (tanh 1.1, tanh 2.9) = (0.8004990217606297, 0.9939631673505831)
const std::vector<Vector> kHandParams = {{1, 2, 0, 1}, {0.5, 0, 1, 0.5}, {0.1, -0.1}};
const Vector kHandX = {1, 1, 0, 2};

RNNKIT_TEST("simple rnn forward by hand: linear activation, T=2") {
  const Vector states = simpleRnnStates(simpleRnnConfig(Activation::Linear, true), {2, 1, 2, 2}, kHandX,
                                        kHandParams, {0, 0});
  const Vector expected = {0, 0, 1.1, 2.9, 3.55, 3.35};
  RNNKIT_CHECK(relativeDifference(states.data(), expected.data(), 6) < 1e-14, "h differs from the hand values");
}

RNNKIT_TEST("simple rnn forward by hand: tanh activation, T=1") {
  const Vector states = simpleRnnStates(simpleRnnConfig(Activation::Tanh, true), {1, 1, 2, 2}, {1, 1},
                                        kHandParams, {0, 0});
  const Vector expected = {0, 0, 0.8004990217606297, 0.9939631673505831};
  RNNKIT_CHECK(relativeDifference(states.data(), expected.data(), 4) < 1e-14, "h differs from the hand values");
}

// One registered case per activation; each loops over bias, loss terms, initial state and activeRows.
const bool kGradientCasesRegistered = [] {
  const Activation activations[] = {Activation::Tanh, Activation::Sigmoid, Activation::HardSigmoid, Activation::Relu,
                                    Activation::Linear};
  for (Activation activation : activations) {
    const std::string name = std::string("simple rnn gradients: activation ") + activationName(activation);
    registry().push_back({name, [activation] {
      uint32_t seed = 100;
      for (bool useBias : {true, false}) {
        for (int lossTerms = 0; lossTerms < 3; ++lossTerms) {  // 0: sequence only, 1: final only, 2: both
          for (bool givenInitial : {true, false}) {
            for (bool masked : {true, false}) {
              GradientOptions options;
              options.givenInitial = givenInitial;
              options.sequenceLoss = lossTerms != 1;
              if (lossTerms == 0) options.finalLoss = {false};
              const char* const lossNames[] = {", dhSeq only", ", dFinal only", ", both"};
              const std::string label = std::string(useBias ? "bias" : "no bias") + lossNames[lossTerms] +
                                        (givenInitial ? ", initial given" : ", initial null") +
                                        (masked ? ", activeRows" : ", no activeRows");
              const CellConfig config = simpleRnnConfig(activation, useBias);
              const CellInputs in =
                  simpleRnnInputs(config, masked ? kLengths : std::vector<int32_t>{}, seed += 7, !givenInitial);
              checkGradients(ops::makeSimpleRnnCell<double>, simpleRnnReference, in, options, label);
            }
          }
        }
      }
    }});
  }
  return true;
}();

RNNKIT_TEST("simple rnn gradients: no dx, no dInitial") {
  GradientOptions options;
  options.wantDInitial = {false};
  options.wantDx = false;
  checkGradients(ops::makeSimpleRnnCell<double>, simpleRnnReference,
                 simpleRnnInputs(simpleRnnConfig(Activation::Tanh, true), kLengths, 300), options, "no dx");
}

RNNKIT_TEST("simple rnn rows past their length keep their state and add no parameter gradient") {
  for (bool useBias : {true, false}) {
    checkRowsPastLength(ops::makeSimpleRnnCell<double>,
                        simpleRnnInputs(simpleRnnConfig(Activation::Tanh, useBias), kLengths, 400));
  }
}

RNNKIT_TEST("simple rnn float matches double within 1e-5 relative") {
  const CellConfig config = simpleRnnConfig(Activation::Tanh, true);
  const CellInputs in =
      randomInputs<double>(ops::makeSimpleRnnCell<double>, config, {{6, 4, 5, 8}, {6, 5, 3, 1}, 500});
  checkFloatMatchesDouble(ops::makeSimpleRnnCell<float>, ops::makeSimpleRnnCell<double>, in);
}

RNNKIT_TEST("simple rnn infer (stacked-operand kernel) gives forward's h in double and float") {
  checkInferAcrossShapes(ops::makeSimpleRnnCell<double>, ops::makeSimpleRnnCell<float>,
                         {simpleRnnConfig(Activation::Tanh, true), simpleRnnConfig(Activation::Relu, true)}, kShape,
                         kLengths, 630);
}

RNNKIT_TEST("simple rnn reused workspaces give the results of a fresh cell") {
  const CellConfig config = simpleRnnConfig(Activation::Tanh, true);
  const CellInputs large = randomInputs<double>(ops::makeSimpleRnnCell<double>, config, {{7, 5, 3, 4}, {}, 600});
  const CellInputs small = randomInputs<double>(ops::makeSimpleRnnCell<double>, config, {kShape, kLengths, 610});
  checkWorkspaceReuse(ops::makeSimpleRnnCell<double>, large, small);
}

RNNKIT_TEST("simple rnn argument errors name what was expected and received") {
  expectInvalidArgument([] { ops::makeSimpleRnnCell<double>(simpleRnnConfig(Activation::Softmax, true)); },
                        "activation");
  CellConfig wrongKind = simpleRnnConfig(Activation::Tanh, true);
  wrongKind.kind = CellKind::Lstm;
  expectInvalidArgument([&] { ops::makeSimpleRnnCell<double>(wrongKind); }, "received 1");

  const CellConfig config = simpleRnnConfig(Activation::Tanh, true);
  const CellInputs in = randomInputs<double>(ops::makeSimpleRnnCell<double>, config, {kShape, kLengths, 700});
  const auto cell = ops::makeSimpleRnnCell<double>(config);
  const auto params = pointers(in.params);
  double* dParams[3] = {nullptr, nullptr, nullptr};
  expectStateError([&] { cell->backward(params.data(), nullptr, nullptr, dParams, nullptr, nullptr); },
                   "before forward");
  expectInvalidArgument([&] { cell->forward({0, 4, 3, 3}, in.x.data(), nullptr, params.data(), nullptr); },
                        "steps >= 1 but received 0");
  const int32_t badRows[] = {3, 3, -1, 2, 1};
  expectInvalidArgument([&] { cell->forward(kShape, in.x.data(), badRows, params.data(), nullptr); },
                        "activeRows[2] in [0, 4] but received -1");
  expectInvalidArgument([&] { cell->forward(kShape, nullptr, nullptr, params.data(), nullptr); }, "x");
  cell->forward(kShape, in.x.data(), nullptr, params.data(), nullptr);
  expectInvalidArgument([&] { cell->states(1); }, "received 1");
  RNNKIT_CHECK(cell->stateCount() == 1, "one state");
  RNNKIT_CHECK(cell->paramShapes(3, 2) == (std::vector<std::vector<int64_t>>{{3, 2}, {2, 2}, {2}}), "param shapes");
  RNNKIT_CHECK(ops::makeSimpleRnnCell<float>(simpleRnnConfig(Activation::Tanh, false))->paramShapes(3, 2) ==
                   (std::vector<std::vector<int64_t>>{{3, 2}, {2, 2}}),
               "param shapes without bias");
}

}  // namespace
}  // namespace rnnkit::tests::cells
