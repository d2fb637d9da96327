// The JS class `Network`: owns an ops::Network, runs batches on libuv worker threads and resolves Promises.
// While a batch runs, every call that could read or change the network throws a BUSY error, so JS never sees a
// half-updated model and the worker never sees a change under its feet.
#pragma once

#include <napi.h>

#include <memory>

#include "ops/network.h"

namespace rnnkit::binding {

class NetworkWrap : public Napi::ObjectWrap<NetworkWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NetworkWrap(const Napi::CallbackInfo& info);

  ops::Network& network() { return *network_; }
  void setBusy(bool busy) { busy_ = busy; }

 private:
  void ensureIdle(Napi::Env env, const char* what) const;
  size_t paramIndex(const Napi::CallbackInfo& info, size_t argument) const;
  int64_t batchOf(const Napi::CallbackInfo& info, size_t argument) const;

  Napi::Value OutputShape(const Napi::CallbackInfo& info);
  Napi::Value LayerOutputShape(const Napi::CallbackInfo& info);
  Napi::Value Params(const Napi::CallbackInfo& info);
  Napi::Value GetParam(const Napi::CallbackInfo& info);
  void SetParam(const Napi::CallbackInfo& info);
  void SetTrainable(const Napi::CallbackInfo& info);
  void SetLearningRateScale(const Napi::CallbackInfo& info);
  void SetAnchor(const Napi::CallbackInfo& info);
  void Compile(const Napi::CallbackInfo& info);
  Napi::Value GetLearningRate(const Napi::CallbackInfo& info);
  void SetLearningRate(const Napi::CallbackInfo& info);
  Napi::Value GetOptimizerState(const Napi::CallbackInfo& info);
  void SetOptimizerState(const Napi::CallbackInfo& info);
  Napi::Value TrainBatch(const Napi::CallbackInfo& info);
  Napi::Value EvaluateBatch(const Napi::CallbackInfo& info);
  Napi::Value ComputeGradients(const Napi::CallbackInfo& info);
  Napi::Value Predict(const Napi::CallbackInfo& info);
  Napi::Value PredictSync(const Napi::CallbackInfo& info);
  Napi::Value IsBusy(const Napi::CallbackInfo& info);

  std::unique_ptr<ops::Network> network_;
  bool busy_ = false;
};

}  // namespace rnnkit::binding
