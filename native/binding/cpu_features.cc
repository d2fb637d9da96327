// CPU feature detection with CPUID and XGETBV, so the loader never loads a binary whose instructions the CPU (or the
// OS) cannot execute. The code here is plain integer code: it runs safely in the baseline binary on any x86-64.
#include "binding/cpu_features.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define RNNKIT_HAVE_CPUID 1
#elif defined(_M_X64)
#include <immintrin.h>
#include <intrin.h>
#define RNNKIT_HAVE_CPUID 1
#endif

namespace rnnkit::binding {
namespace {

struct CpuidRegisters {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

struct Feature {
  const char* name;
  bool present;
};

#ifdef RNNKIT_HAVE_CPUID
// CPUID leaf/subleaf; all zero when the leaf is above the CPU's maximum (the bits then read as "absent").
CpuidRegisters cpuid(unsigned leaf, unsigned subleaf) {
  CpuidRegisters r;
#if defined(_M_X64)
  int values[4];
  __cpuid(values, static_cast<int>(leaf & 0x80000000u));
  if (static_cast<unsigned>(values[0]) < leaf) return r;
  __cpuidex(values, static_cast<int>(leaf), static_cast<int>(subleaf));
  r.eax = values[0], r.ebx = values[1], r.ecx = values[2], r.edx = values[3];
#else
  if (__get_cpuid_max(leaf & 0x80000000u, nullptr) < leaf) return r;
  __cpuid_count(leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx);
#endif
  return r;
}

// XCR0: which register states the OS saves on a context switch. Only valid when CPUID.1:ECX.OSXSAVE is set.
// Inline asm rather than _xgetbv(), which GCC only allows in functions compiled with -mxsave.
unsigned long long readXcr0() {
#if defined(_M_X64)
  return _xgetbv(0);
#else
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
#endif
}

bool bit(unsigned value, int index) { return (value >> index) & 1u; }
#endif

}  // namespace

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  Napi::Array missingForBaseline = Napi::Array::New(env);
  Napi::Array missingForAvx2 = Napi::Array::New(env);
  Napi::Array missingForAvx512 = Napi::Array::New(env);
#ifdef RNNKIT_HAVE_CPUID
  const CpuidRegisters leaf1 = cpuid(1, 0);
  const CpuidRegisters leaf7 = cpuid(7, 0);
  const CpuidRegisters extended = cpuid(0x80000001u, 0);
  const bool osxsave = bit(leaf1.ecx, 27);
  // XCR0 bit 1 = SSE (XMM) state, bit 2 = AVX (upper YMM) state; both must be saved for AVX code to be safe.
  const unsigned long long xcr0 = osxsave ? readXcr0() : 0;
  const bool osSavesYmm = (xcr0 & 0x6) == 0x6;
  // AVX-512 also needs bits 5-7: opmask (k0-k7), the upper halves of zmm0-15 and all of zmm16-31. An OS (or
  // hypervisor) that does not save them leaves CPUID's avx512f set while zmm code would be corrupted or fault.
  const bool osSavesZmm = (xcr0 & 0xe6) == 0xe6;
  // x86-64-v2: what -march=x86-64-v2 may emit.
  const Feature baseline[] = {{"sse3", bit(leaf1.ecx, 0)},    {"ssse3", bit(leaf1.ecx, 9)},
                              {"cx16", bit(leaf1.ecx, 13)},   {"sse4.1", bit(leaf1.ecx, 19)},
                              {"sse4.2", bit(leaf1.ecx, 20)}, {"popcnt", bit(leaf1.ecx, 23)},
                              {"lahf_lm", bit(extended.ecx, 0)}};
  // x86-64-v3 on top of v2: what -march=x86-64-v3 may emit.
  const Feature avx2[] = {{"avx", bit(leaf1.ecx, 28)},   {"avx2", bit(leaf7.ebx, 5)},   {"fma", bit(leaf1.ecx, 12)},
                          {"f16c", bit(leaf1.ecx, 29)},  {"movbe", bit(leaf1.ecx, 22)}, {"bmi1", bit(leaf7.ebx, 3)},
                          {"bmi2", bit(leaf7.ebx, 8)},   {"lzcnt", bit(extended.ecx, 5)},
                          {"os-ymm-state (XGETBV)", osSavesYmm}};
  // x86-64-v4 on top of v3: what -march=x86-64-v4 may emit.
  const Feature avx512[] = {{"avx512f", bit(leaf7.ebx, 16)},  {"avx512dq", bit(leaf7.ebx, 17)},
                            {"avx512cd", bit(leaf7.ebx, 28)}, {"avx512bw", bit(leaf7.ebx, 30)},
                            {"avx512vl", bit(leaf7.ebx, 31)}, {"os-zmm-state (XGETBV)", osSavesZmm}};
  // Each level needs the ones below it too, so its missing list starts with theirs.
  for (const Feature& feature : baseline) {
    if (feature.present) continue;
    for (Napi::Array* list : {&missingForBaseline, &missingForAvx2, &missingForAvx512}) list->Set(list->Length(), feature.name);
  }
  for (const Feature& feature : avx2) {
    if (feature.present) continue;
    for (Napi::Array* list : {&missingForAvx2, &missingForAvx512}) list->Set(list->Length(), feature.name);
  }
  for (const Feature& feature : avx512) {
    if (!feature.present) missingForAvx512.Set(missingForAvx512.Length(), feature.name);
  }
  result.Set("x64", true);
  result.Set("baseline", missingForBaseline.Length() == 0);
  result.Set("avx2", missingForAvx2.Length() == 0);
  result.Set("avx512", missingForAvx512.Length() == 0);
#else
  result.Set("x64", false);
  result.Set("baseline", false);
  result.Set("avx2", false);
  result.Set("avx512", false);
#endif
  result.Set("missingForBaseline", missingForBaseline);
  result.Set("missingForAvx2", missingForAvx2);
  result.Set("missingForAvx512", missingForAvx512);
  return result;
}

}  // namespace rnnkit::binding
