#include "kernels/losses.h"

#include <cmath>

#include <Eigen/Core>

namespace rnnkit::kernels {
namespace {

template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// One row's view for the per-row loss functions below. `gradScale` is dL/dl_i = w_i / rows; `grad` is nullptr
// when the caller wants the value only.
template <typename T>
struct RowLoss {
  int64_t cols;
  const T* p;
  const T* y;
  T gradScale;
  T* grad;
};

template <typename T>
double categoricalRow(const RowLoss<T>& row) {
  const T low = T(kProbabilityClip), high = T(1) - T(kProbabilityClip);
  ConstArrayMap<T> p(row.p, row.cols), y(row.y, row.cols);
  const double value = -static_cast<double>((y * p.max(low).min(high).log()).sum());
  // dl/dp = -y / p inside the clip range, 0 outside (the clip's gradient).
  if (row.grad) ArrayMap<T>(row.grad, row.cols) = (p >= low && p <= high).select(-row.gradScale * y / p, T(0));
  return value;
}

template <typename T>
double sparseCategoricalRow(const RowLoss<T>& row) {
  const T low = T(kProbabilityClip), high = T(1) - T(kProbabilityClip);
  const int64_t target = static_cast<int64_t>(*row.y);
  const T p = row.p[target];
  const T clipped = p < low ? low : (p > high ? high : p);
  if (row.grad) {
    ArrayMap<T>(row.grad, row.cols).setZero();
    row.grad[target] = (p >= low && p <= high) ? -row.gradScale / p : T(0);
  }
  return -std::log(static_cast<double>(clipped));
}

template <typename T>
double binaryRow(const RowLoss<T>& row) {
  const T low = T(kProbabilityClip), high = T(1) - T(kProbabilityClip);
  ConstArrayMap<T> p(row.p, row.cols), y(row.y, row.cols);
  const auto clipped = p.max(low).min(high);
  const double sum = static_cast<double>((y * clipped.log() + (T(1) - y) * (T(1) - clipped).log()).sum());
  // dl/dp = ((1 - y) / (1 - p) - y / p) / cols inside the clip range.
  if (row.grad) {
    const T scale = row.gradScale / T(row.cols);
    ArrayMap<T>(row.grad, row.cols) =
        (p >= low && p <= high).select(scale * ((T(1) - y) / (T(1) - p) - y / p), T(0));
  }
  return -sum / static_cast<double>(row.cols);
}

template <typename T>
double squaredErrorRow(const RowLoss<T>& row) {
  ConstArrayMap<T> p(row.p, row.cols), y(row.y, row.cols);
  const auto error = p - y;
  if (row.grad) ArrayMap<T>(row.grad, row.cols) = (T(2) * row.gradScale / T(row.cols)) * error;
  return static_cast<double>(error.square().sum()) / static_cast<double>(row.cols);
}

template <typename T>
double absoluteErrorRow(const RowLoss<T>& row) {
  ConstArrayMap<T> p(row.p, row.cols), y(row.y, row.cols);
  const auto error = p - y;
  // d|e|/de = sign(e), 0 at e == 0 like tf.abs.
  if (row.grad) ArrayMap<T>(row.grad, row.cols) = (row.gradScale / T(row.cols)) * error.sign();
  return static_cast<double>(error.abs().sum()) / static_cast<double>(row.cols);
}

template <typename T>
double huberRow(const RowLoss<T>& row, T delta) {
  ConstArrayMap<T> p(row.p, row.cols), y(row.y, row.cols);
  const auto error = p - y;
  const auto quadratic = T(0.5) * error.square();
  const auto linear = delta * error.abs() - T(0.5) * delta * delta;
  const double sum = static_cast<double>((error.abs() <= delta).select(quadratic, linear).sum());
  // h'(e) = e inside [-delta, delta] and delta sign(e) outside: e clamped to the interval.
  if (row.grad) ArrayMap<T>(row.grad, row.cols) = (row.gradScale / T(row.cols)) * error.max(-delta).min(delta);
  return sum / static_cast<double>(row.cols);
}

template <typename T>
int64_t argmax(int64_t cols, const T* values) {
  int64_t best = 0;
  for (int64_t c = 1; c < cols; ++c) {
    if (values[c] > values[best]) best = c;
  }
  return best;
}

}  // namespace

template <typename T>
double lossForward(Loss loss, int64_t rows, int64_t cols, const T* predictions, const T* targets,
                   const T* sampleWeights, T huberDelta, T* gradPredictions) {
  if (rows == 0) return 0;
  const bool sparse = loss == Loss::SparseCategoricalCrossentropy;
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T weight = sampleWeights ? sampleWeights[r] : T(1);
    const RowLoss<T> row{cols, predictions + r * cols, targets + (sparse ? r : r * cols), weight / T(rows),
                         gradPredictions ? gradPredictions + r * cols : nullptr};
    double value = 0;
    switch (loss) {
      case Loss::CategoricalCrossentropy: value = categoricalRow(row); break;
      case Loss::SparseCategoricalCrossentropy: value = sparseCategoricalRow(row); break;
      case Loss::BinaryCrossentropy: value = binaryRow(row); break;
      case Loss::MeanSquaredError: value = squaredErrorRow(row); break;
      case Loss::MeanAbsoluteError: value = absoluteErrorRow(row); break;
      case Loss::Huber: value = huberRow(row, huberDelta); break;
    }
    total += static_cast<double>(weight) * value;
  }
  return total / static_cast<double>(rows);
}

