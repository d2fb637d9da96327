// cpuFeatures(): what this CPU and OS can run, asked of the baseline binary before the loader picks a variant.
#pragma once

#include <napi.h>

namespace rnnkit::binding {

// Returns { x64, baseline, avx2, avx512, missingForBaseline, missingForAvx2, missingForAvx512: string[] }. `avx2` means
// the whole x86-64-v3 level the avx2 variant is compiled for (-march=x86-64-v3), including the OS saving YMM registers
// on context switch; `avx512` the x86-64-v4 level (-march=x86-64-v4) with the OS saving opmask and ZMM state.
Napi::Value CpuFeatures(const Napi::CallbackInfo& info);

}  // namespace rnnkit::binding
