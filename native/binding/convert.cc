#include "binding/convert.h"

#include <cmath>
#include <cstring>
#include <map>

namespace rnnkit::binding {

Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

void fail(Napi::Env env, const std::string& code, const std::string& message) {
  throw makeError(env, code, message);
}

namespace {

std::string describe(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsNumber()) return std::to_string(value.As<Napi::Number>().DoubleValue());
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value() ? "true" : "false";
  if (value.IsString()) return "\"" + value.As<Napi::String>().Utf8Value() + "\"";
  if (value.IsTypedArray()) return "a typed array of length " + std::to_string(value.As<Napi::TypedArray>().ElementLength());
  if (value.IsArray()) return "an array";
  return "an object";
}

template <typename Enum>
Enum lookup(Napi::Env env, const std::map<std::string, Enum>& names, const std::string& value, const std::string& what) {
  auto found = names.find(value);
  if (found != names.end()) return found->second;
  std::string options;
  for (const auto& entry : names) options += (options.empty() ? "" : ", ") + entry.first;
  fail(env, "ARGUMENT", "Expected " + what + " to be one of " + options + " but received \"" + value + "\"");
}

kernels::Activation toActivation(Napi::Env env, const std::string& name, const std::string& what) {
  static const std::map<std::string, kernels::Activation> names{
      {"linear", kernels::Activation::Linear},   {"tanh", kernels::Activation::Tanh},
      {"sigmoid", kernels::Activation::Sigmoid}, {"hardSigmoid", kernels::Activation::HardSigmoid},
      {"relu", kernels::Activation::Relu},       {"softmax", kernels::Activation::Softmax}};
  return lookup(env, names, name, what);
}

// A count (units, vocabulary size, ...): a whole number in [1, 2^53]; larger ones do not survive the cast to int64_t
// intact, and the op's shape checks refuse what does not fit in memory (ops/memory_budget.h).
int64_t getCount(const Napi::Object& object, const char* key, const std::string& context) {
  const double value = getNumber(object, key, 0, context);
  if (!(value >= 1 && value <= 9007199254740992.0 && std::floor(value) == value)) {
    fail(object.Env(), "ARGUMENT", "Expected a whole number >= 1 for " + context + "." + key + " but received " +
                                       describe(object.Get(key)));
  }
  return static_cast<int64_t>(value);
}

ops::Regularizer toRegularizer(const Napi::Object& layer, const char* key, const std::string& context) {
  ops::Regularizer regularizer;
  if (!layer.Has(key) || layer.Get(key).IsUndefined() || layer.Get(key).IsNull()) return regularizer;
  Napi::Object object = layer.Get(key).As<Napi::Object>();
  regularizer.l1 = getNumber(object, "l1", 0, context + "." + key);
  regularizer.l2 = getNumber(object, "l2", 0, context + "." + key);
  return regularizer;
}

// Concatenate's axis: a whole number, negative from the end; the op checks it against the inputs' rank.
int64_t getAxis(const Napi::Object& layer, const std::string& context) {
  const double value = getNumber(layer, "axis", -1, context);
  if (std::floor(value) != value || std::fabs(value) > 64) {
    fail(layer.Env(), "ARGUMENT", "Expected a whole number in [-64, 64] for " + context + ".axis but received " +
                                      describe(layer.Get("axis")));
  }
  return static_cast<int64_t>(value);
}

// Reshape's targetShape: positive whole numbers with at most one -1 (checked again by the op).
ops::Shape toTargetShape(const Napi::Object& layer, const std::string& context) {
  const Napi::Value value = layer.Get("targetShape");
  const std::string name = context + ".targetShape";
  if (!value.IsArray() || value.As<Napi::Array>().Length() == 0 || value.As<Napi::Array>().Length() > 64) {
    fail(layer.Env(), "ARGUMENT", "Expected a non-empty array of dimensions for " + name + " but received " + describe(value));
  }
  const Napi::Array array = value.As<Napi::Array>();
  ops::Shape shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const Napi::Value d = array.Get(i);
    const double number = d.IsNumber() ? d.As<Napi::Number>().DoubleValue() : 0;
    if (!(number == -1 || (number >= 1 && number <= 2147483647.0 && std::floor(number) == number))) {
      fail(layer.Env(), "ARGUMENT", "Expected a positive whole number or -1 for " + name + "[" + std::to_string(i) +
                                        "] but received " + describe(d));
    }
    shape.push_back(static_cast<int64_t>(number));
  }
  return shape;
}

