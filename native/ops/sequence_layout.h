// Moves sequence batches between the user's layout and the cells' layout.
//
// User layout: [B, T, F], time in natural order, padding anywhere outside each sample's window [start, end).
// Cell layout: [T, B, F], time-major in processing order, rows sorted by window length (longest first) so the rows
// still running at step s are the prefix [0, activeRows[s]). Row r of the cell layout is sample order[r].
//   processing step s of sample b reads input time     t = backwards ? end_b - 1 - s : start_b + s
//   and writes output position                          p = alignWithTime ? t : (backwards ? T - end_b + s : start_b + s)
// (a goBackwards layer emits outputs in processing order, as Keras does; the backward half of a bidirectional layer
// is aligned with time so the two halves can be merged step by step).
#pragma once

#include <cstdint>
#include <vector>

#include "ops/layer.h"

namespace rnnkit::ops {

class SequencePlan {
 public:
  // windows may be nullptr (every step valid). Throws std::invalid_argument on a window outside [0, T].
  void build(int64_t batch, int64_t steps, const SequenceWindows* windows);

  int64_t batch() const { return batch_; }
  int64_t steps() const { return steps_; }
  // nullptr when every row runs every step (no mask, or all windows full).
  const int32_t* activeRows() const { return allFull_ ? nullptr : activeRows_.data(); }
  int64_t row(int64_t sample) const { return rowOfSample_[sample]; }
  int32_t length(int64_t sample) const { return end_[sample] - start_[sample]; }
  int64_t inputTime(int64_t sample, int64_t step, bool backwards) const {
    return backwards ? end_[sample] - 1 - step : start_[sample] + step;
  }
  int64_t outputPosition(int64_t sample, int64_t step, bool backwards, bool alignWithTime) const {
    if (alignWithTime) return inputTime(sample, step, backwards);
    return backwards ? steps_ - end_[sample] + step : start_[sample] + step;
  }

 private:
  int64_t batch_ = 0, steps_ = 0;
  bool allFull_ = true;
  std::vector<int32_t> start_, end_;
  std::vector<int64_t> rowOfSample_;
  std::vector<int32_t> activeRows_;
};

// xCell[s, row(b), :] = x[b, t(b, s), :] * featureScale[b, :] for valid steps, 0 elsewhere.
// featureScale [B, F] (input dropout mask, already divided by the keep probability) may be nullptr.
template <typename T>
void gatherToCellLayout(const SequencePlan& plan, bool backwards, int64_t features, const T* x,
                        const T* featureScale, T* xCell);

// dx[b, t(b, s), :] += dxCell[s, row(b), :] * featureScale[b, :] for valid steps (dx must be zeroed first by the caller).
template <typename T>
void scatterFromCellLayout(const SequencePlan& plan, bool backwards, int64_t features, const T* dxCell,
                           const T* featureScale, T* dx);

// Per-sample vectors (a recurrent state, [B, width]) between sample order and cell row order:
// cell[row(b), :] = user[b, :] and user[b, :] = cell[row(b), :].
template <typename T>
void samplesToCellRows(const SequencePlan& plan, int64_t width, const T* user, T* cell);
template <typename T>
void cellRowsToSamples(const SequencePlan& plan, int64_t width, const T* cell, T* user);

}  // namespace rnnkit::ops
