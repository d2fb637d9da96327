// ops::StateStore (the stream pool's native state rows): predictRows must equal a plain predict whose state inputs
// were gathered from the rows by hand, write exactly the final states back into exactly those rows, keep the rows
// reading their old values until land(), and change no row at all when the batch is refused or the network throws.
#include <algorithm>
#include <string>
#include <vector>

#include "graph_harness.h"
#include "ops/errors.h"
#include "ops/state_store.h"

namespace {

using namespace rnnkit::tests::graph;
using rnnkit::ops::StateStore;

constexpr int64_t kSteps = 3, kFeatures = 4, kUnits = 5, kRows = 6;

// x [any length, F] -> LSTM (initial h, c from inputs 1, 2; returnState) -> out 3, h 4, c 5; dense(out 3) -> y 6. Outputs y, h, c.
GraphSpec stateGraph() {
  LayerSpec rnn = lstm("lstm", kUnits, false);
  rnn.recurrent.returnState = true;
  GraphSpec g;
  g.inputs = {{"x", {kAnyLength, kFeatures}}, {"h", {kUnits}}, {"c", {kUnits}}};
  g.layers = {rnn, dense("head", 2, Activation::Linear)};
  g.nodes = {{0, {0, 1, 2}, {3, 4, 5}}, {1, {3}, {6}}};
  g.outputs = {6, 4, 5};
  return g;
}

std::vector<float> floats(size_t count, uint32_t seed) {
  const std::vector<double> values = randomVector(count, seed);
  return {values.begin(), values.end()};
}

void fillWeights(Network& network) {
  for (size_t p = 0; p < network.params().size(); ++p) {
    const std::vector<float> values = floats(network.params()[p].size, static_cast<uint32_t>(40 + p));
    std::copy(values.begin(), values.end(), network.paramData(p));
  }
}

// kRows rows, row r holding the values of seed 100 + r.
void fill(StateStore& store) {
  for (int64_t r = kRows - 1; r >= 0; --r) store.resetRow(r);
  for (int64_t r = 0; r < kRows; ++r) store.writeRow(r, floats(2 * kUnits, static_cast<uint32_t>(100 + r)).data());
}

std::vector<std::vector<float>> readAll(const StateStore& store) {
  std::vector<std::vector<float>> rows(store.rows(), std::vector<float>(store.rowSize()));
  for (int64_t r = 0; r < store.rows(); ++r) store.readRow(r, rows[r].data());
  return rows;
}

template <typename Error, typename Body>
bool throwsA(Body body) {
  try {
    body();
  } catch (const Error&) {
    return true;
  }
  return false;
}

RNNKIT_TEST("state store: predictRows gathers, predicts and scatters like a hand-made batch") {
  Network network(stateGraph());
  fillWeights(network);
  StateStore store({kUnits, kUnits});
  fill(store);
  const std::vector<std::vector<float>> before = readAll(store);
  const std::vector<int32_t> rows = {4, 1, 3};
  const int64_t batch = static_cast<int64_t>(rows.size());
  const std::vector<float> x = floats(batch * kSteps * kFeatures, 1);

  // Reference: the states gathered by hand into [batch, units] inputs.
  std::vector<float> h(batch * kUnits), c(batch * kUnits);
  for (int64_t b = 0; b < batch; ++b) {
    std::copy_n(before[rows[b]].begin(), kUnits, h.begin() + b * kUnits);
    std::copy_n(before[rows[b]].begin() + kUnits, kUnits, c.begin() + b * kUnits);
  }
  NetworkBatch full;
  full.batch = batch;
  full.inputs = {x.data(), h.data(), c.data()};
  full.shapes = {{kSteps, kFeatures}, {kUnits}, {kUnits}};
  std::vector<float> y(batch * 2), hOut(batch * kUnits), cOut(batch * kUnits);
  network.predict(full, {y.data(), hOut.data(), cOut.data()});

  NetworkBatch modelOnly;
  modelOnly.batch = batch;
  modelOnly.inputs = {x.data()};
  modelOnly.shapes = {{kSteps, kFeatures}};
  std::vector<float> got(batch * 2);
  store.begin(rows.data(), batch);
  RNNKIT_CHECK(throwsA<rnnkit::ops::StateError>([&] { store.writeRow(1, before[0].data()); }), "write once begun");
  RNNKIT_CHECK(throwsA<rnnkit::ops::StateError>([&] { store.begin(rows.data(), batch); }), "a second batch begun");
  store.writeRow(2, before[2].data());  // not in the batch
  store.predictRows(network, modelOnly, {got.data()});
  RNNKIT_CHECK(got == y, "model outputs differ from the hand-gathered predict");
  // In flight: the rows read as before, and cannot be written or reset.
  RNNKIT_CHECK(readAll(store) == before, "rows in flight must read their values from before the batch");
  RNNKIT_CHECK(throwsA<rnnkit::ops::StateError>([&] { store.writeRow(4, before[0].data()); }), "write in flight");
  RNNKIT_CHECK(throwsA<rnnkit::ops::StateError>([&] { store.resetRow(1); }), "reset in flight");
  RNNKIT_CHECK(throwsA<rnnkit::ops::StateError>([&] { store.predictRows(network, modelOnly, {got.data()}); }),
               "a second prediction without begin");
  store.land();
  const std::vector<std::vector<float>> after = readAll(store);
  for (int64_t r = 0; r < kRows; ++r) {
    const auto at = std::find(rows.begin(), rows.end(), static_cast<int32_t>(r));
    if (at == rows.end()) {
      RNNKIT_CHECK(after[r] == before[r], "row " << r << " is not in the batch but changed");
      continue;
    }
    const int64_t b = at - rows.begin();
    for (int64_t u = 0; u < kUnits; ++u) {
      RNNKIT_CHECK(after[r][u] == hOut[b * kUnits + u] && after[r][kUnits + u] == cOut[b * kUnits + u],
                   "row " << r << " value " << u << " is not the final state of sample " << b);
    }
  }
}

RNNKIT_TEST("state store: a refused or failed batch changes no row") {
  Network network(stateGraph());
  fillWeights(network);
  StateStore store({kUnits, kUnits});
  fill(store);
  const std::vector<std::vector<float>> before = readAll(store);
  const std::vector<float> x = floats(3 * (kSteps + 1) * kFeatures, 2);
  std::vector<float> y(3 * 2);
  NetworkBatch batch;
  batch.batch = 3;
  batch.inputs = {x.data()};
  batch.shapes = {{kSteps, kFeatures}};
  const std::vector<int32_t> duplicate = {0, 2, 0}, outside = {1, kRows, 2}, good = {0, 2, 5};
  RNNKIT_CHECK(throwsA<rnnkit::ops::ArgumentError>([&] { store.begin(duplicate.data(), 3); }),
               "duplicate rows are an ArgumentError");
  RNNKIT_CHECK(throwsA<rnnkit::ops::ArgumentError>([&] { store.begin(outside.data(), 3); }),
               "a row outside the store is an ArgumentError");
  store.writeRow(0, before[0].data());  // the refusals left nothing in flight
  // The network itself throws after the gather (a step count whose activations exceed the memory budget).
  NetworkBatch tooLong = batch;
  tooLong.shapes = {{int64_t{1} << 40, kFeatures}};
  store.begin(good.data(), 3);
  RNNKIT_CHECK(throwsA<std::length_error>([&] { store.predictRows(network, tooLong, {y.data()}); }),
               "a batch over the memory budget throws");
  store.land();
  RNNKIT_CHECK(readAll(store) == before, "a refused or failed batch changed a row");
  // Nothing was left in flight by the refusals: the rows can be written and a good batch runs.
  store.writeRow(0, before[1].data());
  store.begin(good.data(), 3);
  store.predictRows(network, batch, {y.data()});
  store.land();
  RNNKIT_CHECK(readAll(store)[1] == before[1], "row 1 is not in the good batch");
}

RNNKIT_TEST("state store: rows grow as streams are added and start at zero") {
  StateStore store({3, 2});
  RNNKIT_CHECK(store.rows() == 0 && store.rowSize() == 5, "empty store of rows of 5");
  store.resetRow(2);
  RNNKIT_CHECK(store.rows() == 3, "resetRow(2) holds rows 0..2");
  std::vector<float> row(5, 1.f);
  store.readRow(1, row.data());
  RNNKIT_CHECK(row == std::vector<float>(5, 0.f), "a new row reads zeros");
  const std::vector<float> values = {1, 2, 3, 4, 5};
  store.writeRow(2, values.data());
  for (int64_t r = 3; r < 200; ++r) store.resetRow(r);
  store.readRow(2, row.data());
  RNNKIT_CHECK(row == values, "growing keeps the rows");
  store.resetRow(2);
  store.readRow(2, row.data());
  RNNKIT_CHECK(row == std::vector<float>(5, 0.f), "resetRow zeroes a held row");
  RNNKIT_CHECK(throwsA<rnnkit::ops::ArgumentError>([&] { store.readRow(200, row.data()); }), "read outside");
  RNNKIT_CHECK(throwsA<rnnkit::ops::ArgumentError>([&] { store.resetRow(-1); }), "negative row");
}

}  // namespace
