// Internal: the split-block Bloom filter probe (kBloomSalt in program.h) in SIMD registers.
//
// A key's 32-bit hash times the 8 salts, shifted right by 27, picks one bit in each 32-bit word
// of its 32-byte block: eight multiplies, a variable shift and one test against the block,
// which is one 256-bit register (AVX2, also used by the AVX-512 build: a block is 256 bits)
// or two 128-bit halves (SSE4.2, where 1 << s comes from the float exponent, see below).
// Include only from the per-arch translation units.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "score/flag_hash.h"
#include "score/program.h"

namespace vigil::score {
namespace {

#if defined(__AVX2__)
inline void bloom_probe_hashes(const std::uint32_t* blocks, std::uint64_t block_mask,
                               const std::uint64_t* hashes, std::size_t n,
                               std::uint8_t* out) noexcept {
  const __m256i salt = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kBloomSalt));
  const __m256i one = _mm256_set1_epi32(1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = hashes[i];
    const auto* block = reinterpret_cast<const __m256i*>(blocks + ((h >> 32) & block_mask) * 8);
    const __m256i shift = _mm256_srli_epi32(
        _mm256_mullo_epi32(_mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(h))),
                           salt),
        27);
    const __m256i bits = _mm256_sllv_epi32(one, shift);
    // testc: CF = ((~block & bits) == 0), i.e. every bit of the pattern is set.
    out[i] = static_cast<std::uint8_t>(_mm256_testc_si256(_mm256_loadu_si256(block), bits));
  }
}
#else
// 1 << s for s in [0, 31] without a variable shift: the float 2^s has exponent field s + 127,
// and converting it back to int32 gives 2^s (s = 31 overflows to 0x80000000, which is 1 << 31).
inline __m128i pow2_epi32(__m128i s) noexcept {
  const __m128 f = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(s, _mm_set1_epi32(127)), 23));
  return _mm_cvttps_epi32(f);
}

inline void bloom_probe_hashes(const std::uint32_t* blocks, std::uint64_t block_mask,
                               const std::uint64_t* hashes, std::size_t n,
                               std::uint8_t* out) noexcept {
  const __m128i salt_lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kBloomSalt));
  const __m128i salt_hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kBloomSalt + 4));
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = hashes[i];
    const std::uint32_t* block = blocks + ((h >> 32) & block_mask) * 8;
    const __m128i key = _mm_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(h)));
    const __m128i lo = pow2_epi32(_mm_srli_epi32(_mm_mullo_epi32(key, salt_lo), 27));
    const __m128i hi = pow2_epi32(_mm_srli_epi32(_mm_mullo_epi32(key, salt_hi), 27));
    const __m128i missing = _mm_or_si128(
        _mm_andnot_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block)), lo),
        _mm_andnot_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 4)), hi));
    out[i] = static_cast<std::uint8_t>(_mm_testz_si128(missing, missing));
  }
}
#endif

// Hashes a run of keys (a plain loop the compiler vectorizes under the unit's flags: AVX-512DQ
// has a 64-bit multiply), then probes the filter with them.
inline void bloom_probe_simd(const std::uint32_t* blocks, std::uint64_t block_mask,
                             const std::uint64_t* keys, std::uint64_t seed, std::size_t n,
                             std::uint8_t* out) noexcept {
  constexpr std::size_t kRun = 128;
  alignas(64) std::uint64_t hashes[kRun];
  for (std::size_t base = 0; base < n; base += kRun) {
    const std::size_t m = n - base < kRun ? n - base : kRun;
    for (std::size_t i = 0; i < m; ++i) hashes[i] = flag_hash(seed, keys[base + i]);
    bloom_probe_hashes(blocks, block_mask, hashes, m, out + base);
  }
}

}  // namespace
}  // namespace vigil::score
