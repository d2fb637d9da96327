// GRU forward and backward kernels; the math and layouts are in gru.h (the inference pass: gru_infer.cc).
#include "kernels/gru.h"
#include "kernels/gru_rows.h"
#include "kernels/input_projection.h"

#include <Eigen/Core>
#include <algorithm>

namespace rnnkit::kernels {
namespace {

template <typename T>
using Matrix = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <typename T>
using ConstMatrix = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
template <typename T>
using RowVector = Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>;
template <typename T>
using ConstRowVector = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;

using namespace grurows;

// Everything one step touches, for its active rows [0, rows). Row pointers are offset by row * stride.
template <typename T>
struct StepView {
  int64_t rows, hiddenSize;
  const T* hPrev;       // [rows, H] h_{t-1}, for the blend
  const T* hRecurrent;  // [rows, H] h_{t-1} * m (recurrent dropout) or h_{t-1}: what meets U
  T* gates;        // [rows, 3H]: pre-activations on entry to the forward step, activated z, r, hh after it
  T* candidate;    // [rows, H]
};

// resetAfter: hz_h = h_{t-1} U_h + b_r_h is kept; pre_hh = xz_h + r * hz_h. One pass after both GEMMs.
template <typename T>
void forwardStepResetAfter(const GruOptions& options, const StepView<T>& v, PackedProduct<T>* recurrent,
                           const T* candidateBias, T* hNext) {
  const int64_t H = v.hiddenSize, G = 3 * H;
  Matrix<T> candidate(v.candidate, v.rows, H);
  recurrent[0].multiplyAdd(v.hRecurrent, H, v.rows, v.gates, G);     // [z, r] += hm U_zr
  recurrent[1].multiplyAssign(v.hRecurrent, H, v.rows, v.candidate, H);  // hz_h = hm U_h
  if (candidateBias) candidate.rowwise() += ConstRowVector<T>(candidateBias, H);
  for (int64_t row = 0; row < v.rows; ++row) {
    T* gateRow = v.gates + row * G;
    activateInPlace(options.recurrentActivation, gateRow, 2 * H);  // z and r
    ArrayMap<T>(gateRow + gateColumn(GruGate::Candidate, H), H) +=
        ConstArrayMap<T>(gateRow + gateColumn(GruGate::Reset, H), H) * ConstArrayMap<T>(v.candidate + row * H, H);
    finishForwardRow(options.activation, gateRow, v.hPrev + row * H, hNext + row * H, H);
  }
}

// resetBefore (tfjs): r must be activated before the second GEMM, (r * h_{t-1}) U_h, so two passes.
template <typename T>
void forwardStepResetBefore(const GruOptions& options, const StepView<T>& v, PackedProduct<T>* recurrent,
                            T* hNext) {
  const int64_t H = v.hiddenSize, G = 3 * H;
  recurrent[0].multiplyAdd(v.hRecurrent, H, v.rows, v.gates, G);  // [z, r] += hm U_zr
  for (int64_t row = 0; row < v.rows; ++row) {
    T* gateRow = v.gates + row * G;
    activateInPlace(options.recurrentActivation, gateRow, 2 * H);
    ArrayMap<T>(v.candidate + row * H, H) =
        ConstArrayMap<T>(gateRow + gateColumn(GruGate::Reset, H), H) * ConstArrayMap<T>(v.hRecurrent + row * H, H);
  }
  recurrent[1].multiplyAdd(v.candidate, H, v.rows, v.gates + gateColumn(GruGate::Candidate, H), G);  // += (r hm) U_h
  for (int64_t row = 0; row < v.rows; ++row) {
    finishForwardRow(options.activation, v.gates + row * G, v.hPrev + row * H, hNext + row * H, H);
  }
}

// One backward step over its active rows: dState holds g = dL/dh_t on entry and dL/dh_{t-1} on exit; dGates
// receives the pre-activation gradients of z, r, hh and dCandidate the gradient of the kept candidate term.
template <typename T>
struct BackwardStepView {
  int64_t rows, hiddenSize;
  const T* hPrev;       // [rows, H]
  const T* hRecurrent;  // [rows, H] h_{t-1} * m or h_{t-1} (see StepView)
  const T* gates;       // [rows, 3H] activated z, r, hh
  const T* candidate;
  T* dGates;            // [rows, 3H]
  T* dCandidate;        // [rows, H]
  T* dState;            // [rows, H]
  const T* mask;        // [rows, H] recurrent dropout mask, or nullptr
  T* dMasked;           // [rows, H] scratch for the gradient reaching h_{t-1} * m (only with a mask)
};

// Where the recurrent (through-U) part of dh_{t-1} collects: straight into dState, or into dMasked to be
// multiplied by m once complete.
template <typename T>
T* recurrentGradientTarget(const BackwardStepView<T>& v) {
  return v.mask ? v.dMasked : v.dState;
}

// dh_{t-1} += d(h_{t-1} * m) * m once the recurrent part is complete (no-op without a mask).
template <typename T>
void addMaskedRecurrentGradient(const BackwardStepView<T>& v) {
  if (!v.mask) return;
  const int64_t count = v.rows * v.hiddenSize;
  ArrayMap<T>(v.dState, count) += ConstArrayMap<T>(v.dMasked, count) * ConstArrayMap<T>(v.mask, count);
}

// d pre_z = g * (h_{t-1} - hh) * rec'(z),  d pre_hh = g * (1 - z) * act'(hh)
template <typename T>
void updateAndCandidateGradients(const GruOptions& options, const BackwardStepView<T>& v, int64_t row) {
  const int64_t H = v.hiddenSize, G = 3 * H;
  const T* gateRow = v.gates + row * G;
  T* dGateRow = v.dGates + row * G;
  ConstArrayMap<T> g(v.dState + row * H, H), hPrev(v.hPrev + row * H, H);
  ConstArrayMap<T> z(gateRow + gateColumn(GruGate::Update, H), H);
  ConstArrayMap<T> hh(gateRow + gateColumn(GruGate::Candidate, H), H);
  T* dz = dGateRow + gateColumn(GruGate::Update, H);
  T* dhh = dGateRow + gateColumn(GruGate::Candidate, H);
  ArrayMap<T>(dz, H) = g * (hPrev - hh);
  multiplyByDerivative(options.recurrentActivation, z.data(), dz, H);
  ArrayMap<T>(dhh, H) = g * (T(1) - z);
  multiplyByDerivative(options.activation, hh.data(), dhh, H);
}

// resetAfter: pre_hh = xz_h + r * hz_h, so d pre_r = d pre_hh * hz_h * rec'(r), d hz_h = d pre_hh * r;
// dh_{t-1} = g * z + ([d pre_z, d pre_r] U_zr^T + d hz_h U_h^T) * m.
template <typename T>
void backwardStepResetAfter(const GruOptions& options, const BackwardStepView<T>& v,
                            PackedProduct<T>* recurrentTransposed) {
  const int64_t H = v.hiddenSize, G = 3 * H;
  for (int64_t row = 0; row < v.rows; ++row) {
    updateAndCandidateGradients(options, v, row);
    const T* gateRow = v.gates + row * G;
    T* dGateRow = v.dGates + row * G;
    ConstArrayMap<T> r(gateRow + gateColumn(GruGate::Reset, H), H);
    ConstArrayMap<T> dhh(dGateRow + gateColumn(GruGate::Candidate, H), H);
    T* dr = dGateRow + gateColumn(GruGate::Reset, H);
    ArrayMap<T>(dr, H) = dhh * ConstArrayMap<T>(v.candidate + row * H, H);
    multiplyByDerivative(options.recurrentActivation, r.data(), dr, H);
    ArrayMap<T>(v.dCandidate + row * H, H) = dhh * r;
    ArrayMap<T>(v.dState + row * H, H) *= ConstArrayMap<T>(gateRow + gateColumn(GruGate::Update, H), H);
  }
  T* dRecurrent = recurrentGradientTarget(v);
  if (v.mask) Matrix<T>(dRecurrent, v.rows, H).setZero();
  recurrentTransposed[0].multiplyAdd(v.dGates, G, v.rows, dRecurrent, H);      // += [d pre_z, d pre_r] U_zr^T
  recurrentTransposed[1].multiplyAdd(v.dCandidate, H, v.rows, dRecurrent, H);  // += d hz_h U_h^T
  addMaskedRecurrentGradient(v);
}

// resetBefore: pre_hh = xW_h + (r * hm) U_h + b_h with hm = h_{t-1} * m, so d(r hm) = d pre_hh U_h^T (a GEMM
// between the passes), d pre_r = d(r hm) * hm * rec'(r),
// dh_{t-1} = g * z + (d(r hm) * r + [d pre_z, d pre_r] U_zr^T) * m.
template <typename T>
void backwardStepResetBefore(const GruOptions& options, const BackwardStepView<T>& v,
                             PackedProduct<T>* recurrentTransposed) {
  const int64_t H = v.hiddenSize, G = 3 * H;
  for (int64_t row = 0; row < v.rows; ++row) updateAndCandidateGradients(options, v, row);
  // d(r hm) = d pre_hh U_h^T
  recurrentTransposed[1].multiplyAssign(v.dGates + gateColumn(GruGate::Candidate, H), G, v.rows, v.dCandidate, H);
  for (int64_t row = 0; row < v.rows; ++row) {
    const T* gateRow = v.gates + row * G;
    ConstArrayMap<T> r(gateRow + gateColumn(GruGate::Reset, H), H), dRh(v.dCandidate + row * H, H);
    T* dr = v.dGates + row * G + gateColumn(GruGate::Reset, H);
    ArrayMap<T>(dr, H) = dRh * ConstArrayMap<T>(v.hRecurrent + row * H, H);
    multiplyByDerivative(options.recurrentActivation, r.data(), dr, H);
    ArrayMap<T>(v.dState + row * H, H) *= ConstArrayMap<T>(gateRow + gateColumn(GruGate::Update, H), H);
    ArrayMap<T> dRecurrentRow(recurrentGradientTarget(v) + row * H, H);
    if (v.mask) {
      dRecurrentRow = dRh * r;
    } else {
      dRecurrentRow += dRh * r;
    }
  }
  recurrentTransposed[0].multiplyAdd(v.dGates, G, v.rows, recurrentGradientTarget(v), H);  // += d pre_zr U_zr^T
  addMaskedRecurrentGradient(v);
}

// After the time loop, over all T*B rows (rows past their length have zero pre-activation gradients):
//   dW = X^T dGates, dU_zr = Hm^T dGates_zr, dU_h = Hm^T d hz_h (resetAfter) or (r hm)^T d pre_hh,
//   with Hm = Hprev * m under recurrent dropout (the masked tape), else Hprev;
//   db_i = colsum(dGates), b_r: zr part as b_i's, h part colsum(d hz_h); dX = dGates W^T.
template <typename T>
void weightGradients(const RecurrentShape& shape, const GruOptions& options, const T* x, const GruParams<T>& params,
                     const GruTape<const T>& tape, const GruGradients<T>& grads, const GruScratch<T>& scratch,
                     const RecurrentMask<T>& dropout) {
  const int64_t H = shape.hiddenSize, G = 3 * H, F = shape.inputSize, rows = shape.steps * shape.batch;
  ConstMatrix<T> X(x, rows, F), hPrev(recurrentInputs(dropout, tape.states), rows, H);
  ConstMatrix<T> dGates(scratch.dGates, rows, G);
  ConstMatrix<T> dCandidate(scratch.dCandidate, rows, H), candidate(tape.candidate, rows, H);
  Matrix<T>(grads.kernel, F, G).noalias() = X.transpose() * dGates;
  Matrix<T> dU(grads.recurrentKernel, H, G);
  dU.leftCols(2 * H).noalias() = hPrev.transpose() * dGates.leftCols(2 * H);
  if (options.resetAfter) {
    dU.rightCols(H).noalias() = hPrev.transpose() * dCandidate;
  } else {
    dU.rightCols(H).noalias() = candidate.transpose() * dGates.rightCols(H);
  }
  if (grads.bias) {
    RowVector<T>(grads.bias, G) = dGates.colwise().sum();
    if (options.resetAfter) {
      RowVector<T>(grads.bias + G, 2 * H) = RowVector<T>(grads.bias, 2 * H);
      RowVector<T>(grads.bias + G + 2 * H, H) = dCandidate.colwise().sum();
    }
  }
  if (grads.x) Matrix<T>(grads.x, rows, F).noalias() = dGates * ConstMatrix<T>(params.kernel, F, G).transpose();
}

}  // namespace

template <typename T>
void gruForward(const RecurrentShape& shape, const GruOptions& options, const T* x, const int32_t* activeRows,
                const GruParams<T>& params, const GruTape<T>& tape, const RecurrentMask<T>& dropout,
                RecurrentProducts<T>* products) {
  const int64_t B = shape.batch, H = shape.hiddenSize, G = 3 * H, F = shape.inputSize;
  // xz = x W + b_i for every step in one GEMM: [T*B, F] x [F, 3H].
  Matrix<T> allGates(tape.gates, shape.steps * B, G);
  projectInputs(x, shape.steps * B, F, params.kernel, G, params.bias, tape.gates);
  const T* candidateBias = nullptr;
  if (params.bias) {
    if (options.resetAfter) {
      // z and r see b_i + b_r, so fold their recurrent bias in once here; only hz_h needs b_r_h per step.
      allGates.leftCols(2 * H).rowwise() += ConstRowVector<T>(params.bias + G, 2 * H);
      candidateBias = params.bias + G + 2 * H;
    }
  }
  RecurrentProducts<T> temporary;
  PackedProduct<T>* recurrent = (products ? products : &temporary)->forward;
  recurrent[0].bind(params.recurrentKernel, G, false, H, 2 * H, B);                                   // U_zr
  recurrent[1].bind(params.recurrentKernel + gateColumn(GruGate::Candidate, H), G, false, H, H, B);  // U_h
  for (int64_t step = 0; step < shape.steps; ++step) {
    const int64_t active = activeAt(activeRows, step, B);
    const T* hPrev = tape.states + step * B * H;
    T* hNext = tape.states + (step + 1) * B * H;
    T* candidate = tape.candidate + step * B * H;
    const T* hRecurrent = recurrentInput(dropout, hPrev, step, B * H);
    const StepView<T> view{active, H, hPrev, hRecurrent, tape.gates + step * B * G, candidate};
    if (active > 0) {
      if (options.resetAfter) {
        forwardStepResetAfter(options, view, recurrent, candidateBias, hNext);
      } else {
        forwardStepResetBefore(options, view, recurrent, hNext);
      }
    }
    // Rows past their length keep their state; zero candidates keep the backward GEMMs over all rows exact.
    std::copy(hPrev + active * H, hPrev + B * H, hNext + active * H);
    std::fill(candidate + active * H, candidate + B * H, T(0));
  }
}

template <typename T>
void gruBackward(const RecurrentShape& shape, const GruOptions& options, const T* x, const int32_t* activeRows,
                 const GruParams<T>& params, const GruTape<const T>& tape, const T* dhSeq, const T* dFinal,
                 const GruGradients<T>& grads, const GruScratch<T>& scratch, const RecurrentMask<T>& dropout,
                 RecurrentProducts<T>* products) {
  const int64_t B = shape.batch, H = shape.hiddenSize, G = 3 * H;
  RecurrentProducts<T> temporary;
  PackedProduct<T>* recurrentTransposed = (products ? products : &temporary)->backward;
  recurrentTransposed[0].bind(params.recurrentKernel, G, true, 2 * H, H, B);  // U_zr^T
  recurrentTransposed[1].bind(params.recurrentKernel + gateColumn(GruGate::Candidate, H), G, true, H, H, B);  // U_h^T
  if (dFinal) {
    std::copy(dFinal, dFinal + B * H, scratch.dState);
  } else {
    std::fill(scratch.dState, scratch.dState + B * H, T(0));
  }
  for (int64_t step = shape.steps - 1; step >= 0; --step) {
    const int64_t active = activeAt(activeRows, step, B);
    // dL/dh_{s+1} = from later steps + from this step's output. Rows past their length pass it through.
    if (dhSeq) {
      ArrayMap<T>(scratch.dState, B * H) += ConstArrayMap<T>(dhSeq + step * B * H, B * H);
    }
    T* dGates = scratch.dGates + step * B * G;
    T* dCandidate = scratch.dCandidate + step * B * H;
    const T* hPrev = tape.states + step * B * H;
    const T* hRecurrent = dropout.mask ? dropout.maskedPrev + step * B * H : hPrev;
    const BackwardStepView<T> view{active,     H,          hPrev,         hRecurrent,    tape.gates + step * B * G,
                                   tape.candidate + step * B * H, dGates, dCandidate, scratch.dState,
                                   dropout.mask,  dropout.dMasked};
    if (active > 0) {
      if (options.resetAfter) {
        backwardStepResetAfter(options, view, recurrentTransposed);
      } else {
        backwardStepResetBefore(options, view, recurrentTransposed);
      }
    }
    std::fill(dGates + active * G, dGates + B * G, T(0));
    std::fill(dCandidate + active * H, dCandidate + B * H, T(0));
  }
  if (grads.initialState) std::copy(scratch.dState, scratch.dState + B * H, grads.initialState);
  weightGradients(shape, options, x, params, tape, grads, scratch, dropout);
}

#define RNNKIT_INSTANTIATE_GRU(T)                                                                              \
  template void gruForward<T>(const RecurrentShape&, const GruOptions&, const T*, const int32_t*,              \
                              const GruParams<T>&, const GruTape<T>&, const RecurrentMask<T>&,                \
                              RecurrentProducts<T>*);                                                          \
  template void gruBackward<T>(const RecurrentShape&, const GruOptions&, const T*, const int32_t*,             \
                               const GruParams<T>&, const GruTape<const T>&, const T*, const T*,              \
                               const GruGradients<T>&, const GruScratch<T>&, const RecurrentMask<T>&,          \
                               RecurrentProducts<T>*);
RNNKIT_INSTANTIATE_GRU(float)
RNNKIT_INSTANTIATE_GRU(double)
#undef RNNKIT_INSTANTIATE_GRU

}  // namespace rnnkit::kernels
