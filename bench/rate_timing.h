// Timing helpers shared by the native rate benchmarks (gemm_rate.cc, attention_rate.cc).
#pragma once

#include <time.h>

#include <chrono>
#include <cstdlib>
#include <vector>

namespace rnnkit_bench {

constexpr int kTrials = 5;

// Parses a positive base-10 integer; false for anything else.
inline bool parsePositive(const char* text, long& value) {
  char* end = nullptr;
  value = std::strtol(text, &end, 10);
  return end != text && *end == '\0' && value > 0;
}

// Fills with a fixed pattern in [-1, 1): the values do not matter for speed, only that they are finite and not denormal.
inline void fillPattern(std::vector<float>& values, unsigned seed) {
  unsigned state = seed;
  for (float& v : values) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f;
  }
}

// The calling thread's CPU time in seconds. The benchmarks run single-threaded (EIGEN_DONT_PARALLELIZE), so on an
// idle machine this equals wall time, and on a shared one it leaves out the time other processes held the core.
inline double threadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Runs `work` (returns how much it did: FLOPs, samples) in kTrials trials of seconds / kTrials of CPU time each,
// repeating it until the trial's share of the time is up; returns each trial's amount per CPU second.
template <typename Work>
std::vector<double> trialRates(double seconds, Work work) {
  std::vector<double> rates;
  for (int trial = 0; trial < kTrials; ++trial) {
    double amount = 0.0, elapsed = 0.0;
    const double start = threadCpuSeconds();
    do {
      amount += work();
      elapsed = threadCpuSeconds() - start;
    } while (elapsed < seconds / kTrials);
    rates.push_back(amount / elapsed);
  }
  return rates;
}

}  // namespace rnnkit_bench
