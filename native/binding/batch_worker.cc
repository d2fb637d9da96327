#include "binding/batch_worker.h"

#include <stdexcept>

#include "binding/convert.h"
#include "binding/guard.h"

namespace rnnkit::binding {

BatchWorker::BatchWorker(Napi::Env env, Napi::Object owner, NetworkWrap& wrap, BatchTask task, BatchInput input)
    : Napi::AsyncWorker(env, "rnnkit:batch"),
      deferred_(Napi::Promise::Deferred::New(env)),
      owner_(Napi::Persistent(owner)),
      wrap_(wrap),
      task_(task),
      input_(std::move(input)) {
  wrap_.setBusy(true);
}

ops::NetworkBatch BatchInput::view() const {
  ops::NetworkBatch view;
  view.batch = batch;
  view.shapes = shapes;
  for (const auto& input : inputs) view.inputs.push_back(input.data());
  for (const auto& target : targets) view.targets.push_back(target.data());
  view.sampleWeights = sampleWeights.empty() ? nullptr : sampleWeights.data();
  return view;
}

void runPrediction(ops::Network& network, const BatchInput& input, std::vector<std::vector<float>>& outputs,
                   std::vector<ops::Shape>& shapes) {
  const std::vector<ops::Shape>& all = network.concreteShapes(input.shapes);
  shapes.clear();
  for (size_t slot : network.outputSlots()) shapes.push_back(all[slot]);
  outputs.resize(shapes.size());
  std::vector<float*> pointers;
  for (size_t k = 0; k < shapes.size(); ++k) {
    outputs[k].resize(input.batch * ops::shapeSize(shapes[k]));
    pointers.push_back(outputs[k].data());
  }
  network.predict(input.view(), pointers);
}

void runRowsPrediction(ops::Network& network, ops::StateStore& states, const BatchInput& input,
                       std::vector<std::vector<float>>& outputs, std::vector<ops::Shape>& shapes) {
  const std::vector<ops::Shape>& all = network.concreteShapes(input.shapes);
  const size_t modelOutputs = network.outputCount() - states.sizes().size();
  shapes.clear();
  for (size_t k = 0; k < modelOutputs; ++k) shapes.push_back(all[network.outputSlots()[k]]);
  outputs.resize(modelOutputs);
  std::vector<float*> pointers;
  for (size_t k = 0; k < modelOutputs; ++k) {
    outputs[k].resize(input.batch * ops::shapeSize(shapes[k]));
    pointers.push_back(outputs[k].data());
  }
  ops::NetworkBatch view = input.view();
  view.shapes.resize(view.inputs.size());  // the state inputs' shapes come from the store
  states.predictRows(network, view, pointers);
}

Napi::Object predictionToObject(Napi::Env env, const std::vector<std::vector<float>>& outputs,
                                const std::vector<ops::Shape>& shapes) {
  Napi::Object result = Napi::Object::New(env);
  Napi::Array values = Napi::Array::New(env, outputs.size());
  Napi::Array dims = Napi::Array::New(env, shapes.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    values.Set(k, toFloat32Array(env, outputs[k].data(), outputs[k].size()));
    Napi::Array shape = Napi::Array::New(env, shapes[k].size());
    for (size_t d = 0; d < shapes[k].size(); ++d) shape.Set(d, static_cast<double>(shapes[k][d]));
    dims.Set(k, shape);
  }
  result.Set("outputs", values);
  result.Set("shapes", dims);
  return result;
}

void BatchWorker::Execute() {
  try {
    ops::Network& network = wrap_.network();
    switch (task_) {
      case BatchTask::Train:
        metrics_ = network.trainBatch(input_.view(), input_.seed);
        break;
      case BatchTask::Evaluate:
        metrics_ = network.evaluateBatch(input_.view());
        break;
      case BatchTask::Gradients:
        metrics_ = network.computeGradients(input_.view(), input_.seed);
        for (size_t i = 0; i < network.params().size(); ++i) {
          const float* grad = network.gradData(i);
          gradients_.emplace_back(grad, grad + network.params()[i].size);
        }
        break;
      case BatchTask::Minimize:
        solved_ = network.minimize(input_.view(), input_.minimize);
        break;
      case BatchTask::Predict:
        runPrediction(network, input_, outputs_, outputShapes_);
        break;
      case BatchTask::PredictRows:
        runRowsPrediction(network, *wrap_.states(), input_, outputs_, outputShapes_);
        break;
    }
  } catch (...) {
    // Errors travel back as data (binding/guard.h decides the code) and become JS errors in OnError.
    const ErrorData error = describeException(std::current_exception(), "SHAPE");
    errorCode_ = error.code;
    errorMessage_ = error.message;
  }
}

namespace {

// False once the environment can no longer run JavaScript: a worker thread being terminated (worker.terminate(),
// process.exit() in the worker) still completes the batches it had queued, during its teardown. napi_get_named_property
// checks, as every call that may run JS does, that the environment can call into JS, and fails when it cannot.
bool canCallIntoJs(napi_env env) {
  napi_value global, value;
  if (napi_get_global(env, &global) != napi_ok) return false;
  return napi_get_named_property(env, global, "undefined", &value) == napi_ok;
}

}  // namespace

// Replaces node-addon-api's completion, which throws a C++ exception (and so ends the whole process) when it cannot
// create the result or settle the promise in a dying environment. Here a batch that completes into such an
// environment is dropped quietly, and nothing thrown while settling the promise leaves this function.
void BatchWorker::OnWorkComplete(Napi::Env env, napi_status status) {
  wrap_.setBusy(false);
  // The rows of a prediction over state rows read their new values from here on (before the promise settles).
  if (task_ == BatchTask::PredictRows) wrap_.states()->land();
  if (status != napi_cancelled && canCallIntoJs(env)) {
    try {
      Napi::HandleScope scope(env);
      wrap_.reportMemory(env);
      if (errorMessage_.empty()) {
        OnOK();
      } else {
        OnError(Napi::Error::New(env, errorMessage_));
      }
    } catch (const Napi::Error& error) {
      try {
        deferred_.Reject(error.Value());
      } catch (...) {
        // The environment went away while the promise was being settled: nothing is waiting for it.
      }
    } catch (...) {
      try {
        deferred_.Reject(makeError(env, "MEMORY", "Out of memory while returning the batch's result").Value());
      } catch (...) {
      }
    }
  }
  Destroy();
}

void BatchWorker::OnOK() {
  Napi::Env env = Env();
  switch (task_) {
    case BatchTask::Train:
    case BatchTask::Evaluate:
      deferred_.Resolve(metricsToObject(env, metrics_));
      break;
    case BatchTask::Gradients: {
      Napi::Object result = Napi::Object::New(env);
      result.Set("metrics", metricsToObject(env, metrics_));
      Napi::Array grads = Napi::Array::New(env, gradients_.size());
      for (size_t i = 0; i < gradients_.size(); ++i) grads.Set(i, toFloat32Array(env, gradients_[i].data(), gradients_[i].size()));
      result.Set("gradients", grads);
      deferred_.Resolve(result);
      break;
    }
    case BatchTask::Predict:
    case BatchTask::PredictRows:
      deferred_.Resolve(predictionToObject(env, outputs_, outputShapes_));
      break;
    case BatchTask::Minimize: {
      static const char* const kStops[] = {"gradient", "value", "iterations", "line search"};
      Napi::Object result = Napi::Object::New(env);
      result.Set("value", solved_.value);
      result.Set("gradientMax", solved_.gradientMax);
      result.Set("iterations", solved_.iterations);
      result.Set("evaluations", solved_.evaluations);
      result.Set("stopped", kStops[static_cast<int>(solved_.stop)]);
      deferred_.Resolve(result);
      break;
    }
  }
}

void BatchWorker::OnError(const Napi::Error& error) {
  deferred_.Reject(makeError(Env(), errorCode_, error.Message()).Value());
}

}  // namespace rnnkit::binding
