#include "kernels/optimizers.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

namespace rnnkit::kernels {
namespace {

template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// An update is several Eigen statements, each one pass over its arrays. Running them block by block keeps a
// block's param, grad and state slices in L1 between statements (512 values x 5 arrays x 8 bytes = 20 KB).
constexpr int64_t kBlockSize = 512;

template <typename Body>
void forEachBlock(int64_t count, Body body) {
  for (int64_t begin = 0; begin < count; begin += kBlockSize) body(begin, std::min(kBlockSize, count - begin));
}

}  // namespace

template <typename T>
void sgdUpdate(int64_t count, T* param, const T* grad, T* velocity, T learningRate, T momentum, bool nesterov) {
  ArrayMap<T> p(param, count);
  ConstArrayMap<T> g(grad, count);
  if (velocity == nullptr) {
    p -= learningRate * g;
    return;
  }
  ArrayMap<T> vel(velocity, count);
  forEachBlock(count, [&](int64_t begin, int64_t size) {
    auto pBlock = p.segment(begin, size);
    auto gBlock = g.segment(begin, size);
    auto vBlock = vel.segment(begin, size);
    vBlock = momentum * vBlock - learningRate * gBlock;
    if (nesterov) {
      pBlock += momentum * vBlock - learningRate * gBlock;
    } else {
      pBlock += vBlock;
    }
  });
}

template <typename T>
void adamUpdate(int64_t count, T* param, const T* grad, T* m, T* v, T learningRate, T beta1, T beta2, T epsilon,
                int64_t step) {
  // Bias corrections in double: for float, 1 - b2^t would lose most of its digits early in training.
  const double t = static_cast<double>(step);
  const T alpha = static_cast<T>(static_cast<double>(learningRate) *
                                 std::sqrt(1.0 - std::pow(static_cast<double>(beta2), t)) /
                                 (1.0 - std::pow(static_cast<double>(beta1), t)));
  ArrayMap<T> p(param, count), firstMoment(m, count), secondMoment(v, count);
  ConstArrayMap<T> g(grad, count);
  forEachBlock(count, [&](int64_t begin, int64_t size) {
    auto gBlock = g.segment(begin, size);
    auto mBlock = firstMoment.segment(begin, size);
    auto vBlock = secondMoment.segment(begin, size);
    mBlock = beta1 * mBlock + (T(1) - beta1) * gBlock;
    vBlock = beta2 * vBlock + (T(1) - beta2) * gBlock.square();
    p.segment(begin, size) -= alpha * mBlock / (vBlock.sqrt() + epsilon);
  });
}

template <typename T>
void adamwUpdate(int64_t count, T* param, const T* grad, T* m, T* v, T learningRate, T beta1, T beta2, T epsilon,
                 T weightDecay, int64_t step) {
  // p - lr wd p = (1 - lr wd) p: the decay never sees the gradient, which is what "decoupled" means.
  ArrayMap<T>(param, count) *= T(1) - learningRate * weightDecay;
  adamUpdate(count, param, grad, m, v, learningRate, beta1, beta2, epsilon, step);
}

template <typename T>
void rmspropUpdate(int64_t count, T* param, const T* grad, T* meanSquare, T* meanGrad, T* momentumBuffer,
                   T learningRate, T rho, T momentum, T epsilon) {
  ArrayMap<T> p(param, count), square(meanSquare, count);
  ConstArrayMap<T> g(grad, count);
  forEachBlock(count, [&](int64_t begin, int64_t size) {
    auto gBlock = g.segment(begin, size);
    auto squareBlock = square.segment(begin, size);
    squareBlock = rho * squareBlock + (T(1) - rho) * gBlock.square();
    Eigen::Array<T, Eigen::Dynamic, 1, 0, kBlockSize, 1> update(size);  // bounded capacity: on the stack
    if (meanGrad != nullptr) {
      auto meanBlock = ArrayMap<T>(meanGrad, count).segment(begin, size);
      meanBlock = rho * meanBlock + (T(1) - rho) * gBlock;
      update = learningRate * gBlock / ((squareBlock - meanBlock.square()).max(T(0)) + epsilon).sqrt();
    } else {
      update = learningRate * gBlock / (squareBlock + epsilon).sqrt();
    }
    if (momentumBuffer != nullptr) {
      auto momentumBlock = ArrayMap<T>(momentumBuffer, count).segment(begin, size);
      momentumBlock = momentum * momentumBlock + update;
      p.segment(begin, size) -= momentumBlock;
    } else {
      p.segment(begin, size) -= update;
    }
  });
}

template <typename T>
void adagradUpdate(int64_t count, T* param, const T* grad, T* accumulator, T learningRate, T epsilon) {
  ArrayMap<T> p(param, count), acc(accumulator, count);
  ConstArrayMap<T> g(grad, count);
  forEachBlock(count, [&](int64_t begin, int64_t size) {
    auto gBlock = g.segment(begin, size);
    auto accBlock = acc.segment(begin, size);
    accBlock += gBlock.square();
    p.segment(begin, size) -= learningRate * gBlock / (accBlock + epsilon).sqrt();
  });
}

template <typename T>
double squaredNorm(int64_t count, const T* values) {
  return ConstArrayMap<T>(values, count).template cast<double>().square().sum();
}

template <typename T>
void scaleInPlace(int64_t count, T* values, T factor) {
  ArrayMap<T>(values, count) *= factor;
}

template <typename T>
void clipByValue(int64_t count, T* values, T clipValue) {
  ArrayMap<T> v(values, count);
  v = v.max(-clipValue).min(clipValue);
}

template <typename T>
void addRegularizerGradient(int64_t count, const T* param, T* grad, T l1, T l2) {
  ConstArrayMap<T> p(param, count);
  ArrayMap<T>(grad, count) += l1 * p.sign() + (T(2) * l2) * p;
}

template <typename T>
double regularizerPenalty(int64_t count, const T* param, T l1, T l2) {
  const auto p = ConstArrayMap<T>(param, count).template cast<double>();
  return static_cast<double>(l1) * p.abs().sum() + static_cast<double>(l2) * p.square().sum();
}

template <typename T>
void addAnchoredGradient(int64_t count, const T* param, const T* anchor, T* grad, T factor) {
  ArrayMap<T>(grad, count) += (T(2) * factor) * (ConstArrayMap<T>(param, count) - ConstArrayMap<T>(anchor, count));
}

template <typename T>
double anchoredPenalty(int64_t count, const T* param, const T* anchor, T factor) {
  const auto distance = (ConstArrayMap<T>(param, count) - ConstArrayMap<T>(anchor, count)).template cast<double>();
  return static_cast<double>(factor) * distance.square().sum();
}

#define RNNKIT_INSTANTIATE_OPTIMIZERS(T)                                                                   \
  template void sgdUpdate<T>(int64_t, T*, const T*, T*, T, T, bool);                                       \
  template void adamUpdate<T>(int64_t, T*, const T*, T*, T*, T, T, T, T, int64_t);                         \
  template void adamwUpdate<T>(int64_t, T*, const T*, T*, T*, T, T, T, T, T, int64_t);                     \
  template void rmspropUpdate<T>(int64_t, T*, const T*, T*, T*, T*, T, T, T, T);                           \
  template void adagradUpdate<T>(int64_t, T*, const T*, T*, T, T);                                         \
  template double squaredNorm<T>(int64_t, const T*);                                                       \
  template void scaleInPlace<T>(int64_t, T*, T);                                                           \
  template void clipByValue<T>(int64_t, T*, T);                                                            \
  template void addRegularizerGradient<T>(int64_t, const T*, T*, T, T);                                    \
  template double regularizerPenalty<T>(int64_t, const T*, T, T);                                         \
  template void addAnchoredGradient<T>(int64_t, const T*, const T*, T*, T);                                \
  template double anchoredPenalty<T>(int64_t, const T*, const T*, T);

RNNKIT_INSTANTIATE_OPTIMIZERS(float)
RNNKIT_INSTANTIATE_OPTIMIZERS(double)
#undef RNNKIT_INSTANTIATE_OPTIMIZERS

}  // namespace rnnkit::kernels
