// Module entry: exports the Network class and build facts the loader reports.
#include <napi.h>

#include <Eigen/Core>

#include "binding/network_wrap.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Network", rnnkit::binding::NetworkWrap::Define(env));
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
