// Loss kernels: hand-checked 2x3 values per loss, float64 finite-difference checks of every gradient
// (with and without sample weights), the fused logit gradients through softmax / sigmoid, and accuracy counts.
#include <cmath>
#include <string>
#include <vector>

#include "harness.h"
#include "kernels/losses.h"

namespace {

using rnnkit::kernels::accuracyCount;
using rnnkit::kernels::Loss;
using rnnkit::kernels::lossForward;
using rnnkit::kernels::sigmoidBinaryCrossEntropyLogitGrad;
using rnnkit::kernels::softmaxCrossEntropyLogitGrad;
using rnnkit::tests::expectGradient;
using rnnkit::tests::numericGradient;
using rnnkit::tests::randomVector;

const char* lossName(Loss loss) {
  switch (loss) {
    case Loss::CategoricalCrossentropy: return "categoricalCrossentropy";
    case Loss::SparseCategoricalCrossentropy: return "sparseCategoricalCrossentropy";
    case Loss::BinaryCrossentropy: return "binaryCrossentropy";
    case Loss::MeanSquaredError: return "meanSquaredError";
    case Loss::MeanAbsoluteError: return "meanAbsoluteError";
    case Loss::Huber: return "huber";
  }
  return "?";
}

void expectNear(const std::string& what, double actual, double expected, double tolerance = 1e-12) {
  RNNKIT_CHECK(std::fabs(actual - expected) <= tolerance * std::max(1.0, std::fabs(expected)),
               what << ": got " << actual << ", expected " << expected);
}

// The shared 2x3 hand case: predictions p, and the weights w used for the weighted variant.
const std::vector<double> kP = {0.2, 0.3, 0.5, 0.6, 0.1, 0.3};
const std::vector<double> kW = {2.0, 0.5};

// Checks L unweighted (mean of the per-row losses) and weighted (sum w_i l_i / 2).
void expectHandLoss(Loss loss, const std::vector<double>& targets, double row0, double row1, double delta = 1.0) {
  const std::string name = lossName(loss);
  expectNear(name, lossForward<double>(loss, 2, 3, kP.data(), targets.data(), nullptr, delta, nullptr),
             (row0 + row1) / 2);
  expectNear(name + " weighted", lossForward<double>(loss, 2, 3, kP.data(), targets.data(), kW.data(), delta, nullptr),
             (2.0 * row0 + 0.5 * row1) / 2);
}

RNNKIT_TEST("losses: hand-checked 2x3 values for every loss") {
  expectHandLoss(Loss::CategoricalCrossentropy, {0, 0, 1, 0, 1, 0}, -std::log(0.5), -std::log(0.1));
  // Soft targets weight every log term.
  expectHandLoss(Loss::CategoricalCrossentropy, {0.5, 0, 0.5, 0, 0, 2}, -(0.5 * std::log(0.2) + 0.5 * std::log(0.5)),
                 -2 * std::log(0.3));
  expectHandLoss(Loss::SparseCategoricalCrossentropy, {2, 1}, -std::log(0.5), -std::log(0.1));
  // BCE rows: y = [0, 1, 1] and [1, 0, 0].
  expectHandLoss(Loss::BinaryCrossentropy, {0, 1, 1, 1, 0, 0},
                 -(std::log(0.8) + std::log(0.3) + std::log(0.5)) / 3,
                 -(std::log(0.6) + std::log(0.9) + std::log(0.7)) / 3);
  // Regression targets: errors p - y = [-0.3, 1.3, -0.5] and [0.6, -1.9, 0.2].
  const std::vector<double> y = {0.5, -1.0, 1.0, 0.0, 2.0, 0.1};
  expectHandLoss(Loss::MeanSquaredError, y, (0.09 + 1.69 + 0.25) / 3, (0.36 + 3.61 + 0.04) / 3);
  expectHandLoss(Loss::MeanAbsoluteError, y, (0.3 + 1.3 + 0.5) / 3, (0.6 + 1.9 + 0.2) / 3);
  // Huber, delta 1: |e| <= 1 -> e^2 / 2, else |e| - 1/2.
  expectHandLoss(Loss::Huber, y, (0.045 + 0.8 + 0.125) / 3, (0.18 + 1.4 + 0.02) / 3);
  // Huber, delta 0.4: |e| <= 0.4 -> e^2 / 2, else 0.4 |e| - 0.08.
  expectHandLoss(Loss::Huber, y, (0.045 + 0.44 + 0.12) / 3, (0.16 + 0.68 + 0.02) / 3, 0.4);
}

RNNKIT_TEST("losses: cross-entropies clip probabilities at 1e-7 and zero the clipped gradient") {
  const std::vector<double> p = {0.0, 1.0}, y = {1.0, 0.0};
  std::vector<double> grad(2, 99);
  const double ce =
      lossForward<double>(Loss::CategoricalCrossentropy, 1, 2, p.data(), y.data(), nullptr, 1.0, grad.data());
  expectNear("CE at p = 0", ce, -std::log(1e-7));
  RNNKIT_CHECK(grad[0] == 0 && grad[1] == 0, "clipped CE gradient should be 0, got " << grad[0] << ", " << grad[1]);
  const double bce = lossForward<double>(Loss::BinaryCrossentropy, 1, 2, p.data(), y.data(), nullptr, 1.0, grad.data());
  expectNear("BCE at saturated p", bce, -std::log(1e-7), 1e-9);
  RNNKIT_CHECK(std::isfinite(grad[0]) && std::isfinite(grad[1]), "clipped BCE gradient must be finite");
  RNNKIT_CHECK(lossForward<double>(Loss::MeanSquaredError, 0, 3, nullptr, nullptr, nullptr, 1.0, nullptr) == 0,
               "rows == 0 should give 0");
}

// Predictions and targets per loss, kept where the finite-difference check is meaningful: probabilities inside
// (0.05, 0.95), MAE errors at least 0.1 from 0, Huber errors at least 0.1 from +-delta on both sides of it.
struct LossCase {
  std::vector<double> predictions, targets;
};

LossCase makeCase(Loss loss, int64_t rows, int64_t cols, double delta, uint32_t seed) {
  LossCase c;
  const auto u = randomVector(rows * cols, seed), v = randomVector(rows * cols, seed + 1);
  c.predictions.resize(rows * cols);
  c.targets.resize(rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i) {
    const double unit0 = (u[i] + 1) / 2, unit1 = (v[i] + 1) / 2;  // in [0, 1]
    const double sign = v[i] < 0 ? -1.0 : 1.0;
    switch (loss) {
      case Loss::CategoricalCrossentropy:
      case Loss::SparseCategoricalCrossentropy:
      case Loss::BinaryCrossentropy:
        c.predictions[i] = 0.05 + 0.9 * unit0;
        c.targets[i] = unit1;  // soft targets; CE ones need not sum to 1
        break;
      case Loss::MeanSquaredError:
        c.predictions[i] = u[i] * 2;
        c.targets[i] = v[i] * 2;
        break;
      case Loss::MeanAbsoluteError:
        c.predictions[i] = u[i];
        c.targets[i] = u[i] - sign * (0.1 + unit1);
        break;
      case Loss::Huber: {
        // Alternate small (|e| in [0, delta - 0.1]) and large (|e| in [delta + 0.1, 2 delta + 0.1]) errors.
        const double magnitude = i % 2 == 0 ? (delta - 0.1) * std::fabs(u[i]) : delta + 0.1 + delta * unit1;
        c.predictions[i] = u[i];
        c.targets[i] = u[i] - sign * magnitude;
        break;
      }
    }
  }
  if (loss == Loss::SparseCategoricalCrossentropy) {
    c.targets.resize(rows);
    for (int64_t r = 0; r < rows; ++r) c.targets[r] = static_cast<double>((r * 7 + 3) % cols);
  }
  return c;
}

RNNKIT_TEST("losses: gradPredictions matches finite differences for every loss, weighted and not") {
  const int64_t rows = 4, cols = 5;
  const double delta = 0.7;
  const auto weights = randomVector(rows, 31);
  std::vector<double> positiveWeights(rows);
  for (int64_t r = 0; r < rows; ++r) positiveWeights[r] = 0.25 + std::fabs(weights[r]);
  for (Loss loss : {Loss::CategoricalCrossentropy, Loss::SparseCategoricalCrossentropy, Loss::BinaryCrossentropy,
                    Loss::MeanSquaredError, Loss::MeanAbsoluteError, Loss::Huber}) {
    for (bool weighted : {false, true}) {
      LossCase c = makeCase(loss, rows, cols, delta, 40 + static_cast<uint32_t>(loss));
      const double* w = weighted ? positiveWeights.data() : nullptr;
      auto value = [&]() {
        return lossForward<double>(loss, rows, cols, c.predictions.data(), c.targets.data(), w, delta, nullptr);
      };
      std::vector<double> grad(rows * cols);
      const double withGrad =
          lossForward<double>(loss, rows, cols, c.predictions.data(), c.targets.data(), w, delta, grad.data());
      const std::string name = std::string(lossName(loss)) + (weighted ? " weighted" : "");
      expectNear(name + " value with and without gradient", withGrad, value());
      expectGradient(name, grad, numericGradient(value, c.predictions));
    }
  }
}

RNNKIT_TEST("losses: float instantiation agrees with double") {
  const int64_t rows = 3, cols = 4;
  for (Loss loss : {Loss::CategoricalCrossentropy, Loss::SparseCategoricalCrossentropy, Loss::BinaryCrossentropy,
                    Loss::MeanSquaredError, Loss::MeanAbsoluteError, Loss::Huber}) {
    LossCase c = makeCase(loss, rows, cols, 1.0, 60);
    std::vector<double> grad(rows * cols);
    const double expected =
        lossForward<double>(loss, rows, cols, c.predictions.data(), c.targets.data(), nullptr, 1.0, grad.data());
    std::vector<float> pf(c.predictions.begin(), c.predictions.end()), tf(c.targets.begin(), c.targets.end()),
        gradF(rows * cols);
    const double actual = lossForward<float>(loss, rows, cols, pf.data(), tf.data(), nullptr, 1.0f, gradF.data());
    expectNear(std::string(lossName(loss)) + " float", actual, expected, 1e-5);
    for (size_t i = 0; i < grad.size(); ++i) {
      RNNKIT_CHECK(std::fabs(gradF[i] - grad[i]) < 1e-5, lossName(loss) << " float grad[" << i << "] = " << gradF[i]);
    }
  }
}

std::vector<double> softmaxRows(const std::vector<double>& logits, int64_t rows, int64_t cols) {
  std::vector<double> p(logits.size());
  for (int64_t r = 0; r < rows; ++r) {
    double top = logits[r * cols], sum = 0;
    for (int64_t c = 1; c < cols; ++c) top = std::max(top, logits[r * cols + c]);
    for (int64_t c = 0; c < cols; ++c) sum += p[r * cols + c] = std::exp(logits[r * cols + c] - top);
    for (int64_t c = 0; c < cols; ++c) p[r * cols + c] /= sum;
  }
  return p;
}

RNNKIT_TEST("losses: fused softmax + cross-entropy logit gradient matches finite differences") {
  const int64_t rows = 3, cols = 4;
  const auto w = std::vector<double>{0.5, 2.0, 1.25};
  for (bool sparse : {false, true}) {
    for (bool weighted : {false, true}) {
      auto logits = randomVector(rows * cols, 70, 2.0);
      auto targets = randomVector(rows * cols, 71);
      for (double& t : targets) t = std::fabs(t);  // soft, unnormalised: exercises p * sum_c y
      if (sparse) targets = {1, 3, 0};
      const Loss loss = sparse ? Loss::SparseCategoricalCrossentropy : Loss::CategoricalCrossentropy;
      const double* weights = weighted ? w.data() : nullptr;
      auto value = [&]() {
        const auto p = softmaxRows(logits, rows, cols);
        return lossForward<double>(loss, rows, cols, p.data(), targets.data(), weights, 1.0, nullptr);
      };
      const auto p = softmaxRows(logits, rows, cols);
      std::vector<double> grad(rows * cols);
      softmaxCrossEntropyLogitGrad<double>(rows, cols, sparse, p.data(), targets.data(), weights, grad.data());
      expectGradient(std::string("softmax CE") + (sparse ? " sparse" : "") + (weighted ? " weighted" : ""), grad,
                     numericGradient(value, logits));
    }
  }
}

RNNKIT_TEST("losses: fused sigmoid + binary cross-entropy logit gradient matches finite differences") {
  const int64_t rows = 3, cols = 2;
  const auto w = std::vector<double>{0.5, 2.0, 1.25};
  for (bool weighted : {false, true}) {
    auto logits = randomVector(rows * cols, 80, 2.5);
    auto targets = randomVector(rows * cols, 81);
    for (double& t : targets) t = (t + 1) / 2;
    const double* weights = weighted ? w.data() : nullptr;
    auto sigmoid = [&]() {
      std::vector<double> p(logits.size());
      for (size_t i = 0; i < p.size(); ++i) p[i] = 1 / (1 + std::exp(-logits[i]));
      return p;
    };
    auto value = [&]() {
      const auto p = sigmoid();
      return lossForward<double>(Loss::BinaryCrossentropy, rows, cols, p.data(), targets.data(), weights, 1.0, nullptr);
    };
    const auto p = sigmoid();
    std::vector<double> grad(rows * cols);
    sigmoidBinaryCrossEntropyLogitGrad<double>(rows, cols, p.data(), targets.data(), weights, grad.data());
    expectGradient(std::string("sigmoid BCE") + (weighted ? " weighted" : ""), grad, numericGradient(value, logits));
  }
}

RNNKIT_TEST("losses: fused gradients stay exact where the probabilities saturate") {
  // p = softmax([100, 0]) rounds to [1, 0]; the clipped form would give 0 but dz = (p - y) / rows is exact.
  const std::vector<double> p = {1.0, 0.0, 0.25, 0.75}, y = {0, 1, 0, 1};
  std::vector<double> grad(4);
  softmaxCrossEntropyLogitGrad<double>(2, 2, false, p.data(), y.data(), nullptr, grad.data());
  const std::vector<double> expected = {0.5, -0.5, 0.125, -0.125};
  for (int i = 0; i < 4; ++i) expectNear("softmax CE grad " + std::to_string(i), grad[i], expected[i]);
  const std::vector<double> sparseTargets = {1, 1};
  softmaxCrossEntropyLogitGrad<double>(2, 2, true, p.data(), sparseTargets.data(), nullptr, grad.data());
  for (int i = 0; i < 4; ++i) expectNear("sparse softmax CE grad " + std::to_string(i), grad[i], expected[i]);
  sigmoidBinaryCrossEntropyLogitGrad<double>(2, 2, p.data(), y.data(), nullptr, grad.data());
  for (int i = 0; i < 4; ++i) expectNear("sigmoid BCE grad " + std::to_string(i), grad[i], expected[i] / 2);
}

RNNKIT_TEST("losses: accuracyCount on hand cases for every kind") {
  // Row 2 ties at columns 0 and 1: argmax takes column 0.
  const std::vector<double> p = {0.2, 0.3, 0.5, 0.6, 0.1, 0.3, 0.4, 0.4, 0.2};
  const std::vector<double> oneHot = {0, 0, 1, 0, 1, 0, 0, 1, 0}, w = {2, 3, 4};
  auto count = [](Loss kind, int64_t rows, int64_t cols, const std::vector<double>& predictions,
                  const std::vector<double>& targets, const double* weights) {
    return accuracyCount<double>(kind, rows, cols, predictions.data(), targets.data(), weights);
  };
  expectNear("categorical", count(Loss::CategoricalCrossentropy, 3, 3, p, oneHot, nullptr), 1);
  expectNear("categorical weighted", count(Loss::CategoricalCrossentropy, 3, 3, p, oneHot, w.data()), 2);
  const std::vector<double> indices = {2, 0, 0};
  expectNear("sparse", count(Loss::SparseCategoricalCrossentropy, 3, 3, p, indices, nullptr), 3);
  expectNear("sparse weighted", count(Loss::SparseCategoricalCrossentropy, 3, 3, p, indices, w.data()), 9);
  const std::vector<double> pb = {0.7, 0.2, 0.4, 0.9}, yb = {1, 0, 1, 1}, wb = {1, 2};
  expectNear("binary", count(Loss::BinaryCrossentropy, 2, 2, pb, yb, nullptr), 3);
  expectNear("binary weighted", count(Loss::BinaryCrossentropy, 2, 2, pb, yb, wb.data()), 4);
  // Regression losses: one column compares thresholds, several compare argmax.
  expectNear("mse, 1 column", count(Loss::MeanSquaredError, 2, 1, {0.8, 0.3}, {1, 1}, nullptr), 1);
  expectNear("huber, 3 columns", count(Loss::Huber, 3, 3, p, oneHot, nullptr), 1);
  const std::vector<float> pf(p.begin(), p.end()), yf(oneHot.begin(), oneHot.end());
  expectNear("categorical float",
             accuracyCount<float>(Loss::CategoricalCrossentropy, 3, 3, pf.data(), yf.data(), nullptr), 1);
}

}  // namespace
