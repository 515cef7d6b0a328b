// Run-time choice of the JSON reader's instruction set. Built with baseline flags: it must run
// on any x86-64, and it reads each unit's kTargetFeatures (data) without running its code.
#include <cstdlib>
#include <string_view>

#include "ingest/cpu.h"
#include "ingest/json_reader.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace vigil::ingest {

#if defined(__x86_64__) || defined(_M_X64)
namespace {

// XCR0 by `xgetbv` in inline assembly: the intrinsic needs -mxsave, and this unit is baseline.
std::uint64_t read_xcr0() noexcept {
  std::uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<std::uint64_t>(hi) << 32) | lo;
}

std::uint64_t detect() noexcept {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_max(0, nullptr) < 1) return 0;
  __cpuid_count(1, 0, a, b, c, d);
  const unsigned c1 = c;
  std::uint64_t f = 0;
  auto set = [&f](bool on, std::uint64_t bit) { f |= on ? bit : 0; };
  set((c1 >> 1) & 1, kCpuPclmul);
  set((c1 >> 20) & 1, kCpuSse42);
  set((c1 >> 23) & 1, kCpuPopcnt);
  // VEX / EVEX code needs the OS to save the wider registers: OSXSAVE, then XCR0's SSE and AVX
  // state (bits 1-2) and for AVX-512 opmask, ZMM_Hi256 and Hi16_ZMM (bits 5-7).
  const bool osxsave = (c1 >> 27) & 1;
  const std::uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;
  const bool os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;
  const bool avx = os_avx && ((c1 >> 28) & 1);
  set(avx, kCpuAvx);
  set(avx && ((c1 >> 12) & 1), kCpuFma);
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    set((b >> 3) & 1, kCpuBmi1);
    set((b >> 8) & 1, kCpuBmi2);
    set(avx && ((b >> 5) & 1), kCpuAvx2);
    if (os_avx512 && ((b >> 16) & 1)) {
      f |= kCpuAvx512F;
      set((b >> 17) & 1, kCpuAvx512Dq);
      set((b >> 28) & 1, kCpuAvx512Cd);
      set((b >> 30) & 1, kCpuAvx512Bw);
      set((b >> 31) & 1, kCpuAvx512Vl);
      set((c >> 1) & 1, kCpuAvx512Vbmi);
      set((c >> 6) & 1, kCpuAvx512Vbmi2);
    }
  }
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000, nullptr)) >= 0x80000001u) {
    __cpuid_count(0x80000001, 0, a, b, c, d);
    set((c >> 5) & 1, kCpuLzcnt);
  }
  return f;
}

}  // namespace

std::uint64_t cpu_features() noexcept {
  static const std::uint64_t features = detect();
  return features;
}
#else
std::uint64_t cpu_features() noexcept { return 0; }
#endif

namespace {

std::uint64_t target_features(JsonArch arch) noexcept {
  switch (arch) {
    case JsonArch::kFallback: return fallback::kTargetFeatures;
    case JsonArch::kHaswell: return haswell::kTargetFeatures;
    case JsonArch::kIcelake: return icelake::kTargetFeatures;
  }
  return kCpuUnbuilt;
}

JsonArch best_json_arch() noexcept {
  for (JsonArch a : {JsonArch::kIcelake, JsonArch::kHaswell}) {
    if (json_arch_available(a)) return a;
  }
  return JsonArch::kFallback;
}

}  // namespace

std::string_view json_arch_name(JsonArch arch) noexcept {
  switch (arch) {
    case JsonArch::kFallback: return "fallback";
    case JsonArch::kHaswell: return "haswell";
    case JsonArch::kIcelake: return "icelake";
  }
  return "fallback";
}

bool json_arch_available(JsonArch arch) noexcept {
  // Exactly the extensions the unit was compiled with, not just the headline one.
  const std::uint64_t need = target_features(arch);
  return (cpu_features() & need) == need;
}

JsonArch default_json_arch() noexcept {
  // Read when a reader is made (never per record): like SIMDJSON_FORCE_IMPLEMENTATION, and the
  // same names as the scorer's override.
  const char* forced = std::getenv("VIGIL_FORCE_ARCH");
  if (forced != nullptr) {
    const std::string_view name(forced);
    JsonArch want = JsonArch::kIcelake;
    if (name == "scalar" || name == "sse4.2") {
      want = JsonArch::kFallback;
    } else if (name == "avx2") {
      want = JsonArch::kHaswell;
    }
    // A forced arch this CPU lacks falls back to the best one below it.
    for (JsonArch a : {JsonArch::kIcelake, JsonArch::kHaswell}) {
      if (a <= want && json_arch_available(a)) return a;
    }
    return JsonArch::kFallback;
  }
  return best_json_arch();
}

std::unique_ptr<JsonReader> make_json_reader(JsonArch arch, const KeyTable& keys,
                                             const IngestLimits& limits) {
  if (!json_arch_available(arch)) arch = JsonArch::kFallback;
  switch (arch) {
    case JsonArch::kHaswell: return haswell::make_reader(keys, limits);
    case JsonArch::kIcelake: return icelake::make_reader(keys, limits);
    default: return fallback::make_reader(keys, limits);
  }
}

}  // namespace vigil::ingest