ops::LayerSpec toLayerSpec(Napi::Env env, const Napi::Object& layer, size_t index) {
  ops::LayerSpec spec;
  spec.name = getString(layer, "name", "layer" + std::to_string(index), "layer");
  const std::string context = "layer '" + spec.name + "'";
  static const std::map<std::string, ops::LayerKind> kinds{{"recurrent", ops::LayerKind::Recurrent},
                                                          {"dense", ops::LayerKind::Dense},
                                                          {"dropout", ops::LayerKind::Dropout},
                                                          {"masking", ops::LayerKind::Masking},
                                                          {"embedding", ops::LayerKind::Embedding},
                                                          {"concatenate", ops::LayerKind::Concatenate},
                                                          {"add", ops::LayerKind::Add},
                                                          {"subtract", ops::LayerKind::Subtract},
                                                          {"multiply", ops::LayerKind::Multiply},
                                                          {"average", ops::LayerKind::Average},
                                                          {"maximum", ops::LayerKind::Maximum},
                                                          {"repeatVector", ops::LayerKind::RepeatVector},
                                                          {"reshape", ops::LayerKind::Reshape},
                                                          {"flatten", ops::LayerKind::Flatten},
                                                          {"attention", ops::LayerKind::Attention}};
  spec.kind = lookup(env, kinds, getString(layer, "kind", "", context), context + " kind");
  switch (spec.kind) {
    case ops::LayerKind::Recurrent: {
      ops::RecurrentLayerConfig& r = spec.recurrent;
      static const std::map<std::string, ops::CellKind> cells{
          {"simpleRNN", ops::CellKind::SimpleRnn}, {"lstm", ops::CellKind::Lstm}, {"gru", ops::CellKind::Gru}};
      static const std::map<std::string, ops::MergeMode> merges{{"concat", ops::MergeMode::Concat},
                                                               {"sum", ops::MergeMode::Sum},
                                                               {"mul", ops::MergeMode::Mul},
                                                               {"ave", ops::MergeMode::Ave},
                                                               {"none", ops::MergeMode::None}};
      r.cell.kind = lookup(env, cells, getString(layer, "cell", "", context), context + " cell");
      r.cell.activation = toActivation(env, getString(layer, "activation", "tanh", context), context + " activation");
      r.cell.recurrentActivation = toActivation(env, getString(layer, "recurrentActivation", "sigmoid", context),
                                                context + " recurrentActivation");
      r.cell.useBias = getBool(layer, "useBias", true, context);
      r.cell.resetAfter = getBool(layer, "resetAfter", true, context);
      r.units = getCount(layer, "units", context);
      r.returnSequences = getBool(layer, "returnSequences", false, context);
      r.goBackwards = getBool(layer, "goBackwards", false, context);
      r.returnState = getBool(layer, "returnState", false, context);
      r.bidirectional = getBool(layer, "bidirectional", false, context);
      r.mergeMode = lookup(env, merges, getString(layer, "mergeMode", "concat", context), context + " mergeMode");
      r.dropout = getNumber(layer, "dropout", 0, context);
      r.recurrentDropout = getNumber(layer, "recurrentDropout", 0, context);
      r.kernelRegularizer = toRegularizer(layer, "kernelRegularizer", context);
      r.recurrentRegularizer = toRegularizer(layer, "recurrentRegularizer", context);
      r.biasRegularizer = toRegularizer(layer, "biasRegularizer", context);
      break;
    }
    case ops::LayerKind::Dense:
      spec.dense.units = getCount(layer, "units", context);
      spec.dense.activation = toActivation(env, getString(layer, "activation", "linear", context), context + " activation");
      spec.dense.useBias = getBool(layer, "useBias", true, context);
      spec.dense.kernelRegularizer = toRegularizer(layer, "kernelRegularizer", context);
      spec.dense.biasRegularizer = toRegularizer(layer, "biasRegularizer", context);
      break;
    case ops::LayerKind::Dropout: spec.rate = getNumber(layer, "rate", 0, context); break;
    case ops::LayerKind::Masking: spec.maskValue = getNumber(layer, "maskValue", 0, context); break;
    case ops::LayerKind::Embedding:
      spec.embedding.inputDim = getCount(layer, "inputDim", context);
      spec.embedding.outputDim = getCount(layer, "outputDim", context);
      spec.embedding.maskZero = getBool(layer, "maskZero", false, context);
      spec.embedding.embeddingsRegularizer = toRegularizer(layer, "embeddingsRegularizer", context);
      break;
    case ops::LayerKind::Attention: {
      static const std::map<std::string, kernels::AttentionScore> scores{{"dot", kernels::AttentionScore::Dot},
                                                                        {"concat", kernels::AttentionScore::Concat},
                                                                        {"additive", kernels::AttentionScore::Additive}};
      spec.attention.score = lookup(env, scores, getString(layer, "score", "", context), context + " score");
      spec.attention.useScale = getBool(layer, "useScale", false, context);
      spec.attention.dropout = getNumber(layer, "dropout", 0, context);
      spec.attention.returnAttentionScores = getBool(layer, "returnAttentionScores", false, context);
      spec.attention.useCausalMask = getBool(layer, "useCausalMask", false, context);
      break;
    }
    case ops::LayerKind::Concatenate: spec.axis = getAxis(layer, context); break;
    case ops::LayerKind::RepeatVector: spec.repeats = getCount(layer, "n", context); break;
    case ops::LayerKind::Reshape: spec.targetShape = toTargetShape(layer, context); break;
    default: break;  // the other merges and flatten have no options
  }
  return spec;
}

}  // namespace

