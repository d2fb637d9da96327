// One LSTM inference call (kernels::lstmInfer, float32, one thread, no activeRows, zero initial states) for one shape,
// native side only: what a predict costs below the binding. Timed in CPU time of the calling thread (the machine is
// shared), median of 7 trials.
//
//   rnnkit_infer_bench T B F H seconds
//   -> {"steps":T,"batch":B,"features":F,"units":H,"inferUs":..,"inferGflops":..,"productFlopsPerCall":..}
// productFlopsPerCall = 2 * T * B * (F + H) * 4H, the products' multiply-adds (inferGflops counts only those).
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

// Median over 7 trials of the CPU microseconds per call of `work`.
template <typename Work>
double medianMicroseconds(double seconds, Work work) {
  constexpr int kTrials = 7;
  work();
  std::vector<double> perCall;
  for (int trial = 0; trial < kTrials; ++trial) {
    const double start = threadSeconds();
    long calls = 0;
    do {
      work();
      ++calls;
    } while (threadSeconds() - start < seconds / kTrials);
    perCall.push_back((threadSeconds() - start) / static_cast<double>(calls) * 1e6);
  }
  std::sort(perCall.begin(), perCall.end());
  return perCall[kTrials / 2];
}

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

  const double inferUs = medianMicroseconds(seconds / 2, [&] {
    lstmInfer<float>(shape, LstmActivations{}, x.data(), nullptr, params, nullptr, nullptr, scratch, nullptr,
                     hFinal.data(), nullptr, &product);
  });
  const double flops = 2.0 * static_cast<double>(T * B * (F + H) * width);
  std::printf(
      "{\"steps\":%ld,\"batch\":%ld,\"features\":%ld,\"units\":%ld,\"inferUs\":%.2f,\"inferGflops\":%.2f,"
      "\"productFlopsPerCall\":%.0f}\n",
      static_cast<long>(T), static_cast<long>(B), static_cast<long>(F), static_cast<long>(H), inferUs,
      flops / inferUs * 1e-3, flops);
  return hFinal[0] == 12345.0f ? 1 : 0;  // keeps the work observable
}
