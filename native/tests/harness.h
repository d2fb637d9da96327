// A minimal test registry for the native float64 checks (no framework dependency).
// Each case prints "ok <name>" or "FAIL <name>: <why>"; main() ends with "N passed, N failed".
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace rnnkit::tests {

struct TestCase {
  std::string name;
  std::function<void()> body;
};

inline std::vector<TestCase>& registry() {
  static std::vector<TestCase> cases;
  return cases;
}

struct Registrar {
  Registrar(const char* name, std::function<void()> body) { registry().push_back({name, std::move(body)}); }
};

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

#define RNNKIT_CONCAT_INNER(a, b) a##b
#define RNNKIT_CONCAT(a, b) RNNKIT_CONCAT_INNER(a, b)
#define RNNKIT_TEST(name)                                                                  \
  static void RNNKIT_CONCAT(rnnkitTest_, __LINE__)();                                      \
  static ::rnnkit::tests::Registrar RNNKIT_CONCAT(rnnkitRegistrar_, __LINE__)(name,        \
                                                   RNNKIT_CONCAT(rnnkitTest_, __LINE__)); \
  static void RNNKIT_CONCAT(rnnkitTest_, __LINE__)()

#define RNNKIT_CHECK(cond, message)                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::ostringstream rnnkitStream;                                                \
      rnnkitStream << message << " (" << #cond << " at " << __FILE__ << ":" << __LINE__ << ")"; \
      throw ::rnnkit::tests::Failure(rnnkitStream.str());                             \
    }                                                                                 \
  } while (0)

// Uniform values in [-scale, scale] from a fixed seed, so every run checks the same numbers.
inline std::vector<double> randomVector(size_t count, uint32_t seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-scale, scale);
  std::vector<double> values(count);
  for (double& v : values) v = dist(gen);
  return values;
}

// randomVector converted to T (float or double), for kernels tested in their own precision.
template <typename T>
std::vector<T> randomOf(size_t count, uint32_t seed, double scale = 1.0) {
  const std::vector<double> values = randomVector(count, seed, scale);
  return std::vector<T>(values.begin(), values.end());
}

// Central finite difference of `loss` with respect to every entry of `param` (restored afterwards).
inline std::vector<double> numericGradient(const std::function<double()>& loss, std::vector<double>& param,
                                           double epsilon = 1e-6) {
  std::vector<double> grad(param.size());
  for (size_t i = 0; i < param.size(); ++i) {
    const double saved = param[i];
    param[i] = saved + epsilon;
    const double up = loss();
    param[i] = saved - epsilon;
    const double down = loss();
    param[i] = saved;
    grad[i] = (up - down) / (2 * epsilon);
  }
  return grad;
}

// max_i |analytic_i - numeric_i| / max_i |numeric_i|: the worst error relative to the gradient's scale
// (per-element ratios blow up on entries that are zero up to rounding).
inline double maxRelativeError(const std::vector<double>& analytic, const std::vector<double>& numeric) {
  if (analytic.size() != numeric.size()) throw Failure("gradient sizes differ");
  double worst = 0, scale = 0;
  for (size_t i = 0; i < numeric.size(); ++i) {
    if (!std::isfinite(analytic[i]) || !std::isfinite(numeric[i])) return HUGE_VAL;  // NaN must fail, not vanish
    worst = std::max(worst, std::fabs(analytic[i] - numeric[i]));
    scale = std::max(scale, std::fabs(numeric[i]));
  }
  return scale == 0 ? worst : worst / scale;
}

// Checks one gradient and names it in the failure message.
inline void expectGradient(const std::string& what, const std::vector<double>& analytic,
                           const std::vector<double>& numeric, double tolerance = 1e-6) {
  const double err = maxRelativeError(analytic, numeric);
  double scale = 0;
  for (double v : numeric) scale = std::max(scale, std::fabs(v));
  RNNKIT_CHECK(scale > 0, what << ": numeric gradient is all zero, the check would prove nothing");
  RNNKIT_CHECK(err < tolerance, what << ": max relative error " << err << " >= " << tolerance);
}

}  // namespace rnnkit::tests
