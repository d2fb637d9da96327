#include "kernels/stacked_steps.h"

#include <algorithm>

#include "kernels/cell_maps.h"

namespace rnnkit::kernels {

using namespace cellmaps;

namespace {

template <typename T>
using StridedConstMap = Eigen::Map<const RowMajorMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <typename T>
StridedConstMap<T> columnsOf(const WeightColumns<T>& w, int64_t rows) {
  return StridedConstMap<T>(w.data, rows, w.width, Eigen::OuterStride<>(w.leadingDimension));
}

template <typename T>
void copyRows(const WeightColumns<T>& from, int64_t rows, int64_t width, T* to) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* source = from.data + r * from.leadingDimension;
    std::copy(source, source + from.width, to + r * width);
    std::fill(to + r * width + from.width, to + (r + 1) * width, T(0));
  }
}

}  // namespace

template <typename T>
void stackWeights(const WeightColumns<T>& recurrentKernel, int64_t hiddenSize, const WeightColumns<T>& kernel,
                  int64_t inputSize, int64_t width, T* stacked) {
  copyRows(recurrentKernel, hiddenSize, width, stacked);
  copyRows(kernel, inputSize, width, stacked + hiddenSize * width);
}

template <typename T>
StackedSteps<T>::StackedSteps(const RecurrentShape& shape, int64_t width, WeightColumns<T> kernel,
                              WeightColumns<T> recurrentKernel, const T* h0, T* stackedKernel, T* rows,
                              PackedProduct<T>& product)
    : shape_(shape),
      stride_(inferenceRowStride(shape)),
      kernel_(kernel),
      recurrentKernel_(recurrentKernel),
      rows_(rows),
      product_(product) {
  const int64_t B = shape.batch, F = shape.inputSize, H = shape.hiddenSize;
  if (B > 1) {
    stackWeights(recurrentKernel, H, kernel, F, width, stackedKernel);
    product.bind(stackedKernel, width, false, H + F, width, B);
  }
  for (int64_t r = 0; r < B; ++r) copyOrZero(h0 ? h0 + r * H : nullptr, rows + r * stride_, H);
}

template <typename T>
void StackedSteps<T>::multiplyAdd(const T* x, int64_t s, int64_t active, T* z, int64_t ldz) {
  const int64_t B = shape_.batch, F = shape_.inputSize, H = shape_.hiddenSize;
  T* rows = in(s);
  for (int64_t r = 0; r < active; ++r) std::copy(x + (s * B + r) * F, x + (s * B + r + 1) * F, rows + r * stride_ + H);
  if (B > 1) {
    product_.multiplyAdd(rows, stride_, active, z, ldz);
  } else if (active == 1) {
    MatrixMap<T>(z, 1, kernel_.width).noalias() += ConstMatrixMap<T>(rows + H, 1, F) * columnsOf(kernel_, F);
    MatrixMap<T>(z, 1, recurrentKernel_.width).noalias() +=
        ConstMatrixMap<T>(rows, 1, H) * columnsOf(recurrentKernel_, H);
  }
}

template <typename T>
void StackedSteps<T>::recurrentMultiplyAdd(int64_t s, T* z) const {
  const int64_t H = shape_.hiddenSize;
  MatrixMap<T>(z, 1, recurrentKernel_.width).noalias() += ConstMatrixMap<T>(in(s), 1, H) * columnsOf(recurrentKernel_, H);
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
template void stackWeights<float>(const WeightColumns<float>&, int64_t, const WeightColumns<float>&, int64_t, int64_t,
                                  float*);
template void stackWeights<double>(const WeightColumns<double>&, int64_t, const WeightColumns<double>&, int64_t,
                                   int64_t, double*);

}  // namespace rnnkit::kernels
