// Per-sequence recurrent states kept on the native side (the stream pool's state rows, lib/streams/pool.ts), the
// way Triton's sequence batcher keeps implicit state: a network whose last K inputs are initial states and last K
// outputs the matching final states (a state topology, lib/models/state_topology.ts) runs over a batch of rows; the
// rows are gathered into the state inputs, and the final states are scattered back into the same rows only when the
// whole prediction succeeded. Nothing of the states crosses to JS per step; one row is read or written at a time.
//
// Threads: begin() (JS thread, when the batch is queued) puts a batch's rows in flight; predictRows() runs on a worker
// thread while the JS thread may read and write the rows that are not in flight; land() (JS thread, when the batch's
// promise settles) ends the flight. Rows in flight read as they were before the batch until land(), so JS sees a
// row change exactly when the step's result arrives; writing or resetting one is a StateError.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "ops/network.h"

namespace rnnkit::ops {

class StateStore {
 public:
  // sizes[k]: values of state tensor k (network input inputCount - K + k and output outputCount - K + k).
  explicit StateStore(std::vector<int64_t> sizes);

  const std::vector<int64_t>& sizes() const { return sizes_; }
  // Values in one row (all state tensors back to back, in order).
  int64_t rowSize() const { return rowSize_; }
  // Rows allocated so far (every row below it reads as zeros until written).
  int64_t rows() const;
  int64_t memoryBytes() const;

  // Sets `row` to zeros, growing the store to hold it (ArgumentError for a negative row, StateError in flight).
  void resetRow(int64_t row);
  // Copies row into out[rowSize] (ArgumentError for a row the store does not hold).
  void readRow(int64_t row, float* out) const;
  // Replaces row with values[rowSize] (ArgumentError for a row not held, StateError for a row in flight).
  void writeRow(int64_t row, const float* values);

  // Puts rows[0 .. batch) in flight for the next predictRows: they must be held by the store and distinct
  // (ArgumentError), and no other batch may be in flight (StateError); on a throw nothing is in flight.
  void begin(const int32_t* rows, int64_t batch);
  // Runs network.predict over `batch` (the model inputs only: every input but the K state inputs; batch.batch ==
  // the rows given to begin) with sample b's states gathered from the b-th row in flight; outputs receive the model
  // outputs (every output but the K state outputs). On success the final states are written back to the rows; on
  // any throw no row changes.
  void predictRows(Network& network, const NetworkBatch& batch, const std::vector<float*>& outputs);
  // Ends the flight begun by begin() (its rows read their current values again). No-op without one.
  void land();

 private:
  void checkHeld(int64_t row, const char* what) const;

  std::vector<int64_t> sizes_;
  int64_t rowSize_ = 0;
  mutable std::mutex mutex_;
  std::vector<float> data_;            // rows x rowSize_
  std::vector<int32_t> flightIndex_;   // per row: its sample in the running prediction, or -1
  std::vector<int32_t> flightRows_;    // the rows of the running prediction
  bool scattered_ = false;             // its final states are in data_ (in-flight rows then read gathered_)
  std::vector<std::vector<float>> gathered_, finals_;  // per state tensor: [batch, size] in / out
};

}  // namespace rnnkit::ops
