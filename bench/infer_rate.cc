// One LSTM inference call (kernels::lstmInfer, float32, one thread, no activeRows, zero initial states) for one shape,
// native side only: what a predict costs below the binding. Timed in CPU time of the calling thread (the machine is
// shared), median of 7 trials.
//
//   rnnkit_infer_bench T B F H seconds
//   -> {"steps":T,"batch":B,"features":F,"units":H,"inferUs":..,"inferGflops":..,"productFlopsPerCall":..,
//       "peakGflops":..,"ofPeak":..}
// productFlopsPerCall = 2 * T * B * (F + H) * 4H, the products' multiply-adds (inferGflops counts only those).
// peakGflops: the core's multiply-add peak as `rnnkit_gemm_bench peak` measures it (12 independent chains of Eigen
// packet pmadds, no memory traffic) but in CPU time, in windows alternating with the kernel's; ofPeak: the median of
// the per-window ratios inferGflops / peakGflops.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "kernels/lstm.h"

namespace {

using namespace rnnkit::kernels;

double threadSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

void fillPattern(std::vector<float>& values, unsigned seed, float scale) {
  unsigned state = seed;
  for (float& v : values) {
    state = state * 1664525u + 1013904223u;
    v = (static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f) * scale;
  }
}

constexpr int kTrials = 7;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// CPU microseconds per call of `work`, repeated for `seconds` of CPU time.
template <typename Work>
double microsecondsPerCall(double seconds, Work& work) {
  const double start = threadSeconds();
  long calls = 0;
  do {
    work();
    ++calls;
  } while (threadSeconds() - start < seconds);
  return (threadSeconds() - start) / static_cast<double>(calls) * 1e6;
}

// Chains of packet multiply-adds (see above); run() does kFlops floating-point operations.
struct PeakChains {
  using Packet = Eigen::internal::packet_traits<float>::type;
  static constexpr int kLanes = Eigen::internal::unpacket_traits<Packet>::size;
  static constexpr int kChains = 12;
  static constexpr long kRounds = 20000;
  static constexpr double kFlops = 2.0 * kLanes * kChains * static_cast<double>(kRounds);
  Packet chains[kChains];
  PeakChains() {
    for (int i = 0; i < kChains; ++i) chains[i] = Eigen::internal::pset1<Packet>(1e-3f * static_cast<float>(i));
  }
  void operator()() {
    // x -> 0.999999 x + 1e-7 stays finite and normal however long it runs.
    const Packet scale = Eigen::internal::pset1<Packet>(0.999999f), shift = Eigen::internal::pset1<Packet>(1e-7f);
    Packet c[kChains];
    for (int i = 0; i < kChains; ++i) c[i] = chains[i];
    for (long round = 0; round < kRounds; ++round) {
      for (int i = 0; i < kChains; ++i) c[i] = Eigen::internal::pmadd(c[i], scale, shift);
    }
    for (int i = 0; i < kChains; ++i) chains[i] = c[i];
  }
  float sum() const {
    float total = 0.0f;
    for (int i = 0; i < kChains; ++i) total += Eigen::internal::pfirst(chains[i]);
    return total;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: rnnkit_infer_bench T B F H seconds\n");
    return 2;
  }
  const RecurrentShape shape{std::atol(argv[1]), std::atol(argv[2]), std::atol(argv[3]), std::atol(argv[4])};
  const double seconds = std::atof(argv[5]);
  if (shape.steps < 1 || shape.batch < 1 || shape.inputSize < 1 || shape.hiddenSize < 1 || !(seconds > 0)) {
    std::fprintf(stderr, "expected T, B, F, H >= 1 and seconds > 0\n");
    return 2;
  }
  const int64_t T = shape.steps, B = shape.batch, F = shape.inputSize, H = shape.hiddenSize, width = 4 * H;
  std::vector<float> x(T * B * F), kernel(F * width), recurrent(H * width), bias(width), hFinal(B * H);
  fillPattern(x, 1, 1.0f);
  fillPattern(kernel, 2, 0.2f);
  fillPattern(recurrent, 3, 0.1f);
  fillPattern(bias, 4, 0.1f);
  std::vector<float> stacked((H + F) * width), rows(2 * B * inferenceRowStride(shape)), z(B * width), c(B * H);
  const LstmParams<float> params{kernel.data(), recurrent.data(), bias.data()};
  const LstmInferenceScratch<float> scratch{stacked.data(), rows.data(), z.data(), c.data()};
  PackedProduct<float> product;

  auto infer = [&] {
    lstmInfer<float>(shape, LstmActivations{}, x.data(), nullptr, params, nullptr, nullptr, scratch, nullptr,
                     hFinal.data(), nullptr, &product);
  };
  PeakChains chains;
  infer();
  chains();
  // Alternating windows of the kernel and the peak chains, so each round's ratio compares the two under the same
  // conditions (another process on the sibling hardware thread halves the chains' rate but not a memory-bound call's).
  const double flops = 2.0 * static_cast<double>(T * B * (F + H) * width);
  std::vector<double> inferTimes, peaks, ratios;
  for (int trial = 0; trial < kTrials; ++trial) {
    const double us = microsecondsPerCall(seconds / (2 * kTrials), infer);
    const double peakRate = PeakChains::kFlops / microsecondsPerCall(seconds / (2 * kTrials), chains) * 1e-3;
    inferTimes.push_back(us);
    peaks.push_back(peakRate);
    ratios.push_back(flops / us * 1e-3 / peakRate);
  }
  const double inferUs = median(inferTimes), rate = flops / inferUs * 1e-3, peak = median(peaks);
  volatile float sink = chains.sum();  // keeps the chains from being discarded
  (void)sink;
  std::printf(
      "{\"steps\":%ld,\"batch\":%ld,\"features\":%ld,\"units\":%ld,\"inferUs\":%.2f,\"inferGflops\":%.2f,"
      "\"productFlopsPerCall\":%.0f,\"peakGflops\":%.2f,\"ofPeak\":%.3f}\n",
      static_cast<long>(T), static_cast<long>(B), static_cast<long>(F), static_cast<long>(H), inferUs, rate, flops,
      peak, median(ratios));
  return hFinal[0] == 12345.0f ? 1 : 0;  // keeps the work observable
}
