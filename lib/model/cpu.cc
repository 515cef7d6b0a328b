// CPU feature detection. Built with baseline flags: it must run on any x86-64.
#include "model/cpu.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace vigil::detail {

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
  set((c1 >> 1) & 1, kCpuPclmul);
  set((c1 >> 9) & 1, kCpuSsse3);
  set((c1 >> 19) & 1, kCpuSse41);
  set((c1 >> 20) & 1, kCpuSse42);
  set((c1 >> 22) & 1, kCpuMovbe);
  set((c1 >> 23) & 1, kCpuPopcnt);
  // VEX / EVEX code needs the OS to save the wider registers on a context switch: OSXSAVE,
  // then XCR0's SSE and AVX state (bits 1-2) and for AVX-512 opmask, ZMM_Hi256 and Hi16_ZMM
  // (bits 5-7). A CPU that has AVX under an OS that does not enable it must count as without.
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

bool cpu_supports(std::uint64_t needed) noexcept { return (cpu_features() & needed) == needed; }

}  // namespace vigil::detail
