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
  std::unique_ptr<Impl> impl_;
  std::uint64_t generation_ = 0;
};

}  // namespace vigil
