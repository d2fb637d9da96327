#include "binding/network_wrap.h"

#include <cmath>
#include <stdexcept>

#include "binding/batch_worker.h"
#include "binding/convert.h"
#include "binding/guard.h"
#include "kernels/finite_scan.h"

namespace rnnkit::binding {

template <NetworkWrap::Method method, bool needsNetwork>
Napi::Value NetworkWrap::Guarded(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, "ARGUMENT", [&] {
    if (needsNetwork && !network_) fail(env, "STATE", "This model was disposed; its native memory is freed");
    return (this->*method)(info);
  });
}

Napi::Function NetworkWrap::Define(Napi::Env env) {
  return DefineClass(env, "Network",
                     {InstanceMethod("params", &NetworkWrap::Guarded<&NetworkWrap::Params>),
                      InstanceMethod("getParam", &NetworkWrap::Guarded<&NetworkWrap::GetParam>),
                      InstanceMethod("setParam", &NetworkWrap::Guarded<&NetworkWrap::SetParam>),
                      InstanceMethod("setTrainable", &NetworkWrap::Guarded<&NetworkWrap::SetTrainable>),
                      InstanceMethod("setLearningRateScale", &NetworkWrap::Guarded<&NetworkWrap::SetLearningRateScale>),
                      InstanceMethod("setAnchor", &NetworkWrap::Guarded<&NetworkWrap::SetAnchor>),
                      InstanceMethod("compile", &NetworkWrap::Guarded<&NetworkWrap::Compile>),
                      InstanceMethod("getLearningRate", &NetworkWrap::Guarded<&NetworkWrap::GetLearningRate>),
                      InstanceMethod("setLearningRate", &NetworkWrap::Guarded<&NetworkWrap::SetLearningRate>),
                      InstanceMethod("getOptimizerState", &NetworkWrap::Guarded<&NetworkWrap::GetOptimizerState>),
                      InstanceMethod("setOptimizerState", &NetworkWrap::Guarded<&NetworkWrap::SetOptimizerState>),
                      InstanceMethod("trainBatch", &NetworkWrap::Guarded<&NetworkWrap::TrainBatch>),
                      InstanceMethod("evaluateBatch", &NetworkWrap::Guarded<&NetworkWrap::EvaluateBatch>),
                      InstanceMethod("computeGradients", &NetworkWrap::Guarded<&NetworkWrap::ComputeGradients>),
                      InstanceMethod("minimize", &NetworkWrap::Guarded<&NetworkWrap::Minimize>),
                      InstanceMethod("predict", &NetworkWrap::Guarded<&NetworkWrap::Predict>),
                      InstanceMethod("predictSync", &NetworkWrap::Guarded<&NetworkWrap::PredictSync>),
                      InstanceMethod("createStates", &NetworkWrap::Guarded<&NetworkWrap::CreateStates>),
                      InstanceMethod("resetStateRow", &NetworkWrap::Guarded<&NetworkWrap::ResetStateRow>),
                      InstanceMethod("getStateRow", &NetworkWrap::Guarded<&NetworkWrap::GetStateRow>),
                      InstanceMethod("setStateRow", &NetworkWrap::Guarded<&NetworkWrap::SetStateRow>),
                      InstanceMethod("predictRows", &NetworkWrap::Guarded<&NetworkWrap::PredictRows>),
                      InstanceMethod("memoryBytes", &NetworkWrap::Guarded<&NetworkWrap::MemoryBytes>),
                      InstanceMethod("isBusy", &NetworkWrap::Guarded<&NetworkWrap::IsBusy, false>),
                      InstanceMethod("isDisposed", &NetworkWrap::Guarded<&NetworkWrap::IsDisposed, false>),
                      InstanceMethod("dispose", &NetworkWrap::Guarded<&NetworkWrap::Dispose, false>)});
}

// new Network({ inputs, layers, nodes, outputs }) (NativeGraphSpec)
NetworkWrap::NetworkWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetworkWrap>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  // Layer shapes that do not fit are SHAPE errors; sizes too large to allocate MEMORY ones (binding/guard.h).
  guarded(env, "SHAPE", [&] {
    network_ = std::make_unique<ops::Network>(toGraphSpec(env, info[0]));
  });
  reportMemory(env);
}

