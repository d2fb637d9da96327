#include "kernels/finite_scan.h"

#include <algorithm>
#include <cstring>

namespace rnnkit::kernels {

namespace {

// A float is NaN or +-Infinity exactly when its exponent bits are all ones. Testing bits (rather than v - v != 0)
// lets the compiler vectorise the block loop as integer work, whatever the floating-point flags.
constexpr uint32_t kExponent = 0x7f800000u;
constexpr int64_t kBlock = 4096;

inline uint32_t nonFinite(const float* value) {
  uint32_t bits;
  std::memcpy(&bits, value, sizeof bits);
  return static_cast<uint32_t>((bits & kExponent) == kExponent);
}

}  // namespace

int64_t firstNonFinite(const float* values, int64_t count) {
  for (int64_t start = 0; start < count; start += kBlock) {
    const int64_t end = std::min(count, start + kBlock);
    uint32_t any = 0;
    for (int64_t i = start; i < end; ++i) any |= nonFinite(values + i);
    if (!any) continue;
    for (int64_t i = start; i < end; ++i) {
      if (nonFinite(values + i)) return i;
    }
  }
  return -1;
}

}  // namespace rnnkit::kernels
