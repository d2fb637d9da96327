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

void BatchWorker::Execute() {
  try {
    ops::Network& network = wrap_.network();
    const float* weights = input_.sampleWeights.empty() ? nullptr : input_.sampleWeights.data();
    switch (task_) {
      case BatchTask::Train:
        metrics_ = network.trainBatch(input_.x.data(), input_.batch, input_.targets.data(), weights, input_.seed);
        break;
      case BatchTask::Evaluate:
        metrics_ = network.evaluateBatch(input_.x.data(), input_.batch, input_.targets.data(), weights);
        break;
      case BatchTask::Gradients:
        metrics_ = network.computeGradients(input_.x.data(), input_.batch, input_.targets.data(), weights, input_.seed);
        for (size_t i = 0; i < network.params().size(); ++i) {
          const float* grad = network.gradData(i);
          gradients_.emplace_back(grad, grad + network.params()[i].size);
        }
        break;
      case BatchTask::Minimize:
        solved_ = network.minimize(input_.x.data(), input_.batch, input_.targets.data(), weights, input_.minimize);
        break;
      case BatchTask::Predict:
        output_.resize(input_.batch * ops::shapeSize(network.outputShape()));
        network.predict(input_.x.data(), input_.batch, output_.data());
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
      deferred_.Resolve(toFloat32Array(env, output_.data(), output_.size()));
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
