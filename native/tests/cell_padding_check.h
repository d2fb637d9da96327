// Rows past their length (private helper of lstm_test.cc and simple_rnn_test.cc): a batch with varying lengths
// must equal the same rows run one at a time, each only for its own length.
#pragma once

#include <string>

#include "cell_test_support.h"

namespace rnnkit::tests::cells {

// `count` values of `values` from `offset`.
inline Vector slice(const Vector& values, int64_t offset, int64_t count) {
  return Vector(values.begin() + offset, values.begin() + offset + count);
}

// Row r of `in` alone, for its first `length` steps.
inline CellInputs singleRow(const CellInputs& in, int64_t r, int64_t length) {
  const int64_t F = in.shape.inputSize, H = in.shape.hiddenSize, B = in.shape.batch;
  CellInputs row;
  row.config = in.config;
  row.shape = {length, 1, F, H};
  row.params = in.params;
  for (int64_t s = 0; s < length; ++s) {
    const double* source = in.x.data() + (s * B + r) * F;
    row.x.insert(row.x.end(), source, source + F);
  }
  for (const auto& state : in.initial) row.initial.emplace_back(state.begin() + r * H, state.begin() + (r + 1) * H);
  return row;
}

// Expects: states of a row stay fixed once its length is reached; its inputs past the length get a zero
// gradient; its steps past the length add nothing to the parameter gradients (the batch's gradients equal the
// sum over single-row runs); its output gradients past the length flow unchanged into its final-step state.
inline void checkRowsPastLength(CellFactory<double> factory, CellInputs in) {
  const int64_t T = in.shape.steps, B = in.shape.batch, F = in.shape.inputSize, H = in.shape.hiddenSize;
  RNNKIT_CHECK(static_cast<int64_t>(in.lengths.size()) == B, "the padding check needs a length per row");
  // Padding inputs get large values: if they leaked into any result the single-row runs would disagree.
  for (int64_t s = 0; s < T; ++s) {
    for (int64_t r = 0; r < B; ++r) {
      if (s >= in.lengths[r]) std::fill(in.x.begin() + (s * B + r) * F, in.x.begin() + (s * B + r + 1) * F, 50.0);
    }
  }
  const Vector seq = randomVector(T * B * H, 81);
  const auto finals = randomFinalWeights(in.initial.size(), B * H, 82);
  const CellRun batch = runCell(factory, in, seq, finals);

  std::vector<Vector> dParamsSum;
  for (const auto& p : in.params) dParamsSum.emplace_back(p.size(), 0.0);
  for (int64_t r = 0; r < B; ++r) {
    const int64_t length = in.lengths[r];
    for (size_t k = 0; k < batch.states.size(); ++k) {
      for (int64_t s = length; s < T; ++s) {
        for (int64_t j = 0; j < H; ++j) {
          RNNKIT_CHECK(batch.states[k][((s + 1) * B + r) * H + j] == batch.states[k][(s * B + r) * H + j],
                       "row " << r << " state " << k << " changed at step " << s << " past its length " << length);
        }
      }
    }
    for (int64_t s = length; s < T; ++s) {
      for (int64_t i = 0; i < F; ++i) {
        RNNKIT_CHECK(batch.dx[(s * B + r) * F + i] == 0, "row " << r << " has dx != 0 at padded step " << s);
      }
    }
    // The final state of the row is its state after `length` steps, so it also collects dhSeq past the length.
    std::vector<Vector> rowFinals;
    for (const auto& weights : finals) rowFinals.push_back(slice(weights, r * H, H));
    for (int64_t s = length; s < T; ++s) {
      for (int64_t j = 0; j < H; ++j) rowFinals[0][j] += seq[(s * B + r) * H + j];
    }
    if (length == 0) {
      for (size_t k = 0; k < finals.size(); ++k) {
        const Vector got = slice(batch.dInitial[k], r * H, H);
        RNNKIT_CHECK(relativeDifference(got.data(), rowFinals[k].data(), H) < 1e-12,
                     "row " << r << " of length 0: dInitial[" << k << "] is not the passed-through gradient");
      }
      continue;
    }
    const CellInputs row = singleRow(in, r, length);
    Vector rowSeq;
    for (int64_t s = 0; s < length; ++s) {
      rowSeq.insert(rowSeq.end(), seq.begin() + (s * B + r) * H, seq.begin() + (s * B + r + 1) * H);
    }
    const CellRun single = runCell(factory, row, rowSeq, rowFinals);
    for (size_t k = 0; k < finals.size(); ++k) {
      for (int64_t s = 0; s <= length; ++s) {
        const double* batchRow = batch.states[k].data() + (s * B + r) * H;
        const double diff = relativeDifference(batchRow, single.states[k].data() + s * H, H);
        RNNKIT_CHECK(diff < 1e-12, "row " << r << " state " << k << " at step " << s << " differs from its single run");
      }
      const double diff = relativeDifference(batch.dInitial[k].data() + r * H, single.dInitial[k].data(), H);
      RNNKIT_CHECK(diff < 1e-12, "row " << r << " dInitial[" << k << "] differs from its single run by " << diff);
    }
    for (int64_t s = 0; s < length; ++s) {
      const double diff = relativeDifference(batch.dx.data() + (s * B + r) * F, single.dx.data() + s * F, F);
      RNNKIT_CHECK(diff < 1e-12, "row " << r << " dx at step " << s << " differs from its single run by " << diff);
    }
    for (size_t p = 0; p < dParamsSum.size(); ++p) {
      for (size_t i = 0; i < dParamsSum[p].size(); ++i) dParamsSum[p][i] += single.dParams[p][i];
    }
  }
  for (size_t p = 0; p < dParamsSum.size(); ++p) {
    const double diff = relativeDifference(batch.dParams[p].data(), dParamsSum[p].data(), dParamsSum[p].size());
    RNNKIT_CHECK(diff < 1e-12, "parameter " << p << ": batch gradient differs from the sum over rows by " << diff);
  }
}

}  // namespace rnnkit::tests::cells
