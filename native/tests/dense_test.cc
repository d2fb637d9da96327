// Dense kernels: hand-checked forward values, stable softmax, and float64 finite-difference gradient checks
// of denseBackward for every activation.
#include <cmath>
#include <string>
#include <vector>

#include "harness.h"
#include "kernels/dense.h"

namespace {

using rnnkit::kernels::Activation;
using rnnkit::kernels::denseBackward;
using rnnkit::kernels::denseForward;
using rnnkit::tests::expectGradient;
using rnnkit::tests::numericGradient;
using rnnkit::tests::randomVector;

const char* activationName(Activation act) {
  switch (act) {
    case Activation::Linear: return "linear";
    case Activation::Tanh: return "tanh";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::HardSigmoid: return "hardSigmoid";
    case Activation::Relu: return "relu";
    case Activation::Softmax: return "softmax";
  }
  return "?";
}

template <typename T>
void expectClose(const std::string& what, const std::vector<T>& actual, const std::vector<double>& expected,
                 double tolerance) {
  for (size_t i = 0; i < expected.size(); ++i) {
    RNNKIT_CHECK(std::isfinite(actual[i]) && std::fabs(actual[i] - expected[i]) < tolerance,
                 what << "[" << i << "]: got " << actual[i] << ", expected " << expected[i]);
  }
}

RNNKIT_TEST("dense forward: linear with bias matches a hand product") {
  // x [2, 3], kernel [3, 2], bias [2]
  const std::vector<double> x = {1, 2, 3, -1, 0, 2};
  const std::vector<double> kernel = {1, -1, 0.5, 2, -2, 0};
  const std::vector<double> bias = {0.25, -0.5};
  std::vector<double> y(4);
  denseForward<double>(2, 3, 2, Activation::Linear, x.data(), kernel.data(), bias.data(), y.data());
  // row 0: [1 + 1 - 6, -1 + 4 + 0] + bias = [-3.75, 2.5]; row 1: [-1 + 0 - 4, 1 + 0 + 0] + bias = [-4.75, 0.5]
  expectClose("linear y", y, {-3.75, 2.5, -4.75, 0.5}, 1e-12);

  denseForward<double>(2, 3, 2, Activation::Relu, x.data(), kernel.data(), nullptr, y.data());
  expectClose("relu y without bias", y, {0, 3, 0, 1}, 1e-12);
}

RNNKIT_TEST("dense forward: softmax rows sum to 1 and survive huge logits") {
  // Identity kernel so the logits are x itself: exp(1000) would overflow without the max shift.
  const std::vector<double> x = {1000, 1001, 1002, -5, 0, 5};
  const std::vector<double> identity = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  std::vector<double> y(6);
  denseForward<double>(2, 3, 3, Activation::Softmax, x.data(), identity.data(), nullptr, y.data());
  const double denom = 1 + std::exp(1.0) + std::exp(2.0);
  const std::vector<double> row0 = {1 / denom, std::exp(1.0) / denom, std::exp(2.0) / denom};
  for (int c = 0; c < 3; ++c) RNNKIT_CHECK(std::fabs(y[c] - row0[c]) < 1e-12, "row 0 col " << c << " = " << y[c]);
  const double sum1 = y[3] + y[4] + y[5];
  RNNKIT_CHECK(std::fabs(sum1 - 1) < 1e-12, "row 1 sums to " << sum1);

  std::vector<float> xf(x.begin(), x.end()), idf(identity.begin(), identity.end()), yf(6);
  denseForward<float>(2, 3, 3, Activation::Softmax, xf.data(), idf.data(), nullptr, yf.data());
  expectClose("float softmax y", yf, y, 1e-6);
}

RNNKIT_TEST("dense forward: float matches double on random data") {
  const int64_t rows = 7, inSize = 5, outSize = 4;
  const auto x = randomVector(rows * inSize, 11), kernel = randomVector(inSize * outSize, 12),
             bias = randomVector(outSize, 13);
  std::vector<double> y(rows * outSize);
  denseForward<double>(rows, inSize, outSize, Activation::Tanh, x.data(), kernel.data(), bias.data(), y.data());
  std::vector<float> xf(x.begin(), x.end()), kf(kernel.begin(), kernel.end()), bf(bias.begin(), bias.end()),
      yf(y.size());
  denseForward<float>(rows, inSize, outSize, Activation::Tanh, xf.data(), kf.data(), bf.data(), yf.data());
  expectClose("float tanh y", yf, y, 1e-5);
}

// L = sum(R * y) for a fixed random R; dL/dy = R.
void checkDenseGradients(Activation act, bool useBias) {
  const int64_t rows = 4, inSize = 3, outSize = 5;
  auto x = randomVector(rows * inSize, 21);
  auto kernel = randomVector(inSize * outSize, 22);
  auto bias = randomVector(outSize, 23, 0.5);
  const auto weightsR = randomVector(rows * outSize, 24);
  std::vector<double> y(rows * outSize);
  auto loss = [&]() {
    denseForward<double>(rows, inSize, outSize, act, x.data(), kernel.data(), useBias ? bias.data() : nullptr,
                         y.data());
    double total = 0;
    for (size_t i = 0; i < y.size(); ++i) total += weightsR[i] * y[i];
    return total;
  };
  loss();
  std::vector<double> dy = weightsR, dKernel(kernel.size()), dBias(bias.size()), dx(x.size());
  denseBackward<double>(rows, inSize, outSize, act, x.data(), kernel.data(), y.data(), dy.data(), dKernel.data(),
                        useBias ? dBias.data() : nullptr, dx.data());
  const std::string name = std::string(activationName(act)) + (useBias ? "" : " (no bias)");
  expectGradient(name + " dKernel", dKernel, numericGradient(loss, kernel));
  expectGradient(name + " dx", dx, numericGradient(loss, x));
  if (useBias) expectGradient(name + " dBias", dBias, numericGradient(loss, bias));
}

RNNKIT_TEST("dense backward: finite differences for every activation") {
  for (Activation act : {Activation::Linear, Activation::Tanh, Activation::Sigmoid, Activation::HardSigmoid,
                         Activation::Relu, Activation::Softmax}) {
    checkDenseGradients(act, true);
  }
  checkDenseGradients(Activation::Tanh, false);
  checkDenseGradients(Activation::Softmax, false);
}

RNNKIT_TEST("dense backward: optional outputs skipped, dz left in dy, zero rows give zero dKernel") {
  const int64_t rows = 2, inSize = 2, outSize = 2;
  const std::vector<double> x = {1, 2, 3, 4}, kernel = {1, 0, 0, 1};
  std::vector<double> y(4);
  denseForward<double>(rows, inSize, outSize, Activation::Relu, x.data(), kernel.data(), nullptr, y.data());
  std::vector<double> dy = {1, -1, 2, -2}, dKernel(4, 99);
  denseBackward<double>(rows, inSize, outSize, Activation::Relu, x.data(), kernel.data(), y.data(), dy.data(),
                        dKernel.data(), nullptr, nullptr);
  // All z > 0, so dz = dy; dKernel = x^T dz = [[1*1 + 3*2, 1*-1 + 3*-2], [2*1 + 4*2, 2*-1 + 4*-2]].
  const std::vector<double> expected = {7, -7, 10, -10};
  for (int i = 0; i < 4; ++i) RNNKIT_CHECK(dKernel[i] == expected[i], "dKernel[" << i << "] = " << dKernel[i]);
  RNNKIT_CHECK(dy[0] == 1 && dy[3] == -2, "dy should now hold dz");

  std::vector<double> dBias(2, 99);
  denseBackward<double>(0, inSize, outSize, Activation::Relu, x.data(), kernel.data(), y.data(), dy.data(),
                        dKernel.data(), dBias.data(), nullptr);
  for (int i = 0; i < 4; ++i) RNNKIT_CHECK(dKernel[i] == 0, "rows == 0: dKernel[" << i << "] = " << dKernel[i]);
  RNNKIT_CHECK(dBias[0] == 0 && dBias[1] == 0, "rows == 0: dBias not zeroed");
}

}  // namespace
