// File: vigil/dictionary.h
//
// Interns strings (merchant, category, city, state, job, names, status values …) into dense
// 32-bit ids so that hot paths compare and hash integers only. Id 0 is always the empty string,
// which stands for "missing". A dictionary is part of every snapshot: ids are only meaningful
// with the dictionary that made them.
//
// **Example**
//   vigil::Dictionary dict;
//   vigil::StrId grocery = dict.intern("grocery_pos");
//   assert(dict.view(grocery) == "grocery_pos");
#pragma once

#include <cstdint>
#include <cstring>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string_view>

#include "vigil/status.h"

namespace vigil {

/// Dense id of an interned string; 0 is the empty / missing string.
using StrId = std::uint32_t;
inline constexpr StrId kNoStr = 0;

/// String interning table. Not thread-safe (one per engine, like everything in vigil).
class Dictionary {
 public:
  Dictionary();
  ~Dictionary();
  Dictionary(Dictionary&&) noexcept;
  Dictionary& operator=(Dictionary&&) noexcept;
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;

  /// The id of `s`, adding it if new. Ids are assigned 1, 2, 3 … in first-seen order.
  StrId intern(std::string_view s);
  /// The same with `hash == Dictionary::hash(s)` already computed, for a caller that also
  /// prefetch()es the string's slot ahead of the call.
  StrId intern(std::string_view s, std::uint64_t hash);
  /// The hash intern() and find() use (fast, seeded, stable within a process).
  static std::uint64_t hash(std::string_view s) noexcept;
  /// Starts loading the table slot where the string of `hash` is probed first, so that an
  /// intern() a little later does not wait for memory. A hint only: no effect on contents.
  ///
  ///   const std::uint64_t h = vigil::Dictionary::hash(name);
  ///   dict.prefetch(h);
  ///   … other work …
  ///   const vigil::StrId id = dict.intern(name, h);
  void prefetch(std::uint64_t hash) const noexcept {
    const char* const slot = slots_ + (hash & slot_mask_) * kSlotBytes;
    __builtin_prefetch(slot);
    // An empty asm statement as a use: GCC counts a function holding only prefetches as free
    // of side effects and may delete its inlined calls.
    asm volatile("" : : "r"(slot));
  }
  /// The id of `s` if already present.
  std::optional<StrId> find(std::string_view s) const noexcept;
  /// The string of an id; empty for kNoStr. `id` must be < size().
  std::string_view view(StrId id) const noexcept;
  /// Number of ids, including the reserved id 0.
  std::size_t size() const noexcept;
  /// Approximate heap bytes held.
  std::size_t memory_bytes() const noexcept;
  /// Changes whenever the contents are replaced (load(), move-assignment into this object)
  /// rather than appended to: a cache of string → id taken from this dictionary stays valid
  /// while generation() is unchanged.
  std::uint64_t generation() const noexcept { return generation_; }

  /// Writes a versioned, checksummed image (strings in id order, so byte-stable).
  Status save(std::ostream& out) const;
  /// Replaces the contents with an image written by save(); on error the dictionary is unchanged.
  Status load(std::istream& in);

 private:
  struct Impl;
  void sync() noexcept;
  static constexpr std::size_t kSlotBytes = 32;

  std::unique_ptr<Impl> impl_;
  // The hash table's slots and index mask (owned by impl_), here so prefetch() is inline.
  const char* slots_ = nullptr;
  std::size_t slot_mask_ = 0;
  std::uint64_t generation_ = 0;
};

namespace detail {

inline std::uint64_t dict_load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

inline std::uint64_t dict_load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// 64x64 -> 128-bit multiply, folded (wyhash's mum).
inline std::uint64_t dict_mix(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ typedef unsigned __int128 u128;
  const u128 r = static_cast<u128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

}  // namespace detail

// wyhash's structure: every byte is read once, sixteen per multiply, never past the end.
inline std::uint64_t Dictionary::hash(std::string_view s) noexcept {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL,
                          k2 = 0x8ebc6af09c88c6e3ULL;
  const char* p = s.data();
  const std::size_t n = s.size();
  std::uint64_t seed = k0 ^ n;
  std::uint64_t a = 0, b = 0;
  if (n <= 16) {
    if (n >= 8) {
      a = detail::dict_load64(p);
      b = detail::dict_load64(p + n - 8);
    } else if (n >= 4) {
      a = detail::dict_load32(p);
      b = detail::dict_load32(p + n - 4);
    } else if (n > 0) {
      a = static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) << 16 |
          static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
          static_cast<unsigned char>(p[n - 1]);
    }
  } else {
    std::size_t left = n;
    while (left > 16) {
      seed = detail::dict_mix(detail::dict_load64(p) ^ k1, detail::dict_load64(p + 8) ^ seed);
      p += 16;
      left -= 16;
    }
    a = detail::dict_load64(p + left - 16);
    b = detail::dict_load64(p + left - 8);
  }
  return detail::dict_mix(k1 ^ n, detail::dict_mix(a ^ k1, b ^ seed ^ k2));
}

}  // namespace vigil
