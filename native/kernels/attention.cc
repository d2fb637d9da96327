#include "kernels/attention.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>

namespace rnnkit::kernels {

namespace {

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using RowArray = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Row = Eigen::Array<T, 1, Eigen::Dynamic>;

// e [D], the weight of each tanh term: w everywhere (Concat), u (Additive with scale) or ones.
template <typename T>
void fillTermWeights(const AttentionProblem<T>& p, T* terms) {
  Eigen::Map<Row<T>> e(terms, p.keyDim);
  if (p.score == AttentionScore::Concat) {
    e.setConstant(p.concatWeight);
  } else if (p.additiveScale) {
    e = Eigen::Map<const Row<T>>(p.additiveScale, p.keyDim);
  } else {
    e.setOnes();
  }
}

// The scale inside the tanh: a for Concat, 1 for Additive (Keras puts AdditiveAttention's scale outside).
template <typename T>
T innerScale(const AttentionProblem<T>& p) {
  return p.score == AttentionScore::Concat ? p.scale : T(1);
}

}  // namespace

template <typename T>
int64_t attentionScratchSize(const AttentionProblem<T>& p) {
  return p.score == AttentionScore::Dot ? 0 : 2 * p.valueLength * p.keyDim + 2 * p.keyDim;
}

template <typename T>
void attentionScores(const AttentionProblem<T>& p, const T* query, const T* key, T* scores, T* products, T* scratch) {
  const int64_t Tq = p.queryLength, Tv = p.valueLength, D = p.keyDim;
  if (p.score == AttentionScore::Dot) {
    for (int64_t b = 0; b < p.batch; ++b) {
      Eigen::Map<const RowMatrix<T>> Q(query + b * Tq * D, Tq, D), K(key + b * Tv * D, Tv, D);
      Eigen::Map<RowMatrix<T>> S(scores + b * Tq * Tv, Tq, Tv);
      S.noalias() = Q * K.transpose();
      if (products) std::memcpy(products + b * Tq * Tv, S.data(), sizeof(T) * Tq * Tv);
      if (p.scale != T(1)) S *= p.scale;
    }
    return;
  }
  // tanh forms: per query step, the block tanh(a (K + q_i)) over the attendable steps only, [last - first, D] in
  // scratch; its product with e gives the row of scores. Steps outside the window score 0 (their weight is 0 anyway).
  T* terms = scratch + 2 * Tv * D;
  fillTermWeights(p, terms);
  Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> e(terms, D);
  const T a = innerScale(p);
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t i = 0; i < Tq; ++i) {
      T* row = scores + (b * Tq + i) * Tv;
      std::fill(row, row + Tv, T(0));
      int64_t first, last;
      attendableSteps(p, b, i, first, last);
      if (first >= last) continue;
      const int64_t n = last - first;
      Eigen::Map<const RowArray<T>> K(key + (b * Tv + first) * D, n, D);
      Eigen::Map<const Row<T>> q(query + (b * Tq + i) * D, D);
      Eigen::Map<RowArray<T>> z(scratch, n, D), t(scratch + n * D, n, D);
      // Two passes: Eigen vectorises tanh over a plain array but not over the broadcast sum (scalar tanh, 4x slower).
      z = K.rowwise() + q;
      t = (a * z).tanh();
      Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(row + first, n).noalias() = t.matrix() * e;
    }
  }
}

template <typename T>
void maskedSoftmax(const AttentionProblem<T>& p, T* scores) {
  const int64_t Tq = p.queryLength, Tv = p.valueLength;
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t i = 0; i < Tq; ++i) {
      T* row = scores + (b * Tq + i) * Tv;
      int64_t first, last;
      attendableSteps(p, b, i, first, last);
      if (first >= last) {
        std::fill(row, row + Tv, T(1) / static_cast<T>(Tv));
        continue;
      }
      std::fill(row, row + first, T(0));
      std::fill(row + last, row + Tv, T(0));
      Eigen::Map<Row<T>> s(row + first, last - first);
      s = (s - s.maxCoeff()).exp();
      s /= s.sum();
    }
  }
}

template <typename T>
void attentionValues(const AttentionProblem<T>& p, const T* weights, const T* value, T* output) {
  const int64_t Tq = p.queryLength, Tv = p.valueLength, Dv = p.valueDim;
  for (int64_t b = 0; b < p.batch; ++b) {
    Eigen::Map<const RowMatrix<T>> W(weights + b * Tq * Tv, Tq, Tv), V(value + b * Tv * Dv, Tv, Dv);
    Eigen::Map<RowMatrix<T>>(output + b * Tq * Dv, Tq, Dv).noalias() = W * V;
  }
}

template <typename T>
void attentionValuesBackward(const AttentionProblem<T>& p, const T* weights, const T* value, const T* dOutput,
                             T* dWeights, T* dValue) {
  const int64_t Tq = p.queryLength, Tv = p.valueLength, Dv = p.valueDim;
  for (int64_t b = 0; b < p.batch; ++b) {
    Eigen::Map<const RowMatrix<T>> W(weights + b * Tq * Tv, Tq, Tv), V(value + b * Tv * Dv, Tv, Dv);
    Eigen::Map<const RowMatrix<T>> dO(dOutput + b * Tq * Dv, Tq, Dv);
    Eigen::Map<RowMatrix<T>>(dWeights + b * Tq * Tv, Tq, Tv).noalias() = dO * V.transpose();
    Eigen::Map<RowMatrix<T>>(dValue + b * Tv * Dv, Tv, Dv).noalias() = W.transpose() * dO;
  }
}