NetworkWrap::~NetworkWrap() {
  // Runs in a GC finalizer or at environment teardown: nothing here may throw, so the raw call, status ignored.
  int64_t adjusted = 0;
  if (reportedBytes_ != 0) napi_adjust_external_memory(env_, -reportedBytes_, &adjusted);
}

void NetworkWrap::reportMemory(Napi::Env env) {
  const int64_t bytes = (network_ ? network_->memoryBytes() : 0) + (states_ ? states_->memoryBytes() : 0);
  int64_t adjusted = 0;
  if (bytes != reportedBytes_ && napi_adjust_external_memory(env, bytes - reportedBytes_, &adjusted) == napi_ok) {
    reportedBytes_ = bytes;
  }
}

// dispose(): frees the native network at once (the JS object stays; every later call but isBusy, isDisposed and
// dispose is a STATE error). Idempotent.
Napi::Value NetworkWrap::Dispose(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "dispose the model");
  states_.reset();
  network_.reset();
  reportMemory(info.Env());
  return info.Env().Undefined();
}

Napi::Value NetworkWrap::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), network_ == nullptr);
}

Napi::Value NetworkWrap::MemoryBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(network_->memoryBytes()));
}

void NetworkWrap::ensureIdle(Napi::Env env, const char* what) const {
  if (busy_) fail(env, "BUSY", std::string("Cannot ") + what + " while a batch is running on this model; await it first");
}

size_t NetworkWrap::paramIndex(const Napi::CallbackInfo& info, size_t argument) const {
  const double index = info[argument].IsNumber() ? info[argument].As<Napi::Number>().DoubleValue() : -1;
  const size_t count = network_->params().size();
  if (!(index >= 0 && index < count && std::floor(index) == index)) {
    fail(info.Env(), "ARGUMENT", "Expected a parameter index in [0, " + std::to_string(count) + ")");
  }
  return static_cast<size_t>(index);
}

static Napi::Array shapeToArray(Napi::Env env, const ops::Shape& shape) {
  Napi::Array array = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) array.Set(i, static_cast<double>(shape[i]));
  return array;
}

Napi::Value NetworkWrap::Params(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& params = network_->params();
  Napi::Array list = Napi::Array::New(env, params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("layer", static_cast<double>(params[i].layer));
    p.Set("name", params[i].info.name);
    p.Set("shape", shapeToArray(env, params[i].info.shape));
    list.Set(i, p);
  }
  return list;
}

Napi::Value NetworkWrap::GetParam(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "read weights");
  const size_t index = paramIndex(info, 0);
  return toFloat32Array(info.Env(), network_->paramData(index), network_->params()[index].size);
}

Napi::Value NetworkWrap::SetParam(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "set weights");
  const size_t index = paramIndex(info, 0);
  const ops::NetworkParam& p = network_->params()[index];
  std::vector<float> values;
  copyFloat32(info.Env(), info[1], "weight '" + p.info.name + "' " + ops::shapeToString(p.info.shape), p.size, values);
  std::copy(values.begin(), values.end(), network_->paramData(index));
  return info.Env().Undefined();
}

Napi::Value NetworkWrap::SetTrainable(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "change trainable");
  network_->param(paramIndex(info, 0)).trainable = info[1].ToBoolean().Value();
  return info.Env().Undefined();
}

Napi::Value NetworkWrap::SetLearningRateScale(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "change learning rates");
  const double scale = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!(scale >= 0 && std::isfinite(scale))) fail(info.Env(), "ARGUMENT", "Expected a learning-rate scale >= 0");
  network_->param(paramIndex(info, 0)).learningRateScale = scale;
  return info.Env().Undefined();
}

