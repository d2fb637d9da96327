// Module entry: exports the Network class and build facts the loader reports.
#include <napi.h>

#include <Eigen/Core>

#include "binding/convert.h"
#include "binding/cpu_features.h"
#include "binding/network_wrap.h"

namespace {

// setThreads(n): upper bound on the threads one batch uses (process-wide).
void SetThreads(const Napi::CallbackInfo& info) {
  const double threads = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  if (!(threads >= 1 && threads <= 256 && threads == static_cast<int>(threads))) {
    rnnkit::binding::fail(info.Env(), "ARGUMENT", "Expected an integer number of threads in [1, 256]");
  }
  rnnkit::ops::Network::setThreads(static_cast<int>(threads));
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), rnnkit::ops::Network::threads());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Network", rnnkit::binding::NetworkWrap::Define(env));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("cpuFeatures", Napi::Function::New(env, rnnkit::binding::CpuFeatures));
  Napi::Object build = Napi::Object::New(env);
#if defined(__AVX2__) && defined(__FMA__)
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
