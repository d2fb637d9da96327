// Runs one batch of work for a NetworkWrap off the JS thread (the baton pattern: Execute never touches JS; errors
// travel back as data and become JS errors with a code in OnError).
#pragma once

#include <napi.h>

#include <vector>

#include "binding/network_wrap.h"

namespace rnnkit::binding {

enum class BatchTask { Train, Evaluate, Gradients, Predict, PredictRows, Minimize };

// A NativeBatch copied off the JS heap (binding/network_wrap.cc readBatch checks it first).
struct BatchInput {
  std::vector<std::vector<float>> inputs, targets;  // per model input / output
  std::vector<ops::Shape> shapes;                   // concrete per-sample shape of each input
  std::vector<float> sampleWeights;                 // empty = all 1
  int64_t batch = 0;
  uint32_t seed = 0;
  kernels::LbfgsOptions minimize;  // BatchTask::Minimize

  // The network's view of it (pointers into this object).
  ops::NetworkBatch view() const;
};

// A NativeBatch (info[0]) checked against the network (counts, shapes, lengths) and copied (network_wrap.cc). With
// stateInputs > 0 it holds every input but the last stateInputs (state rows fill those; their declared shapes are
// appended to shapes, with no arrays).
BatchInput readBatch(const Napi::CallbackInfo& info, ops::Network& network, bool withTargets, size_t stateInputs = 0);

// Runs a prediction of `input` into one array per model output, with the per-sample output shapes of the batch.
void runPrediction(ops::Network& network, const BatchInput& input, std::vector<std::vector<float>>& outputs,
                   std::vector<ops::Shape>& shapes);
// The same over the network's state rows (ops::StateStore::predictRows): the model outputs only.
void runRowsPrediction(ops::Network& network, ops::StateStore& states, const BatchInput& input,
                       std::vector<std::vector<float>>& outputs, std::vector<ops::Shape>& shapes);
// { outputs: Float32Array[], shapes: number[][] }.
Napi::Object predictionToObject(Napi::Env env, const std::vector<std::vector<float>>& outputs,
                                const std::vector<ops::Shape>& shapes);

class BatchWorker : public Napi::AsyncWorker {
 public:
  BatchWorker(Napi::Env env, Napi::Object owner, NetworkWrap& wrap, BatchTask task, BatchInput input);
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;
  void OnWorkComplete(Napi::Env env, napi_status status) override;

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;  // keeps the wrapped network alive while the worker runs
  NetworkWrap& wrap_;
  BatchTask task_;
  BatchInput input_;
  ops::NetworkMetrics metrics_;
  std::vector<std::vector<float>> outputs_;
  std::vector<ops::Shape> outputShapes_;
  std::vector<std::vector<float>> gradients_;
  kernels::LbfgsResult solved_;
  std::string errorCode_ = "NATIVE";
  std::string errorMessage_;  // empty: the batch succeeded
};

}  // namespace rnnkit::binding
