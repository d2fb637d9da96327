// Finds the first value that is NaN or +-Infinity: the input checks of fit / predict / evaluate call it on every
// batch, so it runs at memory speed rather than at the pace of a JavaScript loop (~3 ns per value there, 0.7 ms on
// a 256 x 28 x 28 batch, which was ~6% of an I1 batch-256 predict on two threads).
#pragma once

#include <cstdint>

namespace rnnkit::kernels {

// Index of the first non-finite value of values[0, count), or -1 when all are finite.
int64_t firstNonFinite(const float* values, int64_t count);

}  // namespace rnnkit::kernels
