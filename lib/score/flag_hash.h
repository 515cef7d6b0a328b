// Internal: the hash of a flagged key, shared by FlagSet (which sets the filter's bits) and the
// per-arch Bloom probes (which hash a whole column of keys in vector registers). The two must
// agree bit for bit; 64-bit multiplies and shifts are exact, so they do on every arch.
#pragma once

#include <cstdint>

namespace vigil::score {
// Internal linkage: compiled into units with different instruction-set flags.
namespace {

/// The per-field seed mixed into every key of `field` (keys of different fields that are
/// equal numbers must not share filter bits).
constexpr std::uint64_t flag_seed(std::uint8_t field) noexcept {
  return static_cast<std::uint64_t>(field + 1) * 0x9E3779B97F4A7C15ULL;
}

/// murmur3's fmix64 over key ^ seed: the filter needs well-spread high bits (the block) and
/// low bits (the bit pattern).
constexpr std::uint64_t flag_hash(std::uint64_t seed, std::uint64_t key) noexcept {
  std::uint64_t h = key ^ seed;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

}  // namespace
}  // namespace vigil::score
