// Run-time instruction-set choice. Built with baseline flags: it must run on any x86-64.
#include "score/dispatch.h"

#include "score/cpu_features.h"
#include "score/text.h"

#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace vigil::score {

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
  const unsigned c1 = c, d1 = d;
  std::uint64_t f = 0;
  auto set = [&f](bool on, std::uint64_t bit) { f |= on ? bit : 0; };
  set((d1 >> 26) & 1, kCpuSse2);
  set(c1 & 1, kCpuSse3);
  set((c1 >> 9) & 1, kCpuSsse3);
  set((c1 >> 19) & 1, kCpuSse41);
  set((c1 >> 20) & 1, kCpuSse42);
  set((c1 >> 22) & 1, kCpuMovbe);
  set((c1 >> 23) & 1, kCpuPopcnt);
  // VEX / EVEX code needs the OS to save the wider registers on a context switch: OSXSAVE,
  // then XCR0's SSE and AVX state (bits 1-2) and for AVX-512 opmask, ZMM_Hi256 and Hi16_ZMM
  // (bits 5-7).
  const bool osxsave = (c1 >> 27) & 1;
  const std::uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;
  const bool os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;
  const bool avx = os_avx && ((c1 >> 28) & 1);
  set(avx, kCpuAvx);
  set(avx && ((c1 >> 12) & 1), kCpuFma);
  set(avx && ((c1 >> 29) & 1), kCpuF16c);
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    set((b >> 3) & 1, kCpuBmi1);
    set((b >> 8) & 1, kCpuBmi2);
    set(avx && ((b >> 5) & 1), kCpuAvx2);
    if (os_avx512 && ((b >> 16) & 1)) {
      f |= kCpuAvx512F;
      set((b >> 17) & 1, kCpuAvx512Dq);
      set((b >> 21) & 1, kCpuAvx512Ifma);
      set((b >> 28) & 1, kCpuAvx512Cd);
      set((b >> 30) & 1, kCpuAvx512Bw);
      set((b >> 31) & 1, kCpuAvx512Vl);
      set((c >> 1) & 1, kCpuAvx512Vbmi);
      set((c >> 6) & 1, kCpuAvx512Vbmi2);
      set((c >> 11) & 1, kCpuAvx512Vnni);
      set((c >> 12) & 1, kCpuAvx512Bitalg);
      set((c >> 14) & 1, kCpuAvx512Vpopcntdq);
    }
  }
  if (__get_cpuid_max(0x80000000, nullptr) >= 0x80000001) {
    __cpuid_count(0x80000001, 0, a, b, c, d);
    set((c >> 5) & 1, kCpuLzcnt);
  }
  return f;
}

bool has(std::uint64_t need) noexcept { return (cpu_features() & need) == need; }

}  // namespace

std::uint64_t cpu_features() noexcept {
  static const std::uint64_t features = detect();
  return features;
}

std::uint64_t target_features(ScoreArch arch) noexcept {
  switch (arch) {
    case ScoreArch::kSse42: return kTargetFeaturesSse42;
    case ScoreArch::kAvx2: return kTargetFeaturesAvx2;
#if VIGIL_SCORE_HAVE_AVX512
    case ScoreArch::kAvx512: return kTargetFeaturesAvx512;
#endif
    default: return 0;
  }
}

bool arch_available(ScoreArch arch) noexcept {
  // Exactly the extensions each unit was compiled with (cpu_features.h), not just the
  // headline one: an AVX-512F CPU without DQ or BW would fault in the AVX-512 kernels.
  switch (arch) {
    case ScoreArch::kScalar:
    case ScoreArch::kAuto: return true;
#if !VIGIL_SCORE_HAVE_AVX512
    case ScoreArch::kAvx512: return false;
#endif
    default: return has(target_features(arch));
  }
}
#else
std::uint64_t cpu_features() noexcept { return 0; }
std::uint64_t target_features(ScoreArch) noexcept { return 0; }

bool arch_available(ScoreArch arch) noexcept {
  return arch == ScoreArch::kScalar || arch == ScoreArch::kAuto;
}
#endif

ScoreArch best_arch() noexcept {
  for (ScoreArch a : {ScoreArch::kAvx512, ScoreArch::kAvx2, ScoreArch::kSse42}) {
    if (arch_available(a)) return a;
  }
  return ScoreArch::kScalar;
}

Result<ScoreArch> resolve_arch(ScoreArch requested) {
  ScoreArch arch = requested;
  if (requested == ScoreArch::kAuto) {
    // Read once per compile (never on the hot path): like SIMDJSON_FORCE_IMPLEMENTATION.
    const char* forced = std::getenv("VIGIL_FORCE_ARCH");
    if (forced == nullptr || *forced == '\0') return best_arch();
    auto named = score_arch_from_name(forced);
    if (!named || *named == ScoreArch::kAuto) {
      return Status(
          ErrorCode::kInvalidArgument,
          score::cat("VIGIL_FORCE_ARCH='", forced, "' is not one of scalar, sse4.2, avx2, avx512"));
    }
    arch = *named;
  }
  if (!arch_available(arch)) {
    return Status(ErrorCode::kUnsupported,
                  score::cat("instruction set ", score_arch_name(arch),
                             " is not available on this CPU or in this build"));
  }
  return arch;
}

EvalFn eval_function(ScoreArch arch) noexcept {
  switch (arch) {
#if defined(__x86_64__) || defined(_M_X64)
    case ScoreArch::kSse42: return &eval_sse42;
    case ScoreArch::kAvx2: return &eval_avx2;
#if VIGIL_SCORE_HAVE_AVX512
    case ScoreArch::kAvx512: return &eval_avx512;
#endif
#endif
    default: return &eval_scalar;
  }
}

BloomFn bloom_function(ScoreArch arch) noexcept {
  switch (arch) {
#if defined(__x86_64__) || defined(_M_X64)
    case ScoreArch::kSse42: return &bloom_probe_sse42;
    case ScoreArch::kAvx2: return &bloom_probe_avx2;
#if VIGIL_SCORE_HAVE_AVX512
    case ScoreArch::kAvx512: return &bloom_probe_avx512;
#endif
#endif
    default: return &bloom_probe_scalar;
  }
}

}  // namespace vigil::score

namespace vigil {

std::string_view score_arch_name(ScoreArch arch) noexcept {
  switch (arch) {
    case ScoreArch::kAuto: return "auto";
    case ScoreArch::kScalar: return "scalar";
    case ScoreArch::kSse42: return "sse4.2";
    case ScoreArch::kAvx2: return "avx2";
    case ScoreArch::kAvx512: return "avx512";
  }
  return "?";
}

std::optional<ScoreArch> score_arch_from_name(std::string_view name) noexcept {
  for (ScoreArch a : {ScoreArch::kAuto, ScoreArch::kScalar, ScoreArch::kSse42, ScoreArch::kAvx2,
                      ScoreArch::kAvx512}) {
    if (score_arch_name(a) == name) return a;
  }
  return std::nullopt;
}

std::vector<ScoreArch> available_score_archs() {
  std::vector<ScoreArch> out;
  for (ScoreArch a :
       {ScoreArch::kScalar, ScoreArch::kSse42, ScoreArch::kAvx2, ScoreArch::kAvx512}) {
    if (score::arch_available(a)) out.push_back(a);
  }
  return out;
}

}  // namespace vigil
