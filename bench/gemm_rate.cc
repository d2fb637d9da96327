// Single-thread float GEMM rate of this machine with Eigen, the ceiling the recurrent kernels are measured against,
// and the core's multiply-add peak, the ceiling of any kernel.
//
//   rnnkit_gemm_bench M K N seconds
//   -> {"m":M,"k":K,"n":N,"seconds":S,"trials":R,"gflops":G}
//   rnnkit_gemm_bench peak seconds
//   -> {"peak":true,"lanes":L,"seconds":S,"trials":R,"gflops":G}
//
// C[M, N] = A[M, K] * B[K, N], all row-major (as rnnkit stores activations and weights), 2*M*K*N FLOPs per product.
// peak: independent chains of Eigen packet multiply-adds (pmadd: one fused instruction per packet of L floats with
// FMA, a multiply and an add without), 2*L FLOPs each, with no memory traffic; as many chains as the FMA units need
// to stay busy. Built with the addon's -march flags, so it is the peak of the instruction set rnnkit runs with.
// The time budget is split into several trials; each trial repeats the work until its share of the time is up, and
// the best trial is reported (the least disturbed by other processes on a shared machine).
#include <Eigen/Core>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "rate_timing.h"

namespace {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using namespace rnnkit_bench;

// The best trial's GFLOP/s of `work` (returns the FLOPs it did): the least disturbed by other processes.
template <typename Work>
double bestRate(double seconds, Work work) {
  const std::vector<double> rates = trialRates(seconds, work);
  return *std::max_element(rates.begin(), rates.end()) / 1e9;
}

int measurePeak(double seconds) {
  using Packet = Eigen::internal::packet_traits<float>::type;
  constexpr int kLanes = Eigen::internal::packet_traits<float>::size;
  constexpr int kChains = 12;       // > FMA latency (4-5 cycles) x 2 units on current x86 cores
  constexpr long kRounds = 100000;  // per timed call, so the clock is read rarely
  Packet chains[kChains];
  for (int i = 0; i < kChains; ++i) chains[i] = Eigen::internal::pset1<Packet>(1e-3f * static_cast<float>(i));
  // x -> 0.999999 x + 1e-7 stays finite and normal however long it runs.
  const Packet scale = Eigen::internal::pset1<Packet>(0.999999f), shift = Eigen::internal::pset1<Packet>(1e-7f);
  const double rate = bestRate(seconds, [&] {
    for (long round = 0; round < kRounds; ++round) {
      for (int i = 0; i < kChains; ++i) chains[i] = Eigen::internal::pmadd(chains[i], scale, shift);
    }
    return 2.0 * kLanes * kChains * static_cast<double>(kRounds);
  });
  float sum = 0.0f;
  for (int i = 0; i < kChains; ++i) sum += Eigen::internal::pfirst(chains[i]);
  volatile float sink = sum;  // keeps the chains from being discarded
  (void)sink;
  std::printf("{\"peak\":true,\"lanes\":%d,\"seconds\":%g,\"trials\":%d,\"gflops\":%.3f}\n", kLanes, seconds,
              kTrials, rate);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "peak") {
    const double seconds = std::atof(argv[2]);
    if (seconds > 0.0) return measurePeak(seconds);
  }
  long rows = 0, inner = 0, cols = 0;
  const double seconds = argc == 5 ? std::atof(argv[4]) : 0.0;
  if (argc != 5 || !parsePositive(argv[1], rows) || !parsePositive(argv[2], inner) || !parsePositive(argv[3], cols) ||
      !(seconds > 0.0)) {
    std::fprintf(stderr, "usage: %s M K N seconds | %s peak seconds   (positive integers M K N, positive seconds)\n",
                 argv[0], argv[0]);
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
  const double bestGflops = bestRate(seconds, [&] {
    c.noalias() = a * b;
    return flopsPerProduct;
  });

  // Reading one output keeps the compiler from discarding the products.
  volatile float sink = cData[0];
  (void)sink;
  std::printf("{\"m\":%ld,\"k\":%ld,\"n\":%ld,\"seconds\":%g,\"trials\":%d,\"gflops\":%.3f}\n", rows, inner, cols, seconds,
              kTrials, bestGflops);
  return 0;
}