// setAnchor(index, anchor: Float32Array | null, factor): the L2-SP penalty factor * sum (w - anchor)^2 on one weight.
Napi::Value NetworkWrap::SetAnchor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureIdle(env, "change weight penalties");
  const size_t index = paramIndex(info, 0);
  const double factor = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!(factor >= 0 && std::isfinite(factor))) fail(env, "ARGUMENT", "Expected an L2-SP factor >= 0");
  if (info[1].IsNull() || info[1].IsUndefined()) {
    network_->setAnchor(index, nullptr, 0);
    return env.Undefined();
  }
  const ops::NetworkParam& p = network_->params()[index];
  std::vector<float> anchor;
  copyFloat32(env, info[1], "anchor of weight '" + p.info.name + "' " + ops::shapeToString(p.info.shape), p.size, anchor);
  network_->setAnchor(index, anchor.data(), factor);
  return env.Undefined();
}

// compile([{ loss, huberDelta?, weight }] (one per model output), { kind, learningRate, ... })
Napi::Value NetworkWrap::Compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureIdle(env, "compile");
  if (!info[0].IsArray() || !info[1].IsObject()) fail(env, "ARGUMENT", "Expected compile(lossConfigs[], optimizerConfig)");
  std::vector<ops::LossConfig> losses = toLossConfigs(env, info[0]);
  if (losses.size() != network_->outputCount()) {
    fail(env, "ARGUMENT", "Expected one loss per model output (" + std::to_string(network_->outputCount()) +
                              ") but received " + std::to_string(losses.size()));
  }
  ops::OptimizerConfig optimizer = toOptimizerConfig(env, info[1].As<Napi::Object>());
  network_->compile(losses, optimizer);  // invalid_argument: ARGUMENT (Guarded)
  reportMemory(env);
  return env.Undefined();
}

Napi::Value NetworkWrap::GetLearningRate(const Napi::CallbackInfo& info) {
  if (!network_->compiled()) fail(info.Env(), "STATE", "The model is not compiled");
  return Napi::Number::New(info.Env(), network_->optimizer().config().learningRate);
}

Napi::Value NetworkWrap::SetLearningRate(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "change the learning rate");
  if (!network_->compiled()) fail(info.Env(), "STATE", "The model is not compiled");
  const double rate = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(rate >= 0 && std::isfinite(rate))) fail(info.Env(), "ARGUMENT", "Expected a learning rate >= 0");
  network_->optimizer().setLearningRate(rate);
  return info.Env().Undefined();
}

Napi::Value NetworkWrap::GetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureIdle(env, "read the optimizer state");
  if (!network_->compiled()) fail(env, "STATE", "The model is not compiled");
  ops::Optimizer& optimizer = network_->optimizer();
  Napi::Object state = Napi::Object::New(env);
  state.Set("step", static_cast<double>(optimizer.step()));
  auto slots = optimizer.slots();
  Napi::Array list = Napi::Array::New(env, slots.size());
  for (size_t i = 0; i < slots.size(); ++i) list.Set(i, toFloat32Array(env, slots[i]->data(), slots[i]->size()));
  state.Set("slots", list);
  return state;
}

Napi::Value NetworkWrap::SetOptimizerState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureIdle(env, "set the optimizer state");
  if (!network_->compiled()) fail(env, "STATE", "The model is not compiled");
  if (!info[0].IsObject()) fail(env, "ARGUMENT", "Expected an optimizer state object");
  Napi::Object state = info[0].As<Napi::Object>();
  ops::Optimizer& optimizer = network_->optimizer();
  auto slots = optimizer.slots();
  Napi::Value list = state.Get("slots");
  if (!list.IsArray() || list.As<Napi::Array>().Length() != slots.size()) {
    fail(env, "FORMAT", "Expected " + std::to_string(slots.size()) + " optimizer slots for this optimizer");
  }
  // Validate everything before changing anything.
  std::vector<std::vector<float>> values(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    copyFloat32(env, list.As<Napi::Array>().Get(i), "optimizer slot " + std::to_string(i),
                static_cast<int64_t>(slots[i]->size()), values[i]);
    const int64_t bad = kernels::firstNonFinite(values[i].data(), static_cast<int64_t>(values[i].size()));
    if (bad >= 0) {
      fail(env, "NOT_FINITE", "Expected finite values in optimizer slot " + std::to_string(i) + " but received " +
                                  std::to_string(values[i][bad]) + " at index " + std::to_string(bad));
    }
  }
  const double step = getNumber(state, "step", 0, "optimizer state");
  if (!(step >= 0 && std::floor(step) == step)) fail(env, "FORMAT", "Expected a whole optimizer step count");
  for (size_t i = 0; i < slots.size(); ++i) std::copy(values[i].begin(), values[i].end(), slots[i]->begin());
  optimizer.setStep(static_cast<int64_t>(step));
  return env.Undefined();
}

