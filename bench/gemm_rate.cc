// Single-thread float GEMM rate of this machine with Eigen, the ceiling the recurrent kernels are measured against.
//
//   rnnkit_gemm_bench M K N seconds
//   -> {"m":M,"k":K,"n":N,"seconds":S,"trials":R,"gflops":G}
//
// C[M, N] = A[M, K] * B[K, N], all row-major (as rnnkit stores activations and weights), 2*M*K*N FLOPs per product.
// The time budget is split into several trials; each trial repeats the product until its share of the time is up, and
// the best trial is reported (the least disturbed by other processes on a shared machine).
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Clock = std::chrono::steady_clock;

constexpr int kTrials = 5;

bool parsePositive(const char* text, long& value) {
  char* end = nullptr;
  value = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && value > 0;
}

// Fills with a fixed pattern in [-1, 1): the values do not matter for speed, only that they are finite and not denormal.
void fillPattern(std::vector<float>& values, unsigned seed) {
  unsigned state = seed;
  for (float& v : values) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
  }
}

}  // namespace

int main(int argc, char** argv) {
  long rows = 0, inner = 0, cols = 0;
  const double seconds = argc == 5 ? std::atof(argv[4]) : 0.0;
  if (argc != 5 || !parsePositive(argv[1], rows) || !parsePositive(argv[2], inner) || !parsePositive(argv[3], cols) ||
      !(seconds > 0.0)) {
    std::fprintf(stderr, "usage: %s M K N seconds   (positive integers M K N, positive seconds)\n", argv[0]);
    return 2;
  }

  std::vector<float> aData(static_cast<size_t>(rows * inner)), bData(static_cast<size_t>(inner * cols));
  std::vector<float> cData(static_cast<size_t>(rows * cols), 0.0f);
  fillPattern(aData, 1u);
  fillPattern(bData, 2u);
  Eigen::Map<const RowMajorMatrix> a(aData.data(), rows, inner);
  Eigen::Map<const RowMajorMatrix> b(bData.data(), inner, cols);
  Eigen::Map<RowMajorMatrix> c(cData.data(), rows, cols);

  const double flopsPerProduct = 2.0 * static_cast<double>(rows) * static_cast<double>(inner) * static_cast<double>(cols);
  const double trialSeconds = seconds / kTrials;
  double bestGflops = 0.0;
  for (int trial = 0; trial < kTrials; ++trial) {
    long products = 0;
    const Clock::time_point start = Clock::now();
    double elapsed = 0.0;
    do {
      c.noalias() = a * b;
      ++products;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < trialSeconds);
    bestGflops = std::max(bestGflops, flopsPerProduct * static_cast<double>(products) / elapsed / 1e9);
  }

  // Reading one output keeps the compiler from discarding the products.
  volatile float sink = cData[0];
  (void)sink;
  std::printf("{\"m\":%ld,\"k\":%ld,\"n\":%ld,\"seconds\":%g,\"trials\":%d,\"gflops\":%.3f}\n", rows, inner, cols, seconds,
              kTrials, bestGflops);
  return 0;
}
