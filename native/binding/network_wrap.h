// The JS class `Network`: owns an ops::Network, runs batches on libuv worker threads and resolves Promises.
// While a batch runs, every call that could read or change the network throws a BUSY error, so JS never sees a
// half-updated model and the worker never sees a change under its feet.
#pragma once

#include <napi.h>

#include <memory>

#include "ops/network.h"
#include "ops/state_store.h"

namespace rnnkit::binding {

enum class BatchTask;  // binding/batch_worker.h
struct BatchInput;

class NetworkWrap : public Napi::ObjectWrap<NetworkWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NetworkWrap(const Napi::CallbackInfo& info);
  ~NetworkWrap() override;

  ops::Network& network() { return *network_; }
  // The per-stream state rows (createStates); null until then.
  ops::StateStore* states() { return states_.get(); }
  void setBusy(bool busy) { busy_ = busy; }
  // Tells V8 how many bytes the native network holds now (napi_adjust_external_memory), so a JS heap with many
  // dropped models collects them instead of growing: V8 cannot see native buffers otherwise.
  void reportMemory(Napi::Env env);

 private:
  using Method = Napi::Value (NetworkWrap::*)(const Napi::CallbackInfo&);
  // Every JS-visible method runs through Guarded (binding/guard.h), and, unless it is one of the few that work on a
  // disposed network (isBusy, isDisposed, dispose), only while the network exists.
  template <Method method, bool needsNetwork = true>
  Napi::Value Guarded(const Napi::CallbackInfo& info);
  void ensureIdle(Napi::Env env, const char* what) const;
  Napi::Value queueBatch(BatchTask task, BatchInput input);
  size_t paramIndex(const Napi::CallbackInfo& info, size_t argument) const;

  Napi::Value Params(const Napi::CallbackInfo& info);
  Napi::Value GetParam(const Napi::CallbackInfo& info);
  Napi::Value SetParam(const Napi::CallbackInfo& info);
  Napi::Value SetTrainable(const Napi::CallbackInfo& info);
  Napi::Value SetLearningRateScale(const Napi::CallbackInfo& info);
  Napi::Value SetAnchor(const Napi::CallbackInfo& info);
  Napi::Value Compile(const Napi::CallbackInfo& info);
  Napi::Value GetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value SetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value GetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value SetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value TrainBatch(const Napi::CallbackInfo& info);
  Napi::Value EvaluateBatch(const Napi::CallbackInfo& info);
  Napi::Value ComputeGradients(const Napi::CallbackInfo& info);
  Napi::Value Minimize(const Napi::CallbackInfo& info);
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value PredictSync(const Napi::CallbackInfo& info);
  Napi::Value CreateStates(const Napi::CallbackInfo& info);
  Napi::Value ResetStateRow(const Napi::CallbackInfo& info);
  Napi::Value GetStateRow(const Napi::CallbackInfo& info);
  Napi::Value SetStateRow(const Napi::CallbackInfo& info);
  Napi::Value PredictRows(const Napi::CallbackInfo& info);
  ops::StateStore& requireStates(Napi::Env env) const;
  int64_t stateRow(const Napi::CallbackInfo& info) const;
  Napi::Value IsBusy(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value MemoryBytes(const Napi::CallbackInfo& info);

  std::unique_ptr<ops::Network> network_;
  std::unique_ptr<ops::StateStore> states_;  // after network_: freed first
  bool busy_ = false;
  napi_env env_ = nullptr;
  int64_t reportedBytes_ = 0;
};

}  // namespace rnnkit::binding
