// JS -> plain C++ conversions for the binding, with errors that carry a stable code (RnnError codes) and name
// what was expected and what was received. Nothing here knows about numerics.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "ops/network.h"

namespace rnnkit::binding {

// A JS Error with `code` set; thrown as a C++ exception (NAPI_CPP_EXCEPTIONS).
Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& message);
[[noreturn]] void fail(Napi::Env env, const std::string& code, const std::string& message);

double getNumber(const Napi::Object& object, const char* key, double fallback, const std::string& context);
bool getBool(const Napi::Object& object, const char* key, bool fallback, const std::string& context);
std::string getString(const Napi::Object& object, const char* key, const std::string& fallback,
                      const std::string& context);
// An array of positive integers (and, with anyLength, -1 for a time dimension of any length).
ops::Shape toShape(Napi::Env env, const Napi::Value& value, const std::string& name, bool anyLength = false);

// A Float32Array argument copied into `out`, whose length must be `expected` (or any, when expected < 0).
void copyFloat32(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t expected,
                 std::vector<float>& out);
Napi::Float32Array toFloat32Array(Napi::Env env, const float* data, size_t count);

// A NativeGraphSpec { inputs, layers, nodes, outputs } (lib/binding_types.ts); the graph itself is checked when the
// network is built (ops::planGraph).
ops::GraphSpec toGraphSpec(Napi::Env env, const Napi::Value& value);
ops::LossConfig toLossConfig(Napi::Env env, const Napi::Object& object);
// One { loss, huberDelta?, weight } per model output.
std::vector<ops::LossConfig> toLossConfigs(Napi::Env env, const Napi::Value& value);
ops::OptimizerConfig toOptimizerConfig(Napi::Env env, const Napi::Object& object);
// { maxIterations, gradientTolerance, valueTolerance } of NetworkWrap::Minimize, checked.
kernels::LbfgsOptions toLbfgsOptions(Napi::Env env, const Napi::Object& object);
// { loss, outputs: [{ loss, correct, accuracyTotal, absoluteError, squaredError, elements }] }.
Napi::Object metricsToObject(Napi::Env env, const ops::NetworkMetrics& metrics);
Napi::Object outputMetricsToObject(Napi::Env env, const ops::BatchMetrics& metrics);

}  // namespace rnnkit::binding
