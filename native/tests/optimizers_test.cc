// Optimizer kernels: hand-computed steps, agreement with plain scalar reference loops over several steps (with a
// count that spans several internal blocks), a convex quadratic driven down over 200 float steps per optimizer,
// and the clipping / regularizer helpers on hand cases.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "harness.h"
#include "kernels/optimizers.h"

namespace {

namespace k = rnnkit::kernels;
using rnnkit::tests::randomVector;
using Vec = std::vector<double>;

void expectClose(const std::string& what, const Vec& actual, const Vec& expected, double tolerance = 1e-12) {
  RNNKIT_CHECK(actual.size() == expected.size(), what << ": size " << actual.size() << " vs " << expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    RNNKIT_CHECK(std::fabs(actual[i] - expected[i]) <= tolerance * std::max(1.0, std::fabs(expected[i])),
                 what << "[" << i << "]: got " << actual[i] << ", expected " << expected[i]);
  }
}

RNNKIT_TEST("optimizers: SGD hand steps, plain, momentum and nesterov") {
  const Vec g = {0.5, 1.0, -1.0};
  Vec p = {1, -2, 3};
  k::sgdUpdate<double>(3, p.data(), g.data(), nullptr, 0.1, 0.0, false);
  expectClose("plain", p, {0.95, -2.1, 3.1});

  p = {1, -2, 3};
  Vec velocity(3, 0.0);
  k::sgdUpdate<double>(3, p.data(), g.data(), velocity.data(), 0.1, 0.9, false);
  expectClose("momentum step 1 velocity", velocity, {-0.05, -0.1, 0.1});
  expectClose("momentum step 1", p, {0.95, -2.1, 3.1});
  k::sgdUpdate<double>(3, p.data(), g.data(), velocity.data(), 0.1, 0.9, false);
  // v = 0.9 v - 0.1 g = [-0.095, -0.19, 0.19]
  expectClose("momentum step 2", p, {0.855, -2.29, 3.29});

  p = {1, -2, 3};
  velocity.assign(3, 0.0);
  k::sgdUpdate<double>(3, p.data(), g.data(), velocity.data(), 0.1, 0.9, true);
  // p += 0.9 v - 0.1 g with v = [-0.05, -0.1, 0.1]
  expectClose("nesterov step 1", p, {0.905, -2.19, 3.19});
  k::sgdUpdate<double>(3, p.data(), g.data(), velocity.data(), 0.1, 0.9, true);
  // v = [-0.095, -0.19, 0.19]; p += 0.9 v - 0.1 g = [-0.1355, -0.271, 0.271]
  expectClose("nesterov step 2", p, {0.7695, -2.461, 3.461});
}

RNNKIT_TEST("optimizers: Adam and AdamW first steps by hand") {
  // Step 1 from m = v = 0: m = (1 - b1) g, v = (1 - b2) g^2, alpha = lr sqrt(1 - b2) / (1 - b1), so
  // p -= lr g / (|g| + eps / sqrt(1 - b2)): about lr sign(g).
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  const Vec g = {0.5, -2.0, 1e-3};
  Vec p = {1, 2, 3}, m(3, 0.0), v(3, 0.0);
  k::adamUpdate<double>(3, p.data(), g.data(), m.data(), v.data(), lr, b1, b2, eps, 1);
  Vec expected(3);
  for (int i = 0; i < 3; ++i) expected[i] = (i + 1) - lr * g[i] / (std::fabs(g[i]) + eps / std::sqrt(1 - b2));
  expectClose("adam step 1", p, expected);
  expectClose("adam m", m, {0.05, -0.2, 1e-4});
  expectClose("adam v", v, {0.00025, 0.004, 1e-9});

  // Step 2 with the same g: m and v follow the same recurrences; alpha uses t = 2.
  k::adamUpdate<double>(3, p.data(), g.data(), m.data(), v.data(), lr, b1, b2, eps, 2);
  const double alpha2 = lr * std::sqrt(1 - b2 * b2) / (1 - b1 * b1);
  for (int i = 0; i < 3; ++i) {
    const double m2 = b1 * (1 - b1) * g[i] + (1 - b1) * g[i], v2 = b2 * (1 - b2) * g[i] * g[i] + (1 - b2) * g[i] * g[i];
    expected[i] -= alpha2 * m2 / (std::sqrt(v2) + eps);
  }
  expectClose("adam step 2", p, expected);

  // AdamW: the decay shrinks p first, by lr * wd * p, independently of g.
  const double wd = 0.1;
  Vec pw = {1, 2, 3}, mw(3, 0.0), vw(3, 0.0);
  k::adamwUpdate<double>(3, pw.data(), g.data(), mw.data(), vw.data(), lr, b1, b2, eps, wd, 1);
  for (int i = 0; i < 3; ++i) {
    expected[i] = (i + 1) * (1 - lr * wd) - lr * g[i] / (std::fabs(g[i]) + eps / std::sqrt(1 - b2));
  }
  expectClose("adamw step 1", pw, expected);
}

RNNKIT_TEST("optimizers: RMSprop and Adagrad first steps by hand") {
  const double lr = 0.01, rho = 0.9, eps = 1e-7;
  const Vec g = {0.5, -2.0};
  Vec p = {1, 2}, ms(2, 0.0);
  k::rmspropUpdate<double>(2, p.data(), g.data(), ms.data(), nullptr, nullptr, lr, rho, 0.0, eps);
  // ms = 0.1 g^2, so update = lr g / sqrt(0.1 g^2 + eps)
  expectClose("rmsprop", p, {1 - lr * 0.5 / std::sqrt(0.1 * 0.25 + eps), 2 + lr * 2 / std::sqrt(0.1 * 4 + eps)});

  // Centered: mg = 0.1 g, denom = 0.1 g^2 - 0.01 g^2 = 0.09 g^2. Momentum 0.5 over two steps.
  p = {1, 2};
  ms.assign(2, 0.0);
  Vec mg(2, 0.0), mom(2, 0.0);
  k::rmspropUpdate<double>(2, p.data(), g.data(), ms.data(), mg.data(), mom.data(), lr, rho, 0.5, eps);
  const Vec update1 = {lr * 0.5 / std::sqrt(0.09 * 0.25 + eps), -lr * 2 / std::sqrt(0.09 * 4 + eps)};
  expectClose("centered mg", mg, {0.05, -0.2});
  expectClose("centered momentum step 1", p, {1 - update1[0], 2 - update1[1]});
  k::rmspropUpdate<double>(2, p.data(), g.data(), ms.data(), mg.data(), mom.data(), lr, rho, 0.5, eps);
  // ms = 0.19 g^2, mg = 0.19 g, denom = (0.19 - 0.0361) g^2 = 0.1539 g^2; mom = 0.5 update1 + update2.
  Vec expected(2);
  for (int i = 0; i < 2; ++i) {
    const double update2 = lr * g[i] / std::sqrt(0.1539 * g[i] * g[i] + eps);
    expected[i] = (i + 1) - update1[i] - (0.5 * update1[i] + update2);
  }
  expectClose("centered momentum step 2", p, expected);

  // Adagrad from accumulator 0.1: acc = 0.1 + g^2.
  p = {1, 2};
  Vec acc(2, 0.1);
  k::adagradUpdate<double>(2, p.data(), g.data(), acc.data(), lr, eps);
  expectClose("adagrad acc", acc, {0.35, 4.1});
  expectClose("adagrad", p, {1 - lr * 0.5 / std::sqrt(0.35 + eps), 2 + lr * 2 / std::sqrt(4.1 + eps)});
}

// Scalar reference loops, written from the Keras formulas independently of the kernels.
struct State {
  Vec p, a, b, c;  // parameter and up to three state slots
};

void referenceStep(const std::string& kind, State& s, const Vec& g, int64_t t) {
  const double lr = 0.02, b1 = 0.8, b2 = 0.95, eps = 1e-3, wd = 0.3, rho = 0.7, mu = 0.6;
  for (size_t i = 0; i < g.size(); ++i) {
    double& p = s.p[i];
    if (kind == "sgd") {
      p -= lr * g[i];
    } else if (kind == "sgd-momentum" || kind == "sgd-nesterov") {
      s.a[i] = mu * s.a[i] - lr * g[i];
      p += kind == "sgd-nesterov" ? mu * s.a[i] - lr * g[i] : s.a[i];
    } else if (kind == "adam" || kind == "adamw") {
      if (kind == "adamw") p -= lr * wd * p;
      s.a[i] += (g[i] - s.a[i]) * (1 - b1);
      s.b[i] += (g[i] * g[i] - s.b[i]) * (1 - b2);
      p -= lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t)) * s.a[i] / (std::sqrt(s.b[i]) + eps);
    } else if (kind.rfind("rmsprop", 0) == 0) {
      const bool centered = kind.find("centered") != std::string::npos;
      const bool momentum = kind.find("momentum") != std::string::npos;
      s.a[i] = rho * s.a[i] + (1 - rho) * g[i] * g[i];
      double denom = s.a[i];
      if (centered) {
        s.b[i] = rho * s.b[i] + (1 - rho) * g[i];
        denom -= s.b[i] * s.b[i];
      }
      const double update = lr * g[i] / std::sqrt(denom + eps);
      if (momentum) {
        s.c[i] = mu * s.c[i] + update;
        p -= s.c[i];
      } else {
        p -= update;
      }
    } else if (kind == "adagrad") {
      s.a[i] += g[i] * g[i];
      p -= lr * g[i] / std::sqrt(s.a[i] + eps);
    }
  }
}

