// Z = X W + b over all time steps at once: the "apply input" half of a recurrent cell (marian's naming).
#pragma once

#include <cstdint>

namespace rnnkit::kernels {

// X [rows, depth], W [depth, width], b [width] or nullptr, Z [rows, width]; all row-major and contiguous.
//
// Eigen evaluates `Z = X W` by zero-filling Z and adding each finished dot product onto it. When the whole depth is
// one of Eigen's blocks (depth <= kc, ~288 floats here), starting from b instead of zero therefore gives exactly
// (X W) + b, with one rounding either way, and saves the zero fill and the separate bias pass over Z, a [T*B, G*H]
// buffer (~5-10% of inference time). Otherwise, and for the shapes Eigen does not send to its blocked GEMM, it
// runs the plain two-step form. native/tests/input_projection_test.cc pins the bit-identity.
template <typename T>
void projectInputs(const T* x, int64_t rows, int64_t depth, const T* kernel, int64_t width, const T* bias, T* z);

}  // namespace rnnkit::kernels
