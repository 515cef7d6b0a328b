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

// A slot of Dictionary's open-addressing table: one cache line, so a hit on a string of up to
// kDictInline bytes reads one line. `check` holds the hash's upper 24 bits over the length
// (saturated at 255): a slot whose check differs is skipped without touching any string, and
// an equal check with a length up to kDictInline fixes the length. Such strings (names,
// streets, cities, most jobs and merchants) live in the slot itself, zero-padded; longer ones
// are compared where the dictionary keeps them.
inline constexpr std::size_t kDictInline = 56;
struct DictFar {
  const char* data;
  std::size_t size;
};
struct alignas(64) DictSlot {
  std::uint32_t id = 0;  // kNoStr: empty (the empty string itself is never stored)
  std::uint32_t check = 0;
  union {
    char bytes[kDictInline];
    DictFar far;
  };
  DictSlot() : bytes{} {}
};
static_assert(sizeof(DictSlot) == 64);

inline constexpr std::uint32_t dict_check(std::uint64_t hash, std::size_t n) noexcept {
  return (static_cast<std::uint32_t>(hash >> 32) & 0xFFFFFF00u) |
         static_cast<std::uint32_t>(n < 255 ? n : 255);
}

// Equality of the n bytes at a and p, a word at a time (no read past either).
inline bool dict_equal(const char* a, const char* p, std::size_t n) noexcept {
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      if (dict_load64(a + i) != dict_load64(p + i)) return false;
    }
    return dict_load64(a + n - 8) == dict_load64(p + n - 8);
  }
  if (n >= 4) {
    return dict_load32(a) == dict_load32(p) && dict_load32(a + n - 4) == dict_load32(p + n - 4);
  }
  return a[0] == p[0] && a[n / 2] == p[n / 2] && a[n - 1] == p[n - 1];
}

// Whether `slot`, whose check matched, holds `s` (n >= 1).
inline bool dict_slot_equals(const DictSlot& slot, std::string_view s) noexcept {
  if (s.size() <= kDictInline) return dict_equal(slot.bytes, s.data(), s.size());
  return slot.far.size == s.size() && dict_equal(slot.far.data, s.data(), s.size());
}

}  // namespace detail

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
  /// prefetch()es the string's slot ahead of the call. Inline up to a hit.
  [[gnu::always_inline]] StrId intern(std::string_view s, std::uint64_t hash) {
    const std::uint32_t check = detail::dict_check(hash, s.size());
    for (std::size_t i = hash & slot_mask_;; i = (i + 1) & slot_mask_) {
      const detail::DictSlot& slot = slots_[i];
      if (slot.id == kNoStr) break;
      if (slot.check == check && detail::dict_slot_equals(slot, s)) return slot.id;
    }
    return add(s, hash);  // (the empty string is never in a slot: it gets here too)
  }
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
    const detail::DictSlot* const slot = slots_ + (hash & slot_mask_);
    __builtin_prefetch(slot);
    // The next slot too: a third of the hits probe it (a slot is a line; prefetching past the
    // last slot is harmless).
    __builtin_prefetch(slot + 1);
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
  // intern() past its probe: the id of `s` when absent from the table (new, or empty).
  StrId add(std::string_view s, std::uint64_t hash);
  void sync() noexcept;

  std::unique_ptr<Impl> impl_;
  // The hash table's slots and index mask (owned by impl_), here so that prefetch() and the
  // probe of intern() are inline.
  const detail::DictSlot* slots_ = nullptr;
  std::size_t slot_mask_ = 0;
  std::uint64_t generation_ = 0;
};

// wyhash's folded multiplies: strings up to 16 bytes cost one multiply, up to 32 two
// independent ones, each then a final one that spreads every input bit over the low bits the
// table indexes by. Every byte is read, none past the end.
inline std::uint64_t Dictionary::hash(std::string_view s) noexcept {
  constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL,
                          k2 = 0x8ebc6af09c88c6e3ULL, k3 = 0x589965cc75374cc3ULL;
  using detail::dict_load32;
  using detail::dict_load64;
  using detail::dict_mix;
  const char* p = s.data();
  const std::size_t n = s.size();
  if (n <= 16) {
    std::uint64_t a = 0, b = 0;
    if (n >= 8) {
      a = dict_load64(p);
      b = dict_load64(p + n - 8);
    } else if (n >= 4) {
      a = dict_load32(p) << 32 | dict_load32(p + n - 4);
    } else if (n > 0) {
      a = static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) << 16 |
          static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
          static_cast<unsigned char>(p[n - 1]);
    }
    return dict_mix(dict_mix(a ^ k1, b ^ k2) ^ k3, k0 ^ n);
  }
  std::uint64_t seed = k0;
  std::size_t left = n;
  while (left > 32) {
    seed = dict_mix(dict_load64(p) ^ k1, dict_load64(p + 8) ^ seed) ^
           dict_mix(dict_load64(p + 16) ^ k2, dict_load64(p + 24) ^ seed);
    p += 32;
    left -= 32;
  }
  // The last 32 bytes (overlapping what the loop read), or all 17..32 of a shorter string.
  const char* const end = p + left;
  const char* const front = n > 32 ? end - 32 : s.data();
  return dict_mix(dict_mix(dict_load64(front) ^ k1, dict_load64(front + 8) ^ seed) ^
                      dict_mix(dict_load64(end - 16) ^ k3, dict_load64(end - 8) ^ k2),
                  k0 ^ n);
}

}  // namespace vigil