void kernelStep(const std::string& kind, State& s, const Vec& g, int64_t t) {
  const double lr = 0.02, b1 = 0.8, b2 = 0.95, eps = 1e-3, wd = 0.3, rho = 0.7, mu = 0.6;
  const int64_t n = static_cast<int64_t>(g.size());
  if (kind == "sgd") k::sgdUpdate<double>(n, s.p.data(), g.data(), nullptr, lr, 0.0, false);
  if (kind == "sgd-momentum") k::sgdUpdate<double>(n, s.p.data(), g.data(), s.a.data(), lr, mu, false);
  if (kind == "sgd-nesterov") k::sgdUpdate<double>(n, s.p.data(), g.data(), s.a.data(), lr, mu, true);
  if (kind == "adam") k::adamUpdate<double>(n, s.p.data(), g.data(), s.a.data(), s.b.data(), lr, b1, b2, eps, t);
  if (kind == "adamw") {
    k::adamwUpdate<double>(n, s.p.data(), g.data(), s.a.data(), s.b.data(), lr, b1, b2, eps, wd, t);
  }
  if (kind.rfind("rmsprop", 0) == 0) {
    double* meanGrad = kind.find("centered") != std::string::npos ? s.b.data() : nullptr;
    double* momentum = kind.find("momentum") != std::string::npos ? s.c.data() : nullptr;
    k::rmspropUpdate<double>(n, s.p.data(), g.data(), s.a.data(), meanGrad, momentum, lr, rho, momentum ? mu : 0.0,
                             eps);
  }
  if (kind == "adagrad") k::adagradUpdate<double>(n, s.p.data(), g.data(), s.a.data(), lr, eps);
}

