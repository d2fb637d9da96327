// The JS-visible methods of NetworkWrap over the network's state rows (ops::StateStore, the stream pool's states):
// argument conversion only; the rows, their gather and scatter live in native/ops/state_store.cc.
#include <algorithm>
#include <cmath>
#include <string>

#include "binding/batch_worker.h"
#include "binding/convert.h"
#include "binding/network_wrap.h"

namespace rnnkit::binding {

// createStates(count): the last `count` inputs of the network are per-sequence initial states ([size] each) and its
// last `count` outputs the matching final states; makes an empty store of rows for them (replacing any other).
Napi::Value NetworkWrap::CreateStates(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureIdle(env, "create state rows");
  const double count = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  const size_t inputs = network_->inputCount(), outputs = network_->outputCount();
  if (!(count >= 1 && std::floor(count) == count && count < inputs && count < outputs)) {
    fail(env, "ARGUMENT", "Expected a state count in [1, " + std::to_string(std::min(inputs, outputs) - 1) +
                              "] (states are the last inputs and outputs) but received " +
                              (info[0].IsNumber() ? std::to_string(count) : std::string("a non-number")));
  }
  std::vector<int64_t> sizes;
  for (size_t k = inputs - static_cast<size_t>(count); k < inputs; ++k) {
    const ops::Shape& shape = network_->input(k).shape;
    if (shape.size() != 1 || shape[0] < 1) {
      fail(env, "SHAPE", "Expected state input '" + network_->input(k).name + "' to have a fixed shape [size] but it has " +
                             ops::shapeToString(shape));
    }
    sizes.push_back(shape[0]);
  }
  states_ = std::make_unique<ops::StateStore>(std::move(sizes));
  reportMemory(env);
  return env.Undefined();
}

ops::StateStore& NetworkWrap::requireStates(Napi::Env env) const {
  if (!states_) fail(env, "STATE", "This network has no state rows (createStates first)");
  return *states_;
}

int64_t NetworkWrap::stateRow(const Napi::CallbackInfo& info) const {
  const double row = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(row >= 0 && row < 2147483647.0 && std::floor(row) == row)) {
    fail(info.Env(), "ARGUMENT", "Expected a state row (a whole number >= 0) but received " +
                                     (info[0].IsNumber() ? std::to_string(row) : std::string("a non-number")));
  }
  return static_cast<int64_t>(row);
}

// resetStateRow(row): zeros, growing the store to hold the row. Works while a batch runs (not on its rows).
Napi::Value NetworkWrap::ResetStateRow(const Napi::CallbackInfo& info) {
  ops::StateStore& states = requireStates(info.Env());
  states.resetRow(stateRow(info));
  reportMemory(info.Env());
  return info.Env().Undefined();
}

// getStateRow(row): a copy of the row (a row in a running batch: as it was before that batch).
Napi::Value NetworkWrap::GetStateRow(const Napi::CallbackInfo& info) {
  ops::StateStore& states = requireStates(info.Env());
  Napi::Float32Array out = Napi::Float32Array::New(info.Env(), states.rowSize());
  states.readRow(stateRow(info), out.Data());
  return out;
}

// setStateRow(row, values: Float32Array[rowSize]); not on a row in a running batch.
Napi::Value NetworkWrap::SetStateRow(const Napi::CallbackInfo& info) {
  ops::StateStore& states = requireStates(info.Env());
  const int64_t row = stateRow(info);
  std::vector<float> values;
  copyFloat32(info.Env(), info[1], "state row " + std::to_string(row), states.rowSize(), values);
  states.writeRow(row, values.data());
  return info.Env().Undefined();
}

// predictRows(batch, rows: Int32Array): predict over the model inputs of `batch` (every input but the states), the
// states of sample b gathered from row rows[b] and written back only if the batch succeeds; resolves to the model
// outputs { outputs, shapes } (no states).
Napi::Value NetworkWrap::PredictRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureIdle(env, "predict");
  ops::StateStore& states = requireStates(env);
  BatchInput input = readBatch(info, *network_, false, states.sizes().size());
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    fail(env, "ARGUMENT", "Expected an Int32Array of state rows");
  }
  Napi::Int32Array rows = info[1].As<Napi::Int32Array>();
  if (static_cast<int64_t>(rows.ElementLength()) != input.batch) {
    fail(env, "SHAPE", "Expected " + std::to_string(input.batch) + " state rows (one per sample) but received " +
                           std::to_string(rows.ElementLength()));
  }
  // Rows in flight from here (JS thread) until the worker completes: a write to one is refused at once.
  states.begin(rows.Data(), input.batch);
  try {
    return queueBatch(BatchTask::PredictRows, std::move(input));
  } catch (...) {
    states.land();
    throw;
  }
}

}  // namespace rnnkit::binding