double getNumber(const Napi::Object& object, const char* key, double fallback, const std::string& context) {
  if (!object.Has(key)) return fallback;
  Napi::Value value = object.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsNumber() || !std::isfinite(value.As<Napi::Number>().DoubleValue())) {
    fail(object.Env(), "ARGUMENT", "Expected a finite number for " + context + "." + key + " but received " + describe(value));
  }
  return value.As<Napi::Number>().DoubleValue();
}

bool getBool(const Napi::Object& object, const char* key, bool fallback, const std::string& context) {
  if (!object.Has(key)) return fallback;
  Napi::Value value = object.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) fail(object.Env(), "ARGUMENT", "Expected a boolean for " + context + "." + key + " but received " + describe(value));
  return value.As<Napi::Boolean>().Value();
}

std::string getString(const Napi::Object& object, const char* key, const std::string& fallback,
                      const std::string& context) {
  if (!object.Has(key)) return fallback;
  Napi::Value value = object.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsString()) fail(object.Env(), "ARGUMENT", "Expected a string for " + context + "." + key + " but received " + describe(value));
  return value.As<Napi::String>().Utf8Value();
}

ops::Shape toShape(Napi::Env env, const Napi::Value& value, const std::string& name, bool anyLength) {
  if (!value.IsArray()) fail(env, "ARGUMENT", "Expected an array of positive integers for " + name + " but received " + describe(value));
  Napi::Array array = value.As<Napi::Array>();
  ops::Shape shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value dim = array.Get(i);
    const double d = dim.IsNumber() ? dim.As<Napi::Number>().DoubleValue() : -1;
    if (anyLength && d == ops::kAnyLength) {
      shape.push_back(ops::kAnyLength);
      continue;
    }
    if (!(d >= 1 && std::floor(d) == d && d < 1e9)) {
      fail(env, "ARGUMENT", "Expected positive integers" + std::string(anyLength ? " (or -1 for any length)" : "") + " in " + name + " but received " + describe(dim) + " at index " + std::to_string(i));
    }
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

void copyFloat32(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t expected,
                 std::vector<float>& out) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    fail(env, "DTYPE", "Expected a Float32Array for " + name + " but received " + describe(value));
  }
  Napi::Float32Array array = value.As<Napi::Float32Array>();
  if (expected >= 0 && static_cast<int64_t>(array.ElementLength()) != expected) {
    fail(env, "SHAPE", "Expected " + std::to_string(expected) + " values for " + name + " but received " +
                           std::to_string(array.ElementLength()));
  }
  out.assign(array.Data(), array.Data() + array.ElementLength());
}

Napi::Float32Array toFloat32Array(Napi::Env env, const float* data, size_t count) {
  Napi::Float32Array array = Napi::Float32Array::New(env, count);
  if (count) std::memcpy(array.Data(), data, sizeof(float) * count);
  return array;
}

namespace {

std::vector<int64_t> toIds(Napi::Env env, const Napi::Value& value, const std::string& name) {
  if (!value.IsArray()) fail(env, "ARGUMENT", "Expected an array of tensor ids for " + name + " but received " + describe(value));
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> ids;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value id = array.Get(i);
    const double d = id.IsNumber() ? id.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && std::floor(d) == d && d < 1e9)) {
      fail(env, "ARGUMENT", "Expected tensor ids (integers >= 0) in " + name + " but received " + describe(id));
    }
    ids.push_back(static_cast<int64_t>(d));
  }
  return ids;
}