RNNKIT_TEST("optimizers: three steps match scalar reference loops across block boundaries") {
  const size_t count = 1100;  // > 2 internal blocks of 512, the last one partial
  for (const std::string kind : {"sgd", "sgd-momentum", "sgd-nesterov", "adam", "adamw", "rmsprop",
                                 "rmsprop-centered", "rmsprop-momentum", "rmsprop-centered-momentum", "adagrad"}) {
    State kernelState{randomVector(count, 90), Vec(count, 0.0), Vec(count, 0.0), Vec(count, 0.0)};
    if (kind == "adagrad") kernelState.a.assign(count, 0.1);
    State referenceState = kernelState;
    for (int64_t t = 1; t <= 3; ++t) {
      const Vec g = randomVector(count, 100 + static_cast<uint32_t>(t), 2.0);
      kernelStep(kind, kernelState, g, t);
      referenceStep(kind, referenceState, g, t);
    }
    expectClose(kind + " params", kernelState.p, referenceState.p, 1e-12);
    expectClose(kind + " state a", kernelState.a, referenceState.a, 1e-12);
    expectClose(kind + " state b", kernelState.b, referenceState.b, 1e-12);
    expectClose(kind + " state c", kernelState.c, referenceState.c, 1e-12);
  }
}

// f(p) = 1/2 sum_i a_i (p_i - c_i)^2 with curvatures a_i in [0.5, 4]; grad = a (p - c).
RNNKIT_TEST("optimizers: each one drives a convex quadratic down over 200 float steps") {
  const int count = 37;
  const Vec curvatureD = randomVector(count, 110), centreD = randomVector(count, 111, 3.0);
  std::vector<float> curvature(count), centre(centreD.begin(), centreD.end());
  for (int i = 0; i < count; ++i) curvature[i] = static_cast<float>(2.25 + 1.75 * curvatureD[i]);
  auto objective = [&](const std::vector<float>& p) {
    double f = 0;
    for (int i = 0; i < count; ++i) f += 0.5 * curvature[i] * (p[i] - centre[i]) * (p[i] - centre[i]);
    return f;
  };
  struct Buffers {
    std::vector<float> p, g, s1, s2, s3;
  };
  using Step = std::function<void(Buffers&, int64_t)>;
  const std::vector<std::pair<std::string, Step>> optimizers = {
      {"sgd",
       [](Buffers& b, int64_t) { k::sgdUpdate<float>(count, b.p.data(), b.g.data(), nullptr, 0.05f, 0.0f, false); }},
      {"sgd nesterov",
       [](Buffers& b, int64_t) { k::sgdUpdate<float>(count, b.p.data(), b.g.data(), b.s1.data(), 0.05f, 0.9f, true); }},
      {"adam",
       [](Buffers& b, int64_t t) {
         k::adamUpdate<float>(count, b.p.data(), b.g.data(), b.s1.data(), b.s2.data(), 0.05f, 0.9f, 0.999f, 1e-7f, t);
       }},
      {"adamw",
       [](Buffers& b, int64_t t) {
         k::adamwUpdate<float>(count, b.p.data(), b.g.data(), b.s1.data(), b.s2.data(), 0.05f, 0.9f, 0.999f, 1e-7f,
                               0.004f, t);
       }},
      {"rmsprop centered momentum",
       [](Buffers& b, int64_t) {
         k::rmspropUpdate<float>(count, b.p.data(), b.g.data(), b.s1.data(), b.s2.data(), b.s3.data(), 0.01f, 0.9f,
                                 0.5f, 1e-7f);
       }},
      {"rmsprop",
       [](Buffers& b, int64_t) {
         k::rmspropUpdate<float>(count, b.p.data(), b.g.data(), b.s1.data(), nullptr, nullptr, 0.02f, 0.9f, 0.0f,
                                 1e-7f);
       }},
      {"adagrad",
       [](Buffers& b, int64_t) { k::adagradUpdate<float>(count, b.p.data(), b.g.data(), b.s1.data(), 0.5f, 1e-7f); }},
  };
  for (const auto& [name, step] : optimizers) {
    Buffers b{std::vector<float>(count, 0.0f), std::vector<float>(count),
              std::vector<float>(count, name == "adagrad" ? 0.1f : 0.0f), std::vector<float>(count, 0.0f),
              std::vector<float>(count, 0.0f)};
    const double start = objective(b.p);
    for (int64_t t = 1; t <= 200; ++t) {
      for (int i = 0; i < count; ++i) b.g[i] = curvature[i] * (b.p[i] - centre[i]);
      step(b, t);
    }
    const double end = objective(b.p);
    RNNKIT_CHECK(std::isfinite(end) && end < 1e-2 * start, name << ": f went from " << start << " to " << end);
  }
}

