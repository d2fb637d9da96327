#include "ops/state_store.h"

#include <algorithm>
#include <string>

#include "ops/errors.h"

namespace rnnkit::ops {

StateStore::StateStore(std::vector<int64_t> sizes) : sizes_(std::move(sizes)) {
  if (sizes_.empty()) throw ArgumentError("Expected at least one state tensor for a state store");
  for (int64_t size : sizes_) {
    if (size < 1) throw ArgumentError("Expected state tensors of at least 1 value but received " + std::to_string(size));
    rowSize_ += size;
  }
  gathered_.resize(sizes_.size());
  finals_.resize(sizes_.size());
}

int64_t StateStore::rows() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int64_t>(flightIndex_.size());
}

int64_t StateStore::memoryBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t floats = static_cast<int64_t>(data_.capacity());
  for (size_t k = 0; k < sizes_.size(); ++k) floats += gathered_[k].capacity() + finals_[k].capacity();
  return floats * static_cast<int64_t>(sizeof(float)) + static_cast<int64_t>(flightIndex_.capacity() * sizeof(int32_t));
}

// Caller holds mutex_.
void StateStore::checkHeld(int64_t row, const char* what) const {
  const int64_t held = static_cast<int64_t>(flightIndex_.size());
  if (row < 0 || row >= held) {
    throw ArgumentError(std::string("Expected a state row in [0, ") + std::to_string(held) + ") to " + what +
                        " but received " + std::to_string(row));
  }
}

void StateStore::resetRow(int64_t row) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (row < 0 || row > INT32_MAX - 1) throw ArgumentError("Expected a state row in [0, 2^31 - 1) but received " + std::to_string(row));
  const size_t needed = static_cast<size_t>(row) + 1;
  if (needed > flightIndex_.size()) {
    // Grow geometrically (amortised O(1) per new stream); the new rows are zeros and not in flight.
    const size_t grown = std::max(needed, flightIndex_.size() + flightIndex_.size() / 2);
    data_.reserve(grown * rowSize_);
    data_.resize(needed * rowSize_, 0.f);
    flightIndex_.resize(needed, -1);
  } else {
    if (flightIndex_[row] >= 0) throw StateError("Cannot reset state row " + std::to_string(row) + " while a prediction runs on it");
    std::fill_n(data_.begin() + row * rowSize_, rowSize_, 0.f);
  }
}

void StateStore::readRow(int64_t row, float* out) const {
  std::lock_guard<std::mutex> lock(mutex_);
  checkHeld(row, "read");
  const int32_t sample = flightIndex_[row];
  if (sample < 0 || !scattered_) {
    std::copy_n(data_.begin() + row * rowSize_, rowSize_, out);
    return;
  }
  // In flight: the values the prediction started from (the JS thread sees the change when the step lands).
  for (size_t k = 0; k < sizes_.size(); ++k) {
    out = std::copy_n(gathered_[k].begin() + sample * sizes_[k], sizes_[k], out);
  }
}

void StateStore::writeRow(int64_t row, const float* values) {
  std::lock_guard<std::mutex> lock(mutex_);
  checkHeld(row, "write");
  if (flightIndex_[row] >= 0) throw StateError("Cannot write state row " + std::to_string(row) + " while a prediction runs on it");
  std::copy_n(values, rowSize_, data_.begin() + row * rowSize_);
}

void StateStore::begin(const int32_t* rows, int64_t batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!flightRows_.empty()) throw StateError("Cannot run a prediction over state rows while another one is in flight");
  for (int64_t b = 0; b < batch; ++b) {
    try {
      checkHeld(rows[b], "predict from");
      if (flightIndex_[rows[b]] >= 0) {
        throw ArgumentError("Expected distinct state rows but row " + std::to_string(rows[b]) + " appears twice");
      }
    } catch (...) {
      for (int64_t c = 0; c < b; ++c) flightIndex_[rows[c]] = -1;
      throw;
    }
    flightIndex_[rows[b]] = static_cast<int32_t>(b);
  }
  flightRows_.assign(rows, rows + batch);
  scattered_ = false;
}

void StateStore::predictRows(Network& network, const NetworkBatch& batch, const std::vector<float*>& outputs) {
  const size_t K = sizes_.size();
  if (batch.inputs.size() + K != network.inputCount() || batch.shapes.size() != batch.inputs.size() ||
      outputs.size() + K != network.outputCount()) {
    throw ArgumentError("Expected " + std::to_string(network.inputCount() - K) + " model inputs and " +
                        std::to_string(network.outputCount() - K) + " model outputs besides the " + std::to_string(K) +
                        " states but received " + std::to_string(batch.inputs.size()) + " inputs and " +
                        std::to_string(outputs.size()) + " outputs");
  }
  NetworkBatch full = batch;
  std::vector<float*> all = outputs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (flightRows_.empty() || static_cast<int64_t>(flightRows_.size()) != batch.batch || scattered_) {
      throw StateError("Expected begin() with the " + std::to_string(batch.batch) + " rows of this prediction");
    }
    const int32_t* rows = flightRows_.data();
    int64_t offset = 0;
    for (size_t k = 0; k < K; ++k) {
      const int64_t size = sizes_[k];
      gathered_[k].resize(batch.batch * size);
      finals_[k].resize(batch.batch * size);
      for (int64_t b = 0; b < batch.batch; ++b) {
        std::copy_n(data_.begin() + rows[b] * rowSize_ + offset, size, gathered_[k].begin() + b * size);
      }
      full.inputs.push_back(gathered_[k].data());
      full.shapes.push_back({size});
      all.push_back(finals_[k].data());
      offset += size;
    }
  }
  network.predict(full, all);  // a throw leaves every row as it was
  std::lock_guard<std::mutex> lock(mutex_);
  const int32_t* rows = flightRows_.data();
  int64_t offset = 0;
  for (size_t k = 0; k < K; ++k) {
    const int64_t size = sizes_[k];
    for (int64_t b = 0; b < batch.batch; ++b) {
      std::copy_n(finals_[k].begin() + b * size, size, data_.begin() + rows[b] * rowSize_ + offset);
    }
    offset += size;
  }
  scattered_ = true;
}

void StateStore::land() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (int32_t row : flightRows_) flightIndex_[row] = -1;
  flightRows_.clear();
  scattered_ = false;
}

}  // namespace rnnkit::ops
