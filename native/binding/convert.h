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
ops::Shape toShape(Napi::Env env, const Napi::Value& value, const std::string& name);

// A Float32Array argument copied into `out`, whose length must be `expected` (or any, when expected < 0).
void copyFloat32(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t expected,
                 std::vector<float>& out);
Napi::Float32Array toFloat32Array(Napi::Env env, const float* data, size_t count);

std::vector<ops::LayerSpec> toLayerSpecs(Napi::Env env, const Napi::Array& layers);
ops::LossConfig toLossConfig(Napi::Env env, const Napi::Object& object);
ops::OptimizerConfig toOptimizerConfig(Napi::Env env, const Napi::Object& object);
// { maxIterations, gradientTolerance, valueTolerance } of NetworkWrap::Minimize, checked.
kernels::LbfgsOptions toLbfgsOptions(Napi::Env env, const Napi::Object& object);
Napi::Object metricsToObject(Napi::Env env, const ops::BatchMetrics& metrics);

}  // namespace rnnkit::binding