RNNKIT_TEST("optimizers: norm, scale, clip and regularizer helpers on hand cases") {
  const Vec values = {3, -4, 0, 12};
  RNNKIT_CHECK(k::squaredNorm<double>(4, values.data()) == 169, "squaredNorm double");
  const std::vector<float> big = {3e20f, -4e20f};  // the float square would overflow; the double sum does not
  const double bigNorm = k::squaredNorm<float>(2, big.data());
  RNNKIT_CHECK(std::fabs(bigNorm / 25e40 - 1) < 1e-6, "squaredNorm float accumulates in double, got " << bigNorm);

  Vec scaled = values;
  k::scaleInPlace<double>(4, scaled.data(), 0.5);
  expectClose("scaleInPlace", scaled, {1.5, -2, 0, 6});
  Vec clipped = values;
  k::clipByValue<double>(4, clipped.data(), 3.5);
  expectClose("clipByValue", clipped, {3, -3.5, 0, 3.5});

  Vec grad = {1, 1, 1, 1};
  k::addRegularizerGradient<double>(4, values.data(), grad.data(), 0.1, 0.01);
  // 1 + 0.1 sign(p) + 0.02 p; sign(0) = 0
  expectClose("addRegularizerGradient", grad, {1.16, 0.82, 1, 1.34});
  const double penalty = k::regularizerPenalty<double>(4, values.data(), 0.1, 0.01);
  expectClose("regularizerPenalty", {penalty}, {0.1 * 19 + 0.01 * 169});
  const std::vector<float> valuesF(values.begin(), values.end());
  expectClose("regularizerPenalty float", {k::regularizerPenalty<float>(4, valuesF.data(), 0.1f, 0.0f)}, {1.9}, 1e-6);
}

RNNKIT_TEST("optimizers: L2-SP anchored penalty, hand case and float64 finite differences") {
  const Vec param = {3, -4, 0.5, 12}, anchor = {1, -4, 2, 10};
  // 0.1 * (4 + 0 + 2.25 + 4)
  expectClose("anchoredPenalty", {k::anchoredPenalty<double>(4, param.data(), anchor.data(), 0.1)}, {1.025});
  Vec grad(4, 0.0);
  k::addAnchoredGradient<double>(4, param.data(), anchor.data(), grad.data(), 0.1);
  Vec numeric(4);
  const double h = 1e-6;
  for (size_t i = 0; i < param.size(); ++i) {
    Vec plus = param, minus = param;
    plus[i] += h;
    minus[i] -= h;
    numeric[i] = (k::anchoredPenalty<double>(4, plus.data(), anchor.data(), 0.1) -
                  k::anchoredPenalty<double>(4, minus.data(), anchor.data(), 0.1)) / (2 * h);
  }
  expectClose("addAnchoredGradient vs finite differences", grad, numeric, 1e-8);
  expectClose("addAnchoredGradient hand values", grad, {0.4, 0, -0.3, 0.4});
}

}  // namespace
