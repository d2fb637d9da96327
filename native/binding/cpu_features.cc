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
#ifdef RNNKIT_HAVE_CPUID
  const CpuidRegisters leaf1 = cpuid(1, 0);
  const CpuidRegisters leaf7 = cpuid(7, 0);
  const CpuidRegisters extended = cpuid(0x80000001u, 0);
  const bool osxsave = bit(leaf1.ecx, 27);
  // XCR0 bit 1 = SSE (XMM) state, bit 2 = AVX (upper YMM) state; both must be saved for AVX code to be safe.
  const bool osSavesYmm = osxsave && (readXcr0() & 0x6) == 0x6;
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
  // The avx2 variant needs the baseline level too, so its missing list starts with the baseline's.
  for (const Feature& feature : baseline) {
    if (feature.present) continue;
    missingForBaseline.Set(missingForBaseline.Length(), feature.name);
    missingForAvx2.Set(missingForAvx2.Length(), feature.name);
  }
  for (const Feature& feature : avx2) {
    if (!feature.present) missingForAvx2.Set(missingForAvx2.Length(), feature.name);
  }
  result.Set("x64", true);
  result.Set("baseline", missingForBaseline.Length() == 0);
  result.Set("avx2", missingForAvx2.Length() == 0);
#else
  result.Set("x64", false);
  result.Set("baseline", false);
  result.Set("avx2", false);
#endif
  result.Set("missingForBaseline", missingForBaseline);
  result.Set("missingForAvx2", missingForAvx2);
  return result;
}

}  // namespace rnnkit::binding
