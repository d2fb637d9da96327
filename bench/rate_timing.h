// Timing helpers shared by the native rate benchmarks (gemm_rate.cc, attention_rate.cc).
#pragma once

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

// Runs `work` (returns how much it did: FLOPs, samples) in kTrials trials of seconds / kTrials each, repeating it
// until the trial's share of the time is up; returns each trial's amount per second.
template <typename Work>
std::vector<double> trialRates(double seconds, Work work) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> rates;
  for (int trial = 0; trial < kTrials; ++trial) {
    double amount = 0.0, elapsed = 0.0;
    const Clock::time_point start = Clock::now();
    do {
      amount += work();
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds / kTrials);
    rates.push_back(amount / elapsed);
  }
  return rates;
}

}  // namespace rnnkit_bench
