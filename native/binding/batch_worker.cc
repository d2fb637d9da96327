#include "binding/batch_worker.h"

#include <stdexcept>

#include "binding/convert.h"

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
      case BatchTask::Predict:
        output_.resize(input_.batch * ops::shapeSize(network.outputShape()));
        network.predict(input_.x.data(), input_.batch, output_.data());
        break;
    }
  } catch (const std::invalid_argument& e) {
    errorCode_ = "SHAPE";
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    errorCode_ = "NATIVE";
    SetError("Out of memory while running the batch");
  } catch (const std::exception& e) {
    errorCode_ = "NATIVE";
    SetError(e.what());
  }
}

void BatchWorker::OnOK() {
  wrap_.setBusy(false);
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
  }
}

void BatchWorker::OnError(const Napi::Error& error) {
  wrap_.setBusy(false);
  deferred_.Reject(makeError(Env(), errorCode_, error.Message()).Value());
}

}  // namespace rnnkit::binding
