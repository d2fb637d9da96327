#include "ops/sequence_layout.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>

namespace rnnkit::ops {

void SequencePlan::build(int64_t batch, int64_t steps, const SequenceWindows* windows) {
  batch_ = batch;
  steps_ = steps;
  start_.assign(batch, 0);
  end_.assign(batch, static_cast<int32_t>(steps));
  if (windows && !windows->empty()) {
    if (static_cast<int64_t>(windows->start.size()) != batch || static_cast<int64_t>(windows->end.size()) != batch) {
      throw std::invalid_argument("Expected " + std::to_string(batch) + " sequence windows but received " +
                                  std::to_string(windows->start.size()));
    }
    for (int64_t b = 0; b < batch; ++b) {
      const int32_t s = windows->start[b], e = windows->end[b];
      if (s < 0 || e < s || e > steps) {
        throw std::invalid_argument("Expected the valid steps of sample " + std::to_string(b) + " within [0, " +
                                    std::to_string(steps) + "] but received [" + std::to_string(s) + ", " +
                                    std::to_string(e) + ")");
      }
      start_[b] = s;
      end_[b] = e;
    }
  }
  // Longest first; stable so equal lengths keep their batch order (deterministic results).
  std::vector<int64_t> order(batch);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return length(a) > length(b); });
  rowOfSample_.assign(batch, 0);
  for (int64_t r = 0; r < batch; ++r) rowOfSample_[order[r]] = r;

  activeRows_.assign(steps, 0);
  allFull_ = true;
  for (int64_t b = 0; b < batch; ++b) {
    allFull_ = allFull_ && length(b) == steps;
    for (int32_t s = 0; s < length(b); ++s) ++activeRows_[s];
  }
}

template <typename T>
void gatherToCellLayout(const SequencePlan& plan, bool backwards, int64_t features, const T* x,
                        const T* featureScale, T* xCell) {
  const int64_t batch = plan.batch(), steps = plan.steps();
  std::memset(xCell, 0, sizeof(T) * steps * batch * features);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t row = plan.row(b);
    const T* scale = featureScale ? featureScale + b * features : nullptr;
    for (int64_t s = 0; s < plan.length(b); ++s) {
      const T* src = x + (b * steps + plan.inputTime(b, s, backwards)) * features;
      T* dst = xCell + (s * batch + row) * features;
      if (scale) {
        for (int64_t f = 0; f < features; ++f) dst[f] = src[f] * scale[f];
      } else {
        std::memcpy(dst, src, sizeof(T) * features);
      }
    }
  }
}

template <typename T>
void scatterFromCellLayout(const SequencePlan& plan, bool backwards, int64_t features, const T* dxCell,
                           const T* featureScale, T* dx) {
  const int64_t batch = plan.batch(), steps = plan.steps();
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t row = plan.row(b);
    const T* scale = featureScale ? featureScale + b * features : nullptr;
    for (int64_t s = 0; s < plan.length(b); ++s) {
      const T* src = dxCell + (s * batch + row) * features;
      T* dst = dx + (b * steps + plan.inputTime(b, s, backwards)) * features;
      for (int64_t f = 0; f < features; ++f) dst[f] += scale ? src[f] * scale[f] : src[f];
    }
  }
}

template <typename T>
void samplesToCellRows(const SequencePlan& plan, int64_t width, const T* user, T* cell) {
  for (int64_t b = 0; b < plan.batch(); ++b) std::memcpy(cell + plan.row(b) * width, user + b * width, sizeof(T) * width);
}

template <typename T>
void cellRowsToSamples(const SequencePlan& plan, int64_t width, const T* cell, T* user) {
  for (int64_t b = 0; b < plan.batch(); ++b) std::memcpy(user + b * width, cell + plan.row(b) * width, sizeof(T) * width);
}

template void samplesToCellRows<float>(const SequencePlan&, int64_t, const float*, float*);
template void samplesToCellRows<double>(const SequencePlan&, int64_t, const double*, double*);
template void cellRowsToSamples<float>(const SequencePlan&, int64_t, const float*, float*);
template void cellRowsToSamples<double>(const SequencePlan&, int64_t, const double*, double*);
template void gatherToCellLayout<float>(const SequencePlan&, bool, int64_t, const float*, const float*, float*);
template void gatherToCellLayout<double>(const SequencePlan&, bool, int64_t, const double*, const double*, double*);
template void scatterFromCellLayout<float>(const SequencePlan&, bool, int64_t, const float*, const float*, float*);
template void scatterFromCellLayout<double>(const SequencePlan&, bool, int64_t, const double*, const double*,
                                            double*);

}  // namespace rnnkit::ops
