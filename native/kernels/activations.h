// Element-wise activations and their derivatives, vectorised through Eigen arrays.
// Derivatives are written in terms of the activation's output y = f(z), which is what the forward pass
// keeps, so backward never needs the pre-activation:
//   tanh: 1 - y^2    sigmoid: y (1 - y)    hardSigmoid: 0.2 where 0 < y < 1    relu: [y > 0]    linear: 1
// hardSigmoid is clip(0.2 z + 0.5, 0, 1), the Keras 2 / tfjs definition.
#pragma once

#include <Eigen/Core>
#include <cstdint>

namespace rnnkit::kernels {

enum class Activation : int32_t { Linear = 0, Tanh = 1, Sigmoid = 2, HardSigmoid = 3, Relu = 4, Softmax = 5 };

template <typename T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// y = f(y) in place over `count` contiguous values. Softmax is not element-wise: see dense.h.
template <typename T>
inline void activateInPlace(Activation activation, T* values, int64_t count) {
  ArrayMap<T> v(values, count);
  switch (activation) {
    case Activation::Linear: break;
    case Activation::Tanh: v = v.tanh(); break;
    case Activation::Sigmoid: v = v.logistic(); break;
    case Activation::HardSigmoid: v = (v * T(0.2) + T(0.5)).max(T(0)).min(T(1)); break;
    case Activation::Relu: v = v.max(T(0)); break;
    case Activation::Softmax: break;  // handled row-wise by the caller
  }
}

// grad *= f'(z), given y = f(z), over `count` contiguous values.
template <typename T>
inline void multiplyByDerivative(Activation activation, const T* activated, T* grad, int64_t count) {
  ConstArrayMap<T> y(activated, count);
  ArrayMap<T> g(grad, count);
  switch (activation) {
    case Activation::Linear: break;
    case Activation::Tanh: g *= T(1) - y.square(); break;
    case Activation::Sigmoid: g *= y * (T(1) - y); break;
    case Activation::HardSigmoid: g = (y > T(0) && y < T(1)).select(g * T(0.2), T(0)); break;
    case Activation::Relu: g = (y > T(0)).select(g, T(0)); break;
    case Activation::Softmax: break;  // handled row-wise by the caller
  }
}

}  // namespace rnnkit::kernels