Napi::Array arrayOf(Napi::Env env, const Napi::Object& object, const char* key, const std::string& context) {
  Napi::Value value = object.Get(key);
  if (!value.IsArray()) fail(env, "ARGUMENT", "Expected an array for " + context + "." + key + " but received " + describe(value));
  return value.As<Napi::Array>();
}

}  // namespace

ops::GraphSpec toGraphSpec(Napi::Env env, const Napi::Value& value) {
  if (!value.IsObject()) fail(env, "ARGUMENT", "Expected a network graph spec object but received " + describe(value));
  Napi::Object object = value.As<Napi::Object>();
  ops::GraphSpec spec;
  Napi::Array inputs = arrayOf(env, object, "inputs", "graph");
  for (uint32_t i = 0; i < inputs.Length(); ++i) {
    const std::string where = "graph.inputs[" + std::to_string(i) + "]";
    if (!inputs.Get(i).IsObject()) fail(env, "ARGUMENT", "Expected an object for " + where);
    Napi::Object input = inputs.Get(i).As<Napi::Object>();
    ops::GraphInput in;
    in.name = getString(input, "name", "input" + std::to_string(i), where);
    in.shape = toShape(env, input.Get("shape"), where + ".shape", true);
    spec.inputs.push_back(std::move(in));
  }
  Napi::Array layers = arrayOf(env, object, "layers", "graph");
  for (uint32_t i = 0; i < layers.Length(); ++i) {
    Napi::Value layer = layers.Get(i);
    if (!layer.IsObject()) fail(env, "ARGUMENT", "Expected an object for layers[" + std::to_string(i) + "] but received " + describe(layer));
    spec.layers.push_back(toLayerSpec(env, layer.As<Napi::Object>(), i));
  }
  Napi::Array nodes = arrayOf(env, object, "nodes", "graph");
  for (uint32_t i = 0; i < nodes.Length(); ++i) {
    const std::string where = "graph.nodes[" + std::to_string(i) + "]";
    if (!nodes.Get(i).IsObject()) fail(env, "ARGUMENT", "Expected an object for " + where);
    Napi::Object node = nodes.Get(i).As<Napi::Object>();
    ops::GraphNode n;
    const double layer = getNumber(node, "layer", -1, where);
    if (!(layer >= 0 && layer < spec.layers.size() && std::floor(layer) == layer)) {
      fail(env, "ARGUMENT", "Expected " + where + ".layer to be a layer index in [0, " +
                                std::to_string(spec.layers.size()) + ") but received " + describe(node.Get("layer")));
    }
    n.layer = static_cast<size_t>(layer);
    n.inputs = toIds(env, node.Get("inputs"), where + ".inputs");
    n.outputs = toIds(env, node.Get("outputs"), where + ".outputs");
    spec.nodes.push_back(std::move(n));
  }
  spec.outputs = toIds(env, object.Get("outputs"), "graph.outputs");
  return spec;
}

std::vector<ops::LossConfig> toLossConfigs(Napi::Env env, const Napi::Value& value) {
  if (!value.IsArray()) fail(env, "ARGUMENT", "Expected an array of losses (one per model output) but received " + describe(value));
  Napi::Array array = value.As<Napi::Array>();
  std::vector<ops::LossConfig> losses;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    if (!array.Get(i).IsObject()) fail(env, "ARGUMENT", "Expected a loss config object for losses[" + std::to_string(i) + "]");
    losses.push_back(toLossConfig(env, array.Get(i).As<Napi::Object>()));
  }
  return losses;
}

ops::LossConfig toLossConfig(Napi::Env env, const Napi::Object& object) {
  static const std::map<std::string, kernels::Loss> losses{
      {"categoricalCrossentropy", kernels::Loss::CategoricalCrossentropy},
      {"sparseCategoricalCrossentropy", kernels::Loss::SparseCategoricalCrossentropy},
      {"binaryCrossentropy", kernels::Loss::BinaryCrossentropy},
      {"meanSquaredError", kernels::Loss::MeanSquaredError},
      {"meanAbsoluteError", kernels::Loss::MeanAbsoluteError},
      {"huber", kernels::Loss::Huber}};
  ops::LossConfig config;
  const std::string name = getString(object, "loss", "", "compile");
  // 'none': an output that only reports its values (ops::LossConfig::none).
  config.none = name == "none";
  if (!config.none) config.loss = lookup(env, losses, name, "loss");
  config.huberDelta = getNumber(object, "huberDelta", 1.0, "compile");
  config.weight = getNumber(object, "weight", 1.0, "compile");
  if (config.weight < 0) fail(env, "ARGUMENT", "Expected a loss weight >= 0 but received " + std::to_string(config.weight));
  return config;
}

