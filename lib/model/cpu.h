// Internal: the x86 extensions of this CPU and OS, and those a translation unit is compiled for,
// as bit sets a dispatcher compares before calling into a per-arch unit (lib/score's evaluator
// kernels, lib/ingest's JSON readers).
//
// Detection is our own cpuid + xgetbv, not xsimd::available_architectures(): xsimd 8.1 answers
// per headline arch, not per extension a unit is built with (an AVX-512F CPU without DQ or BW,
// or an SSE4.2 one without POPCNT, would fault in our units), and a feature the CPU has is only
// usable when the OS saves its registers (XCR0).
//
// Each per-arch unit exports its kUnitFeatures (computed from the compiler's predefined macros,
// so it follows whatever flags sources.cmake gives it) as data: a dispatcher reads it without
// running a line of that unit's code. A unit built with -mavx512dq thus needs AVX512DQ on the
// CPU, one built with -msse4.2 needs POPCNT too (GCC implies it), and adding -mbmi2 or -mfma to
// a unit's flags adds the check by itself.
#pragma once

#include <cstdint>

namespace vigil::detail {

enum CpuFeature : std::uint64_t {
  kCpuSse2 = 1ULL << 0,
  kCpuSse3 = 1ULL << 1,
  kCpuSsse3 = 1ULL << 2,
  kCpuSse41 = 1ULL << 3,
  kCpuSse42 = 1ULL << 4,
  kCpuPopcnt = 1ULL << 5,
  kCpuPclmul = 1ULL << 6,
  kCpuAvx = 1ULL << 7,  // with the OS saving YMM state (XCR0)
  kCpuAvx2 = 1ULL << 8,
  kCpuFma = 1ULL << 9,
  kCpuF16c = 1ULL << 10,
  kCpuBmi1 = 1ULL << 11,
  kCpuBmi2 = 1ULL << 12,
  kCpuLzcnt = 1ULL << 13,
  kCpuMovbe = 1ULL << 14,
  kCpuAvx512F = 1ULL << 15,  // with the OS saving opmask and ZMM state (XCR0)
  kCpuAvx512Dq = 1ULL << 16,
  kCpuAvx512Bw = 1ULL << 17,
  kCpuAvx512Vl = 1ULL << 18,
  kCpuAvx512Cd = 1ULL << 19,
  kCpuAvx512Ifma = 1ULL << 20,
  kCpuAvx512Vbmi = 1ULL << 21,
  kCpuAvx512Vbmi2 = 1ULL << 22,
  kCpuAvx512Vnni = 1ULL << 23,
  kCpuAvx512Bitalg = 1ULL << 24,
  kCpuAvx512Vpopcntdq = 1ULL << 25,
  kCpuUnbuilt = 1ULL << 63,  // a unit compiled without its flags: never runnable
};

/// The features of this CPU and OS (cpuid and xgetbv, read once). 0 off x86-64.
std::uint64_t cpu_features() noexcept;

/// True when this CPU and OS run every extension in `needed` (a set of CpuFeature bits).
bool cpu_supports(std::uint64_t needed) noexcept;

namespace {
// Internal linkage: each unit gets the value of its own flags.
[[maybe_unused]] constexpr std::uint64_t kUnitFeatures = 0
#ifdef __SSE2__
                                                         | kCpuSse2
#endif
#ifdef __SSE3__
                                                         | kCpuSse3
#endif
#ifdef __SSSE3__
                                                         | kCpuSsse3
#endif
#ifdef __SSE4_1__
                                                         | kCpuSse41
#endif
#ifdef __SSE4_2__
                                                         | kCpuSse42
#endif
#ifdef __POPCNT__
                                                         | kCpuPopcnt
#endif
#ifdef __PCLMUL__
                                                         | kCpuPclmul
#endif
#ifdef __AVX__
                                                         | kCpuAvx
#endif
#ifdef __AVX2__
                                                         | kCpuAvx2
#endif
#ifdef __FMA__
                                                         | kCpuFma
#endif
#ifdef __F16C__
                                                         | kCpuF16c
#endif
#ifdef __BMI__
                                                         | kCpuBmi1
#endif
#ifdef __BMI2__
                                                         | kCpuBmi2
#endif
#ifdef __LZCNT__
                                                         | kCpuLzcnt
#endif
#ifdef __MOVBE__
                                                         | kCpuMovbe
#endif
#ifdef __AVX512F__
                                                         | kCpuAvx512F
#endif
#ifdef __AVX512DQ__
                                                         | kCpuAvx512Dq
#endif
#ifdef __AVX512BW__
                                                         | kCpuAvx512Bw
#endif
#ifdef __AVX512VL__
                                                         | kCpuAvx512Vl
#endif
#ifdef __AVX512CD__
                                                         | kCpuAvx512Cd
#endif
#ifdef __AVX512IFMA__
                                                         | kCpuAvx512Ifma
#endif
#ifdef __AVX512VBMI__
                                                         | kCpuAvx512Vbmi
#endif
#ifdef __AVX512VBMI2__
                                                         | kCpuAvx512Vbmi2
#endif
#ifdef __AVX512VNNI__
                                                         | kCpuAvx512Vnni
#endif
#ifdef __AVX512BITALG__
                                                         | kCpuAvx512Bitalg
#endif
#ifdef __AVX512VPOPCNTDQ__
                                                         | kCpuAvx512Vpopcntdq
#endif
    ;
// Extensions this list does not know cannot be checked: refuse to build a unit with them.
#if defined(__AVX512ER__) || defined(__AVX512PF__) || defined(__AVX512FP16__) ||       \
    defined(__AVX512BF16__) || defined(__AVX512VP2INTERSECT__) || defined(__GFNI__) || \
    defined(__VAES__) || defined(__VPCLMULQDQ__) || defined(__AVXVNNI__) || defined(__FMA4__)
#error "per-arch unit built with an extension model/cpu.h does not check"
#endif
}  // namespace

}  // namespace vigil::detail
