// kernels/lbfgs.h on problems with known minima, in double: a convex quadratic (the exact solution of A w = b), the
// Rosenbrock valley (non-convex, minimum at (1, 1)), and the stopping reasons.
#include <cmath>
#include <vector>

#include <Eigen/Cholesky>

#include "harness.h"
#include "kernels/lbfgs.h"

namespace {

namespace k = rnnkit::kernels;

RNNKIT_TEST("lbfgs: a convex quadratic reaches A^-1 b") {
  // f(w) = 0.5 w'Aw - b'w with A symmetric positive definite (condition number ~100).
  const int n = 6;
  Eigen::MatrixXd m = Eigen::MatrixXd::Random(n, n);
  Eigen::MatrixXd a = m.transpose() * m + Eigen::MatrixXd::Identity(n, n) * 0.05;
  Eigen::VectorXd b = Eigen::VectorXd::LinSpaced(n, -1, 2);
  std::vector<double> w(n, 0.0);
  k::LbfgsOptions options;
  options.gradientTolerance = 1e-10;
  options.valueTolerance = 0;
  options.maxIterations = 500;
  const k::LbfgsResult result = k::lbfgsMinimize(n, w.data(), [&](const double* x, double* g) {
    Eigen::Map<const Eigen::VectorXd> point(x, n);
    Eigen::Map<Eigen::VectorXd>(g, n) = a * point - b;
    return 0.5 * point.dot(a * point) - b.dot(point);
  }, options);
  const Eigen::VectorXd exact = a.ldlt().solve(b);
  const double error = (Eigen::Map<Eigen::VectorXd>(w.data(), n) - exact).cwiseAbs().maxCoeff();
  // In double the value stops moving (a zero decrease ends the solve) about when the gradient reaches 1e-9.
  RNNKIT_CHECK(result.stop != k::LbfgsStop::Iterations && result.stop != k::LbfgsStop::LineSearch,
               "stopped by " << static_cast<int>(result.stop) << " after " << result.iterations);
  RNNKIT_CHECK(error < 1e-6, "max |w - A^-1 b| = " << error << " after " << result.iterations << " iterations");
}

RNNKIT_TEST("lbfgs: the Rosenbrock valley from (-1.2, 1) reaches (1, 1)") {
  std::vector<double> w = {-1.2, 1.0};
  k::LbfgsOptions options;
  options.gradientTolerance = 1e-9;
  options.valueTolerance = 0;
  options.maxIterations = 500;
  const k::LbfgsResult result = k::lbfgsMinimize(2, w.data(), [](const double* x, double* g) {
    const double p = x[1] - x[0] * x[0], q = 1 - x[0];
    g[0] = -400 * x[0] * p - 2 * q;
    g[1] = 200 * p;
    return 100 * p * p + q * q;
  }, options);
  RNNKIT_CHECK(std::abs(w[0] - 1) < 1e-6 && std::abs(w[1] - 1) < 1e-6,
               "ended at (" << w[0] << ", " << w[1] << ") after " << result.iterations << " iterations");
  RNNKIT_CHECK(result.value < 1e-12, "f = " << result.value);
}

RNNKIT_TEST("lbfgs: stops at the iteration bound and at a gradient that is already small") {
  std::vector<double> w = {-1.2, 1.0};
  k::LbfgsOptions options;
  options.maxIterations = 3;
  options.gradientTolerance = 0;
  options.valueTolerance = 0;
  auto rosenbrock = [](const double* x, double* g) {
    const double p = x[1] - x[0] * x[0], q = 1 - x[0];
    g[0] = -400 * x[0] * p - 2 * q;
    g[1] = 200 * p;
    return 100 * p * p + q * q;
  };
  const k::LbfgsResult bounded = k::lbfgsMinimize(2, w.data(), rosenbrock, options);
  RNNKIT_CHECK(bounded.stop == k::LbfgsStop::Iterations && bounded.iterations == 3, "stop " << static_cast<int>(bounded.stop));
  RNNKIT_CHECK(bounded.value < 24.2, "three iterations must descend from f(-1.2, 1) = 24.2, got " << bounded.value);
  std::vector<double> at = {1.0, 1.0};
  const k::LbfgsResult done = k::lbfgsMinimize(2, at.data(), rosenbrock, k::LbfgsOptions{});
  RNNKIT_CHECK(done.stop == k::LbfgsStop::Gradient && done.iterations == 0 && done.evaluations == 1, "at the minimum: "
               << done.iterations << " iterations, " << done.evaluations << " evaluations");
}

}  // namespace
