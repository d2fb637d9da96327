// Optimizer updates, gradient clipping and weight-regularizer helpers. Each update works element-wise, in place,
// over one parameter tensor of `count` values and its optimizer state (same length, owned by the caller,
// zero-filled before the first step unless stated). Formulas follow Keras; the Keras defaults are listed so the
// API layer can use them, but every value is passed in explicitly here.
#pragma once

#include <cstdint>

namespace rnnkit::kernels {

// SGD (Keras defaults: learningRate 0.01, momentum 0, nesterov false).
//   momentum == 0 (velocity nullptr): p -= lr g
//   else: velocity = momentum velocity - lr g; p += velocity, or with nesterov p += momentum velocity - lr g.
// velocity uses Keras's sign convention (it points downhill).
template <typename T>
void sgdUpdate(int64_t count, T* param, const T* grad, T* velocity, T learningRate, T momentum, bool nesterov);

// Adam (Keras defaults: learningRate 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7). step t is 1-based.
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  alpha = lr sqrt(1 - b2^t) / (1 - b1^t)
//   p -= alpha m / (sqrt(v) + eps)
// (eps is added to the uncorrected sqrt(v), as Keras does; tfjs adds it to the bias-corrected one.)
template <typename T>
void adamUpdate(int64_t count, T* param, const T* grad, T* m, T* v, T learningRate, T beta1, T beta2, T epsilon,
                int64_t step);

// AdamW (Keras defaults: as Adam, weightDecay 0.004): p -= lr weightDecay p (decoupled, before the gradient
// step, using the pre-update p), then the Adam step above.
template <typename T>
void adamwUpdate(int64_t count, T* param, const T* grad, T* m, T* v, T learningRate, T beta1, T beta2, T epsilon,
                 T weightDecay, int64_t step);

// RMSprop (Keras defaults: learningRate 0.001, rho 0.9, momentum 0, epsilon 1e-7, centered false).
//   meanSquare = rho meanSquare + (1 - rho) g^2
//   centered (meanGrad != nullptr): meanGrad = rho meanGrad + (1 - rho) g; denom = meanSquare - meanGrad^2
//   otherwise denom = meanSquare
//   update = lr g / sqrt(denom + eps)   (eps inside the root, as Keras 3 and tfjs)
//   momentum > 0 (momentumBuffer != nullptr): momentumBuffer = momentum momentumBuffer + update; p -= momentumBuffer
//   otherwise p -= update
// denom is clamped at 0: mathematically meanSquare >= meanGrad^2, but rounding can break that by an ulp.
template <typename T>
void rmspropUpdate(int64_t count, T* param, const T* grad, T* meanSquare, T* meanGrad, T* momentumBuffer,
                   T learningRate, T rho, T momentum, T epsilon);

// Adagrad (Keras defaults: learningRate 0.001, initialAccumulatorValue 0.1, epsilon 1e-7).
//   accumulator += g^2;  p -= lr g / (sqrt(accumulator) + eps)
// The caller fills accumulator with initialAccumulatorValue before the first step.
template <typename T>
void adagradUpdate(int64_t count, T* param, const T* grad, T* accumulator, T learningRate, T epsilon);

// sum v^2, accumulated in double (clipnorm / global_clipnorm need the norm of float gradients without overflow
// or loss of small terms).
template <typename T>
double squaredNorm(int64_t count, const T* values);

// values *= factor (clipnorm: factor = clipNorm / max(norm, clipNorm)).
template <typename T>
void scaleInPlace(int64_t count, T* values, T factor);

// values = min(max(values, -clipValue), clipValue) (clipvalue).
template <typename T>
void clipByValue(int64_t count, T* values, T clipValue);

// Keras L1L2 regularizer: penalty = l1 sum |p| + l2 sum p^2, so grad += l1 sign(p) + 2 l2 p (sign(0) = 0).
template <typename T>
void addRegularizerGradient(int64_t count, const T* param, T* grad, T l1, T l2);
template <typename T>
double regularizerPenalty(int64_t count, const T* param, T l1, T l2);

// L2-SP (Li et al., ICML 2018): a penalty towards a starting point a (the source model's weights) instead of 0:
// penalty = factor sum (p - a)^2, so grad += 2 factor (p - a).
template <typename T>
void addAnchoredGradient(int64_t count, const T* param, const T* anchor, T* grad, T factor);
template <typename T>
double anchoredPenalty(int64_t count, const T* param, const T* anchor, T factor);

}  // namespace rnnkit::kernels
