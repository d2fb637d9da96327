// The per-step operands of the inference kernels (lstmInfer, simpleRnnInfer, gruInfer), private helper: one product
// per step,
//   z (+)= [h_{t-1} | x_t] [U; W]
// over rows [h_{t-1} | x_t] that alternate between two buffers (`rows`: [2, B, stride], stride from
// inferenceRowStride), with [U; W] stacked once per call into `stackedKernel` ([H+F, width]) and packed once
// (kernels/packed_product.h). A kernel writes h_t into the h part of out(s) and the next step reads it from there.
// With one row the products are GEMVs on W and U as given, so nothing is stacked or packed.
//
// U and W may be column blocks of larger matrices (the GRU's gates), and either may be narrower than z: its
// missing columns count as zeros (the GRU's resetAfter form stacks [U_zr U_h; W_zr 0]).
#pragma once

#include <cstdint>

#include "kernels/packed_product.h"
#include "kernels/recurrent_shape.h"

namespace rnnkit::kernels {

// The first `width` columns of a row-major weight matrix whose rows lie `leadingDimension` values apart.
template <typename T>
struct WeightColumns {
  const T* data;
  int64_t leadingDimension;
  int64_t width;
};

// Copies [U; W] into stacked [H+F, width] (row-major, contiguous), zero where U or W is narrower than width.
template <typename T>
void stackWeights(const WeightColumns<T>& recurrentKernel, int64_t hiddenSize, const WeightColumns<T>& kernel,
                  int64_t inputSize, int64_t width, T* stacked);

template <typename T>
class StackedSteps {
 public:
  // kernel [F, <= width], recurrentKernel [H, <= width]; h0 [B, H] or nullptr for zeros; stackedKernel
  // ([H+F, width]) may be nullptr when B == 1.
  StackedSteps(const RecurrentShape& shape, int64_t width, WeightColumns<T> kernel, WeightColumns<T> recurrentKernel,
               const T* h0, T* stackedKernel, T* rows, PackedProduct<T>& product);

  int64_t stride() const { return stride_; }
  // Rows read by step s and written by it (the h part; out(s) is in(s + 1)).
  T* in(int64_t s) const { return rows_ + (s % 2) * shape_.batch * stride_; }
  T* out(int64_t s) const { return rows_ + ((s + 1) % 2) * shape_.batch * stride_; }

  // Copies x_s [B, F] of the active rows into in(s), then z [active, width] (leading dimension ldz) += in(s) [U; W].
  void multiplyAdd(const T* x, int64_t s, int64_t active, T* z, int64_t ldz);
  // One row only (B == 1): z [recurrent width] += h_{t-1} U, for a caller that adds x_s W itself (lstmInfer projects
  // the inputs of many steps in one product); x_s is not copied into in(s).
  void recurrentMultiplyAdd(int64_t s, T* z) const;
  // After step s wrote the h of its active rows into out(s): the other rows keep their h, and hSeq [T, B, H] (or
  // nullptr) receives every row's h after step s.
  void finishStep(int64_t s, int64_t active, T* hSeq) const;
  // h after the last step into hFinal [B, H] (nullptr: nothing).
  void finalState(T* hFinal) const;

 private:
  RecurrentShape shape_;
  int64_t stride_;
  WeightColumns<T> kernel_, recurrentKernel_;
  T* rows_;
  PackedProduct<T>& product_;
};

}  // namespace rnnkit::kernels
