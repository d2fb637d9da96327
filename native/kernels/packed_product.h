// The per-step recurrent product C[rows, width] (+)= A[rows, depth] * W with W packed once per sequence.
//
// Why: Eigen's GEMM packs both operands into its micro-kernel layout on every call. In a time loop the weight
// operand (U, [H, G*H]) is the same at every step while A (the batch's h_{t-1} or dZ_t, [B, H] or [B, G*H]) is
// small, so most of the packing work is the same matrix over and over (W1: 28 repacks of a 128 x 512 U per forward
// and again per backward, ~10% of training time). This helper packs W once and reuses it at every step.
//
// Exactness: it drives Eigen's own blocking (gemm_blocking_space), packing routines and micro-kernel (gebp) in the
// same order as Eigen's sequential GEMM (Eigen/src/Core/products/GeneralMatrixMatrix.h), so results are
// bit-identical to `C.noalias() += A * W` (and to `C.noalias() = A * W` for assign). Shapes Eigen sends down other
// paths (one row or one column: GEMV; tiny: coefficient-based) go through the plain Eigen expression, as before.
// If the blocking changes with the row count (sequences of different lengths), W is repacked for that count.
// This uses Eigen 3.4's internal product API; native/tests/packed_product_test.cc pins the bit-identity.
//
// Row-major throughout. W is given as (data, leading dimension, transposed): `transposed` means the operand is
// V^T for the stored row-major V [width, depth] (the backward products dZ U^T), otherwise W [depth, width].
// Storage is grow-only and sized in bind(); multiply() never allocates.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace rnnkit::kernels {

template <typename T>
class PackedProduct {
 public:
  // Binds the weight operand for products with up to maxRows rows; packs lazily on the first multiply().
  void bind(const T* weights, int64_t leadingDimension, bool transposed, int64_t depth, int64_t width,
            int64_t maxRows);

  // C (+)= A * W; A [rows, depth] with leading dimension lda, C [rows, width] with leading dimension ldc.
  void multiplyAdd(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc);
  void multiplyAssign(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc);

 private:
  void multiply(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc, bool add);
  bool usesPlainEigen(int64_t rows) const;
  void plainEigen(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc, bool add) const;
  // Eigen's blocking for `rows` rows (kc, mc, nc), computed once per call and shared by the two steps below.
  void ensurePacked(int64_t kc, int64_t mc);
  void blockedMultiplyAdd(const T* a, int64_t lda, int64_t rows, T* c, int64_t ldc, int64_t kc, int64_t mc,
                          int64_t nc);

  const T* weights_ = nullptr;
  int64_t leadingDimension_ = 0, depth_ = 0, width_ = 0, maxRows_ = 0;
  bool transposed_ = false;
  // The blocking the packed W was laid out for (Eigen's kc, mc); 0 = not packed.
  int64_t packedKc_ = 0, packedMc_ = 0;
  std::vector<T, Eigen::aligned_allocator<T>> packedWeights_;  // [depth * width] in Eigen's lhs panel layout
  std::vector<T, Eigen::aligned_allocator<T>> packedRows_;     // one kc x nc block of A^T
};

// The packed recurrent-kernel operands a cell keeps between calls, so their storage is allocated once. A kernel
// given nullptr uses a temporary set (allocated per call, never per step).
template <typename T>
struct RecurrentProducts {
  PackedProduct<T> forward[2];   // h_{t-1} U        (GRU: [0] U_zr, [1] U_h)
  PackedProduct<T> backward[2];  // dZ U^T           (GRU: [0] U_zr^T, [1] U_h^T)
};

}  // namespace rnnkit::kernels
