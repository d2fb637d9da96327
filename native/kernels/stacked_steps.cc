#include "kernels/stacked_steps.h"

#include <algorithm>

#include "kernels/cell_maps.h"

namespace rnnkit::kernels {

using namespace cellmaps;

template <typename T>
StackedSteps<T>::StackedSteps(const RecurrentShape& shape, int64_t width, const T* kernel, const T* recurrentKernel,
                              const T* h0, T* stackedKernel, T* rows, PackedProduct<T>& product)
    : shape_(shape),
      width_(width),
      stride_(inferenceRowStride(shape)),
      kernel_(kernel),
      recurrentKernel_(recurrentKernel),
      rows_(rows),
      product_(product) {
  const int64_t B = shape.batch, F = shape.inputSize, H = shape.hiddenSize;
  if (B > 1) {
    std::copy(recurrentKernel, recurrentKernel + H * width, stackedKernel);
    std::copy(kernel, kernel + F * width, stackedKernel + H * width);
    product.bind(stackedKernel, width, false, H + F, width, B);
  }
  for (int64_t r = 0; r < B; ++r) {
    T* h = rows + r * stride_;
    if (h0) {
      std::copy(h0 + r * H, h0 + (r + 1) * H, h);
    } else {
      std::fill(h, h + H, T(0));
    }
  }
}

template <typename T>
void StackedSteps<T>::multiplyAdd(const T* x, int64_t s, int64_t active, T* z, int64_t ldz) {
  const int64_t B = shape_.batch, F = shape_.inputSize, H = shape_.hiddenSize;
  T* rows = in(s);
  for (int64_t r = 0; r < active; ++r) std::copy(x + (s * B + r) * F, x + (s * B + r + 1) * F, rows + r * stride_ + H);
  if (B > 1) {
    product_.multiplyAdd(rows, stride_, active, z, ldz);
  } else if (active == 1) {
    MatrixMap<T> zRow(z, 1, width_);
    zRow.noalias() += ConstMatrixMap<T>(rows + H, 1, F) * ConstMatrixMap<T>(kernel_, F, width_);
    zRow.noalias() += ConstMatrixMap<T>(rows, 1, H) * ConstMatrixMap<T>(recurrentKernel_, H, width_);
  }
}

template <typename T>
void StackedSteps<T>::finishStep(int64_t s, int64_t active, T* hSeq) const {
  const int64_t B = shape_.batch, H = shape_.hiddenSize;
  const T* from = in(s);
  T* to = out(s);
  for (int64_t r = active; r < B; ++r) std::copy(from + r * stride_, from + r * stride_ + H, to + r * stride_);
  if (hSeq) {
    for (int64_t r = 0; r < B; ++r) std::copy(to + r * stride_, to + r * stride_ + H, hSeq + (s * B + r) * H);
  }
}

template <typename T>
void StackedSteps<T>::finalState(T* hFinal) const {
  if (!hFinal) return;
  const int64_t B = shape_.batch, H = shape_.hiddenSize;
  const T* last = in(shape_.steps);
  for (int64_t r = 0; r < B; ++r) std::copy(last + r * stride_, last + r * stride_ + H, hFinal + r * H);
}

template class StackedSteps<float>;
template class StackedSteps<double>;

}  // namespace rnnkit::kernels