kernels::LbfgsOptions toLbfgsOptions(Napi::Env env, const Napi::Object& object) {
  kernels::LbfgsOptions options;
  const double iterations = getNumber(object, "maxIterations", options.maxIterations, "minimize options");
  if (!(iterations >= 1 && iterations <= 1e6 && std::floor(iterations) == iterations)) {
    fail(env, "ARGUMENT", "Expected maxIterations to be an integer in [1, 1e6]");
  }
  options.maxIterations = static_cast<int>(iterations);
  options.gradientTolerance = getNumber(object, "gradientTolerance", options.gradientTolerance, "minimize options");
  options.valueTolerance = getNumber(object, "valueTolerance", options.valueTolerance, "minimize options");
  if (!(options.gradientTolerance >= 0 && options.valueTolerance >= 0 && std::isfinite(options.gradientTolerance) &&
        std::isfinite(options.valueTolerance))) {
    fail(env, "ARGUMENT", "Expected finite tolerances >= 0");
  }
  return options;
}

ops::OptimizerConfig toOptimizerConfig(Napi::Env env, const Napi::Object& object) {
  static const std::map<std::string, ops::OptimizerKind> kinds{{"sgd", ops::OptimizerKind::Sgd},
                                                              {"rmsprop", ops::OptimizerKind::RmsProp},
                                                              {"adam", ops::OptimizerKind::Adam},
                                                              {"adamw", ops::OptimizerKind::AdamW},
                                                              {"adagrad", ops::OptimizerKind::Adagrad}};
  ops::OptimizerConfig c;
  const std::string context = "optimizer";
  c.kind = lookup(env, kinds, getString(object, "kind", "", context), "optimizer");
  c.learningRate = getNumber(object, "learningRate", c.learningRate, context);
  c.beta1 = getNumber(object, "beta1", c.beta1, context);
  c.beta2 = getNumber(object, "beta2", c.beta2, context);
  c.epsilon = getNumber(object, "epsilon", c.epsilon, context);
  c.momentum = getNumber(object, "momentum", c.momentum, context);
  c.nesterov = getBool(object, "nesterov", c.nesterov, context);
  c.rho = getNumber(object, "rho", c.rho, context);
  c.centered = getBool(object, "centered", c.centered, context);
  c.weightDecay = getNumber(object, "weightDecay", c.weightDecay, context);
  c.initialAccumulatorValue = getNumber(object, "initialAccumulatorValue", c.initialAccumulatorValue, context);
  c.clipnorm = getNumber(object, "clipnorm", 0, context);
  c.clipvalue = getNumber(object, "clipvalue", 0, context);
  c.globalClipnorm = getNumber(object, "globalClipnorm", 0, context);
  return c;
}

Napi::Object metricsToObject(Napi::Env env, const ops::NetworkMetrics& metrics) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("loss", metrics.loss);
  Napi::Array outputs = Napi::Array::New(env, metrics.outputs.size());
  for (size_t k = 0; k < metrics.outputs.size(); ++k) outputs.Set(k, outputMetricsToObject(env, metrics.outputs[k]));
  object.Set("outputs", outputs);
  Napi::Array values = Napi::Array::New(env, metrics.values.size());
  for (size_t k = 0; k < metrics.values.size(); ++k) values.Set(k, toFloat32Array(env, metrics.values[k].data(), metrics.values[k].size()));
  object.Set("values", values);
  return object;
}

Napi::Object outputMetricsToObject(Napi::Env env, const ops::BatchMetrics& metrics) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("loss", metrics.loss);
  object.Set("correct", metrics.correct);
  object.Set("accuracyTotal", metrics.accuracyTotal);
  object.Set("absoluteError", metrics.absoluteError);
  object.Set("squaredError", metrics.squaredError);
  object.Set("elements", metrics.elements);
  return object;
}

}  // namespace rnnkit::binding