template <typename T>
void softmaxCrossEntropyLogitGrad(int64_t rows, int64_t cols, bool sparseTargets, const T* probabilities,
                                  const T* targets, const T* sampleWeights, T* gradLogits) {
  for (int64_t r = 0; r < rows; ++r) {
    const T scale = (sampleWeights ? sampleWeights[r] : T(1)) / T(rows);
    ConstArrayMap<T> p(probabilities + r * cols, cols);
    ArrayMap<T> grad(gradLogits + r * cols, cols);
    if (sparseTargets) {
      grad = scale * p;
      grad[static_cast<int64_t>(targets[r])] -= scale;
    } else {
      // d/dz of -sum_c y_c log softmax(z)_c = p sum_c y_c - y (targets need not sum to 1).
      ConstArrayMap<T> y(targets + r * cols, cols);
      grad = scale * (p * y.sum() - y);
    }
  }
}

template <typename T>
void sigmoidBinaryCrossEntropyLogitGrad(int64_t rows, int64_t cols, const T* probabilities, const T* targets,
                                        const T* sampleWeights, T* gradLogits) {
  for (int64_t r = 0; r < rows; ++r) {
    const T scale = (sampleWeights ? sampleWeights[r] : T(1)) / T(rows * cols);
    ConstArrayMap<T> p(probabilities + r * cols, cols), y(targets + r * cols, cols);
    ArrayMap<T>(gradLogits + r * cols, cols) = scale * (p - y);
  }
}

template <typename T>
double accuracyCount(Loss lossKind, int64_t rows, int64_t cols, const T* predictions, const T* targets,
                     const T* sampleWeights) {
  const bool regression = lossKind != Loss::CategoricalCrossentropy &&
                          lossKind != Loss::SparseCategoricalCrossentropy && lossKind != Loss::BinaryCrossentropy;
  const bool elementWise = lossKind == Loss::BinaryCrossentropy || (regression && cols == 1);
  double count = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const double weight = sampleWeights ? static_cast<double>(sampleWeights[r]) : 1.0;
    const T* p = predictions + r * cols;
    if (elementWise) {
      ConstArrayMap<T> predicted(p, cols), actual(targets + r * cols, cols);
      count += weight * static_cast<double>(((predicted > T(0.5)) == (actual > T(0.5))).count());
    } else if (lossKind == Loss::SparseCategoricalCrossentropy) {
      if (argmax(cols, p) == static_cast<int64_t>(targets[r])) count += weight;
    } else if (argmax(cols, p) == argmax(cols, targets + r * cols)) {
      count += weight;
    }
  }
  return count;
}

#define RNNKIT_INSTANTIATE_LOSSES(T)                                                                        \
  template double lossForward<T>(Loss, int64_t, int64_t, const T*, const T*, const T*, T, T*);              \
  template void softmaxCrossEntropyLogitGrad<T>(int64_t, int64_t, bool, const T*, const T*, const T*, T*); \
  template void sigmoidBinaryCrossEntropyLogitGrad<T>(int64_t, int64_t, const T*, const T*, const T*, T*);  \
  template double accuracyCount<T>(Loss, int64_t, int64_t, const T*, const T*, const T*);

RNNKIT_INSTANTIATE_LOSSES(float)
RNNKIT_INSTANTIATE_LOSSES(double)
#undef RNNKIT_INSTANTIATE_LOSSES

}  // namespace rnnkit::kernels