// readBatch (binding/batch_worker.h): nothing reaches the worker thread that the network could refuse for its shape.
BatchInput readBatch(const Napi::CallbackInfo& info, ops::Network& network, bool withTargets, size_t stateInputs) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || info[0].IsArray() || info[0].IsTypedArray()) {
    fail(env, "ARGUMENT", "Expected a batch object { batch, inputs, shapes, targets?, sampleWeights? }");
  }
  Napi::Object object = info[0].As<Napi::Object>();
  BatchInput input;
  Napi::Value batchValue = object.Get("batch");
  const double batch = batchValue.IsNumber() ? batchValue.As<Napi::Number>().DoubleValue() : -1;
  if (!(batch >= 1 && std::floor(batch) == batch && batch < 1e9)) {
    fail(env, "SHAPE", "Expected a batch size of at least 1 but received " +
                           (batchValue.IsNumber() ? std::to_string(batch) : std::string("a non-number")));
  }
  input.batch = static_cast<int64_t>(batch);
  const size_t inputCount = network.inputCount() - stateInputs;
  Napi::Value inputs = object.Get("inputs"), shapes = object.Get("shapes");
  if (!inputs.IsArray() || !shapes.IsArray()) fail(env, "ARGUMENT", "Expected arrays for batch.inputs and batch.shapes");
  const size_t givenInputs = inputs.As<Napi::Array>().Length(), givenShapes = shapes.As<Napi::Array>().Length();
  if (givenInputs != inputCount || givenShapes != inputCount) {
    fail(env, "SHAPE", "Expected " + std::to_string(inputCount) + " model input" + (inputCount == 1 ? "" : "s") +
                           " (arrays and shapes) but received " + std::to_string(givenInputs) + " arrays and " +
                           std::to_string(givenShapes) + " shapes");
  }
  for (size_t k = 0; k < inputCount; ++k) {
    const ops::GraphInput& declared = network.input(k);
    const std::string name = "input '" + declared.name + "'";
    ops::Shape shape = toShape(env, shapes.As<Napi::Array>().Get(k), "the shape of " + name);
    bool fits = shape.size() == declared.shape.size();
    for (size_t d = 0; fits && d < shape.size(); ++d) fits = declared.shape[d] == ops::kAnyLength || declared.shape[d] == shape[d];
    if (!fits) {
      fail(env, "SHAPE", "Expected samples of shape " + ops::shapeToString(declared.shape) + " for " + name +
                             " (-1: any length) but received samples of shape " + ops::shapeToString(shape));
    }
    input.shapes.push_back(std::move(shape));
  }
  for (size_t k = inputCount; k < network.inputCount(); ++k) input.shapes.push_back(network.input(k).shape);
  std::vector<ops::Shape> outputShapes;
  guarded(env, "SHAPE", [&] {
    const std::vector<ops::Shape>& all = network.concreteShapes(input.shapes);
    for (size_t slot : network.outputSlots()) outputShapes.push_back(all[slot]);
    network.checkBatchMemory(input.batch, all, withTargets);
  });
  input.inputs.resize(inputCount);
  for (size_t k = 0; k < inputCount; ++k) {
    copyFloat32(env, inputs.As<Napi::Array>().Get(k),
                "input '" + network.input(k).name + "' (" + std::to_string(input.batch) + " samples of shape " +
                    ops::shapeToString(input.shapes[k]) + ")",
                input.batch * ops::shapeSize(input.shapes[k]), input.inputs[k]);
  }
  if (!withTargets) return input;
  Napi::Value targets = object.Get("targets");
  const size_t outputCount = network.outputCount();
  if (!targets.IsArray() || targets.As<Napi::Array>().Length() != outputCount) {
    fail(env, "SHAPE", "Expected targets for " + std::to_string(outputCount) + " model output" +
                           (outputCount == 1 ? "" : "s") + " but received " +
                           (targets.IsArray() ? std::to_string(targets.As<Napi::Array>().Length()) : std::string("none")));
  }
  input.targets.resize(outputCount);
  for (size_t k = 0; k < outputCount; ++k) {
    const int64_t perSample = network.lossHead(k).targetsPerSample(outputShapes[k]);
    copyFloat32(env, targets.As<Napi::Array>().Get(k),
                "the targets of output " + std::to_string(k) + " (" + std::to_string(input.batch) + " samples of " +
                    std::to_string(perSample) + " values)",
                input.batch * perSample, input.targets[k]);
  }
  Napi::Value weights = object.Get("sampleWeights");
  if (!weights.IsNull() && !weights.IsUndefined()) copyFloat32(env, weights, "sampleWeights", input.batch, input.sampleWeights);
  return input;
}

