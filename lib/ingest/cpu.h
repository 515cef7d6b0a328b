// Internal: the x86 extensions a per-arch unit of lib/ingest is compiled with, as a bit set the
// dispatcher (json_dispatch.cc) checks against the CPU and the OS's enabled register state
// before choosing that unit. Each unit exports kTargetFeatures, computed from the compiler's
// predefined macros, so it follows whatever flags sources.cmake gives the unit.
#pragma once

#include <cstdint>

namespace vigil::ingest {

enum CpuFeature : std::uint64_t {
  kCpuPopcnt = 1ULL << 0,
  kCpuPclmul = 1ULL << 1,
  kCpuAvx = 1ULL << 2,  // with the OS saving YMM state (XCR0)
  kCpuAvx2 = 1ULL << 3,
  kCpuBmi1 = 1ULL << 4,
  kCpuBmi2 = 1ULL << 5,
  kCpuLzcnt = 1ULL << 6,
  kCpuAvx512F = 1ULL << 7,  // with the OS saving opmask and ZMM state (XCR0)
  kCpuAvx512Dq = 1ULL << 8,
  kCpuAvx512Cd = 1ULL << 9,
  kCpuAvx512Bw = 1ULL << 10,
  kCpuAvx512Vl = 1ULL << 11,
  kCpuAvx512Vbmi = 1ULL << 12,
  kCpuAvx512Vbmi2 = 1ULL << 13,
  kCpuSse42 = 1ULL << 14,
  kCpuFma = 1ULL << 15,
  kCpuUnbuilt = 1ULL << 63,  // a unit compiled without its flags: never runnable
};

/// The features of this CPU and OS (cpuid and xgetbv, read once). 0 off x86-64.
std::uint64_t cpu_features() noexcept;

namespace {
// Internal linkage: each unit gets the value of its own flags.
[[maybe_unused]] constexpr std::uint64_t kUnitFeatures = 0
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
#ifdef __BMI__
                                                         | kCpuBmi1
#endif
#ifdef __BMI2__
                                                         | kCpuBmi2
#endif
#ifdef __LZCNT__
                                                         | kCpuLzcnt
#endif
#ifdef __AVX512F__
                                                         | kCpuAvx512F
#endif
#ifdef __AVX512DQ__
                                                         | kCpuAvx512Dq
#endif
#ifdef __AVX512CD__
                                                         | kCpuAvx512Cd
#endif
#ifdef __AVX512BW__
                                                         | kCpuAvx512Bw
#endif
#ifdef __AVX512VL__
                                                         | kCpuAvx512Vl
#endif
#ifdef __AVX512VBMI__
                                                         | kCpuAvx512Vbmi
#endif
#ifdef __AVX512VBMI2__
                                                         | kCpuAvx512Vbmi2
#endif
#ifdef __SSE4_2__
                                                         | kCpuSse42
#endif
#ifdef __FMA__
                                                         | kCpuFma
#endif
    ;
}  // namespace

}  // namespace vigil::ingest