template <typename T>
void maskedSoftmaxBackward(const AttentionProblem<T>& p, const T* weights, T* dWeights) {
  const int64_t Tq = p.queryLength, Tv = p.valueLength;
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t i = 0; i < Tq; ++i) {
      T* row = dWeights + (b * Tq + i) * Tv;
      int64_t first, last;
      attendableSteps(p, b, i, first, last);
      if (first >= last) {
        std::fill(row, row + Tv, T(0));  // the uniform row is a constant
        continue;
      }
      std::fill(row, row + first, T(0));
      std::fill(row + last, row + Tv, T(0));
      Eigen::Map<const Row<T>> w(weights + (b * Tq + i) * Tv + first, last - first);
      Eigen::Map<Row<T>> g(row + first, last - first);
      const T dot = (w * g).sum();
      g = w * (g - dot);
    }
  }
}

template <typename T>
void attentionScoresBackward(const AttentionProblem<T>& p, const T* query, const T* key, const T* products,
                             const T* dScores, T* dQuery, T* dKey, T* dScale, T* dConcatWeight, T* dAdditiveScale,
                             T* scratch) {
  const int64_t Tq = p.queryLength, Tv = p.valueLength, D = p.keyDim;
  if (p.score == AttentionScore::Dot) {
    T dc = 0;
    for (int64_t b = 0; b < p.batch; ++b) {
      Eigen::Map<const RowMatrix<T>> Q(query + b * Tq * D, Tq, D), K(key + b * Tv * D, Tv, D);
      Eigen::Map<const RowMatrix<T>> dS(dScores + b * Tq * Tv, Tq, Tv);
      Eigen::Map<RowMatrix<T>> dQ(dQuery + b * Tq * D, Tq, D), dK(dKey + b * Tv * D, Tv, D);
      dQ.noalias() = p.scale * (dS * K);
      dK.noalias() = p.scale * (dS.transpose() * Q);
      if (dScale) dc += (dS.array() * Eigen::Map<const RowArray<T>>(products + b * Tq * Tv, Tq, Tv)).sum();
    }
    if (dScale) *dScale = dc;
    return;
  }
  T* terms = scratch + 2 * Tv * D;
  fillTermWeights(p, terms);
  Eigen::Map<const Row<T>> e(terms, D);
  const T a = innerScale(p);
  Eigen::Map<Row<T>> dTerms(terms + D, D);  // de_d
  dTerms.setZero();
  // Only the weight gradients asked for are summed (each is one more pass over the [n, D] block).
  const bool wantTerms = dConcatWeight || dAdditiveScale;
  const bool wantInner = p.score == AttentionScore::Concat && dScale;
  T da = 0;
  std::fill(dKey, dKey + p.batch * Tv * D, T(0));
  for (int64_t b = 0; b < p.batch; ++b) {
    for (int64_t i = 0; i < Tq; ++i) {
      Eigen::Map<Row<T>> dq(dQuery + (b * Tq + i) * D, D);
      dq.setZero();
      int64_t first, last;
      attendableSteps(p, b, i, first, last);
      if (first >= last) continue;
      const int64_t n = last - first;
      Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>> dS(dScores + (b * Tq + i) * Tv + first, n);
      if ((dS == T(0)).all()) continue;  // a masked query row whose scores get no gradient
      Eigen::Map<const RowArray<T>> K(key + (b * Tv + first) * D, n, D);
      Eigen::Map<const Row<T>> q(query + (b * Tq + i) * D, D);
      Eigen::Map<RowArray<T>> z(scratch, n, D), t(scratch + n * D, n, D);
      z = K.rowwise() + q;
      t = (a * z).tanh();
      if (wantTerms) dTerms += (t.colwise() * dS).colwise().sum();
      // h = dS_ij e_d (1 - t^2), reusing t's storage once de has been taken from it.
      t = ((T(1) - t.square()).colwise() * dS).rowwise() * e;
      if (wantInner) da += (t * z).sum();
      dq = a * t.colwise().sum();
      Eigen::Map<RowArray<T>>(dKey + (b * Tv + first) * D, n, D) += a * t;
    }
  }
  if (p.score == AttentionScore::Concat) {
    if (dScale) *dScale = da;
    if (dConcatWeight) *dConcatWeight = dTerms.sum();
  } else if (dAdditiveScale) {
    Eigen::Map<Row<T>>(dAdditiveScale, D) = dTerms;
  }
}

#define RNNKIT_ATTENTION(T)                                                                                      \
  template int64_t attentionScratchSize<T>(const AttentionProblem<T>&);                                          \
  template void attentionScores<T>(const AttentionProblem<T>&, const T*, const T*, T*, T*, T*);                  \
  template void maskedSoftmax<T>(const AttentionProblem<T>&, T*);                                                \
  template void attentionValues<T>(const AttentionProblem<T>&, const T*, const T*, T*);                          \
  template void attentionValuesBackward<T>(const AttentionProblem<T>&, const T*, const T*, const T*, T*, T*);    \
  template void maskedSoftmaxBackward<T>(const AttentionProblem<T>&, const T*, T*);                              \
  template void attentionScoresBackward<T>(const AttentionProblem<T>&, const T*, const T*, const T*, const T*,  \
                                           T*, T*, T*, T*, T*, T*);
RNNKIT_ATTENTION(float)
RNNKIT_ATTENTION(double)
#undef RNNKIT_ATTENTION

}  // namespace rnnkit::kernels
