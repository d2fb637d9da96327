// L-BFGS (Nocedal & Wright, "Numerical Optimization", 2nd ed., algorithms 7.4 and 7.5) over a vector of doubles,
// for smooth objectives solved to convergence in one call (rk.fineTune's linear probe: ops/network.cc, minimize()).
//
// Direction: d = -H g by the two-loop recursion over the last `memory` pairs s = w' - w, y = g' - g, with
// H0 = (s.y / y.y) I from the newest pair. Line search: backtracking from the full step (the first step moves at most
// 1 in the largest coordinate) until the Armijo condition f(w + a d) <= f(w) + c1 a g.d holds; a pair is kept only
// when s.y > 0, so H stays positive definite. Stops when max |g| <= gradientTolerance * max(1, |f|), when one
// iteration lowers f by less than valueTolerance * max(1, |f|), after maxIterations, or when no step is accepted.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <vector>

namespace rnnkit::kernels {

struct LbfgsOptions {
  int maxIterations = 200;
  double gradientTolerance = 1e-4;
  double valueTolerance = 1e-8;
  int memory = 10;
};

enum class LbfgsStop { Gradient, Value, Iterations, LineSearch };

struct LbfgsResult {
  double value = 0, gradientMax = 0;
  int iterations = 0, evaluations = 0;
  LbfgsStop stop = LbfgsStop::Iterations;
};

// Minimises objective(w, gradient) -> value from w (n values), leaving the best point found in w.
template <typename Objective>
LbfgsResult lbfgsMinimize(int64_t n, double* wData, Objective&& objective, const LbfgsOptions& options) {
  using Vector = Eigen::VectorXd;
  constexpr double kArmijo = 1e-4, kBacktrack = 0.5;
  constexpr int kMaxBacktracks = 30;
  Eigen::Map<Vector> w(wData, n);
  Vector gradient(n), direction(n), trial(n), trialGradient(n), q(n);
  struct Pair {
    Vector s, y;
    double rho;
  };
  std::deque<Pair> pairs;
  LbfgsResult result;
  double value = objective(w.data(), gradient.data());
  result.evaluations = 1;
  auto finish = [&](int iterations, LbfgsStop stop) {
    result.value = value;
    result.gradientMax = gradient.cwiseAbs().maxCoeff();
    result.iterations = iterations;
    result.stop = stop;
    return result;
  };
  for (int iteration = 0; iteration < options.maxIterations; ++iteration) {
    if (gradient.cwiseAbs().maxCoeff() <= options.gradientTolerance * std::max(1.0, std::abs(value))) {
      return finish(iteration, LbfgsStop::Gradient);
    }
    // Two-loop recursion, newest pair last.
    q = gradient;
    std::vector<double> alphas(pairs.size());
    for (size_t k = pairs.size(); k-- > 0;) {
      alphas[k] = pairs[k].rho * pairs[k].s.dot(q);
      q -= alphas[k] * pairs[k].y;
    }
    if (!pairs.empty()) q *= pairs.back().s.dot(pairs.back().y) / pairs.back().y.squaredNorm();
    for (size_t k = 0; k < pairs.size(); ++k) q += pairs[k].s * (alphas[k] - pairs[k].rho * pairs[k].y.dot(q));
    direction = -q;
    double slope = gradient.dot(direction);
    if (!(slope < 0)) {
      // Not a descent direction (rounding in a float32 objective): restart from steepest descent.
      pairs.clear();
      direction = -gradient;
      slope = gradient.dot(direction);
    }
    double step = pairs.empty() ? std::min(1.0, 1.0 / direction.cwiseAbs().maxCoeff()) : 1.0;
    bool accepted = false;
    double trialValue = 0;
    for (int k = 0; k < kMaxBacktracks; ++k) {
      trial = w + step * direction;
      trialValue = objective(trial.data(), trialGradient.data());
      ++result.evaluations;
      if (std::isfinite(trialValue) && trialValue <= value + kArmijo * step * slope) {
        accepted = true;
        break;
      }
      step *= kBacktrack;
    }
    if (!accepted) return finish(iteration, LbfgsStop::LineSearch);
    Vector s = trial - w, y = trialGradient - gradient;
    const double sy = s.dot(y);
    if (sy > 1e-12 * std::sqrt(s.squaredNorm() * y.squaredNorm())) {
      pairs.push_back({std::move(s), std::move(y), 1 / sy});
      if (static_cast<int>(pairs.size()) > options.memory) pairs.pop_front();
    }
    const double decrease = value - trialValue;
    w = trial;
    value = trialValue;
    gradient = trialGradient;
    if (decrease <= options.valueTolerance * std::max(1.0, std::abs(value))) return finish(iteration + 1, LbfgsStop::Value);
  }
  return finish(options.maxIterations, LbfgsStop::Iterations);
}

}  // namespace rnnkit::kernels
