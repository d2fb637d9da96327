// Row-level pieces shared by the GRU kernels (gru.cc: forward and backward; gru_infer.cc: inference), private helper.
#pragma once

#include <cstdint>

#include "kernels/activations.h"
#include "kernels/cell_maps.h"
#include "kernels/gru.h"

namespace rnnkit::kernels::grurows {

using cellmaps::activeAt;
using cellmaps::fillRows;

// Column block of a gate in a [*, 3H] row.
inline int64_t gateColumn(GruGate gate, int64_t hiddenSize) { return static_cast<int64_t>(gate) * hiddenSize; }

// hh = act(pre_hh) in place in the candidate block of gateRow (which holds activated z and r), then
// h_t = z * h_{t-1} + (1 - z) * hh = hh + z * (h_{t-1} - hh).
template <typename T>
void finishForwardRow(Activation activation, T* gateRow, const T* hPrevRow, T* hNextRow, int64_t hiddenSize) {
  const int64_t H = hiddenSize;
  T* hhValues = gateRow + gateColumn(GruGate::Candidate, H);
  activateInPlace(activation, hhValues, H);
  ConstArrayMap<T> z(gateRow + gateColumn(GruGate::Update, H), H), hh(hhValues, H), hPrev(hPrevRow, H);
  ArrayMap<T>(hNextRow, H) = hh + z * (hPrev - hh);
}

}  // namespace rnnkit::kernels::grurows
