// Module entry: exports the Network class and build facts the loader reports.
#include <napi.h>

#include <Eigen/Core>

#include "binding/convert.h"
#include "binding/cpu_features.h"
#include "binding/guard.h"
#include "binding/network_wrap.h"
#include "kernels/finite_scan.h"

namespace {

// Each exported function runs its body through guarded() (binding/guard.h): no C++ exception reaches Node.
template <Napi::Value (*body)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  return rnnkit::binding::guarded(info.Env(), "ARGUMENT", [&] { return body(info); });
}

// setThreads(n): upper bound on the threads one batch uses (process-wide).
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const double threads = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  if (!(threads >= 1 && threads <= 256 && threads == static_cast<int>(threads))) {
    rnnkit::binding::fail(info.Env(), "ARGUMENT", "Expected an integer number of threads in [1, 256]");
  }
  rnnkit::ops::Network::setThreads(static_cast<int>(threads));
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), rnnkit::ops::Network::threads());
}

// firstNonFinite(values: Float32Array, from, to): index of the first NaN / +-Infinity in values[from, to), or -1.
Napi::Value FirstNonFinite(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    rnnkit::binding::fail(env, "DTYPE", "firstNonFinite: expected a Float32Array but received " +
                                            info[0].ToString().Utf8Value());
  }
  const Napi::Float32Array values = info[0].As<Napi::Float32Array>();
  const double length = static_cast<double>(values.ElementLength());
  const double from = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  const double to = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
  if (!(from >= 0 && from <= to && to <= length && from == static_cast<int64_t>(from) &&
        to == static_cast<int64_t>(to))) {
    rnnkit::binding::fail(env, "ARGUMENT", "firstNonFinite: expected integers 0 <= from <= to <= " +
                                               std::to_string(values.ElementLength()) + " but received from " +
                                               info[1].ToString().Utf8Value() + ", to " +
                                               info[2].ToString().Utf8Value());
  }
  const int64_t first = static_cast<int64_t>(from);
  const int64_t found = rnnkit::kernels::firstNonFinite(values.Data() + first, static_cast<int64_t>(to) - first);
  return Napi::Number::New(env, static_cast<double>(found < 0 ? -1 : first + found));
}

// externalMemory(): V8's running total of memory reported with napi_adjust_external_memory (the networks' native
// buffers), which its garbage collector weighs; process.memoryUsage().external does not include it.
Napi::Value ExternalMemory(const Napi::CallbackInfo& info) {
  int64_t total = 0;
  if (napi_adjust_external_memory(info.Env(), 0, &total) != napi_ok) {
    rnnkit::binding::fail(info.Env(), "NATIVE", "napi_adjust_external_memory failed");
  }
  return Napi::Number::New(info.Env(), static_cast<double>(total));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Network", rnnkit::binding::NetworkWrap::Define(env));
  exports.Set("setThreads", Napi::Function::New(env, Guarded<SetThreads>));
  exports.Set("getThreads", Napi::Function::New(env, Guarded<GetThreads>));
  exports.Set("cpuFeatures", Napi::Function::New(env, Guarded<rnnkit::binding::CpuFeatures>));
  exports.Set("firstNonFinite", Napi::Function::New(env, Guarded<FirstNonFinite>));
  exports.Set("externalMemory", Napi::Function::New(env, Guarded<ExternalMemory>));
  Napi::Object build = Napi::Object::New(env);
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && defined(__FMA__)
  build.Set("isa", "avx512");
#elif defined(__AVX2__) && defined(__FMA__)
  build.Set("isa", "avx2");
#elif defined(__x86_64__) || defined(_M_X64)
  build.Set("isa", "baseline");
#else
  build.Set("isa", "generic");
#endif
  build.Set("simd", Eigen::SimdInstructionSetsInUse());
  build.Set("eigen", std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                         std::to_string(EIGEN_MINOR_VERSION));
  exports.Set("build", build);
  return exports;
}

}  // namespace

NODE_API_MODULE(rnnkit, Init)