// Runs `task` on a worker thread (binding/batch_worker.h); the returned promise settles when it ends.
Napi::Value NetworkWrap::queueBatch(BatchTask task, BatchInput input) {
  auto* worker = new BatchWorker(Env(), Value(), *this, task, std::move(input));
  worker->Queue();
  return worker->promise();
}

Napi::Value NetworkWrap::TrainBatch(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "start another batch");
  if (!network_->compiled()) fail(info.Env(), "STATE", "Compile the model before training it");
  BatchInput input = readBatch(info, *network_, true);
  if (info[1].IsNumber()) input.seed = info[1].As<Napi::Number>().Uint32Value();
  return queueBatch(BatchTask::Train, std::move(input));
}

Napi::Value NetworkWrap::EvaluateBatch(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "start another batch");
  if (!network_->compiled()) fail(info.Env(), "STATE", "Compile the model before evaluating it");
  BatchInput input = readBatch(info, *network_, true);
  return queueBatch(BatchTask::Evaluate, std::move(input));
}

Napi::Value NetworkWrap::ComputeGradients(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "start another batch");
  if (!network_->compiled()) fail(info.Env(), "STATE", "Compile the model before computing gradients");
  BatchInput input = readBatch(info, *network_, true);
  if (info[1].IsNumber()) input.seed = info[1].As<Napi::Number>().Uint32Value();
  return queueBatch(BatchTask::Gradients, std::move(input));
}

// minimize(batch, { maxIterations, gradientTolerance, valueTolerance }): full-batch L-BFGS
// over the trainable weights (ops::Network::minimize); resolves { value, gradientMax, iterations, evaluations, stopped }.
Napi::Value NetworkWrap::Minimize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureIdle(env, "start another batch");
  if (!network_->compiled()) fail(env, "STATE", "Compile the model before minimising its loss");
  if (!info[1].IsObject()) fail(env, "ARGUMENT", "Expected minimize options { maxIterations, gradientTolerance, valueTolerance }");
  const kernels::LbfgsOptions options = toLbfgsOptions(env, info[1].As<Napi::Object>());
  BatchInput input = readBatch(info, *network_, true);
  input.minimize = options;
  return queueBatch(BatchTask::Minimize, std::move(input));
}

Napi::Value NetworkWrap::Predict(const Napi::CallbackInfo& info) {
  ensureIdle(info.Env(), "predict");
  BatchInput input = readBatch(info, *network_, false);
  return queueBatch(BatchTask::Predict, std::move(input));
}

// Synchronous prediction for small inputs (no thread hop): the same checks, the same numbers.
Napi::Value NetworkWrap::PredictSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ensureIdle(env, "predict");
  BatchInput input = readBatch(info, *network_, false);
  return guarded(env, "SHAPE", [&] {
    std::vector<std::vector<float>> outputs;
    std::vector<ops::Shape> shapes;
    runPrediction(*network_, input, outputs, shapes);
    reportMemory(env);
    return predictionToObject(env, outputs, shapes);
  });
}

Napi::Value NetworkWrap::IsBusy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), busy_); }

}  // namespace rnnkit::binding
