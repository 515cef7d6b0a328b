// The format-neutral middle of the ingestor: every reader (JSON, CSV, CDC image) fills a `Row`
// of raw value texts per slot, and one `RecordBuilder` turns a Row into a transaction or event.
// That way validation, error messages and exactness rules exist once, whatever the format.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/ingest.h"
#include "vigil/model.h"

namespace vigil::ingest {

/// Slots 0..kFieldCount-1 are the Sparkov fields (same numbering as vigil::Field); the rest are
/// the members of vigil-native event records.
enum Slot : std::uint8_t {
  kSlotType = kFieldCount,
  kSlotStatus,
  kSlotPrevious,
  kSlotTime,
  kSlotEntity,
  kSlotId,
  kSlotReason,
  kSlotUntil,
  kSlotCount,
  kSlotNone = 0xFF,
};
static_assert(kSlotCount <= 32, "Row::present is a 32-bit mask");

inline constexpr std::uint8_t slot_of(Field f) noexcept { return static_cast<std::uint8_t>(f); }

/// Name of a slot for error messages ("amt", "type", …).
std::string_view slot_name(std::uint8_t slot) noexcept;

/// How a value was written in the input.
enum class ValueKind : std::uint8_t {
  kNull,    ///< JSON null / DynamoDB NULL / empty CSV field: treated as missing
  kString,  ///< JSON string (unescaped, UTF-8 already validated by simdjson)
  kNumber,  ///< JSON number token / DynamoDB "N" text
  kBool,    ///< JSON true/false (text "true"/"false")
  kText,    ///< CSV field: untyped, UTF-8 not yet validated
  kOther,   ///< object, array, binary: never a valid field value
};

struct Value {
  std::string_view text;
  ValueKind kind = ValueKind::kNull;
};

/// Dictionary::hash() of a value's text, kept by the reader that computed it (to prefetch the
/// text's dictionary slot) so that the builder does not hash the same bytes again.
struct TextHash {
  const char* data = nullptr;
  std::size_t size = 0;
  std::uint64_t hash = 0;
};

/// The slots whose TextHash a Row can keep (the strings interned on every transaction).
inline constexpr std::uint8_t kHashedSlots[] = {static_cast<std::uint8_t>(Field::kMerchant),
                                                static_cast<std::uint8_t>(Field::kCategory)};

/// The values of one record by slot. Only slots whose bit is set in `present` are meaningful,
/// so clearing a row costs one store (and one per kept hash).
struct Row {
  std::array<Value, kSlotCount> values;
  std::uint32_t present = 0;
  // By index in kHashedSlots; for this record only (clear() forgets them), and each serves
  // only the very bytes it was computed from (same address and size).
  std::array<TextHash, std::size(kHashedSlots)> hashes{};

  void clear() noexcept {
    present = 0;
    for (TextHash& h : hashes) h.data = nullptr;
  }
  /// Keeps the hash of `text`, a value of kHashedSlots[k].
  void keep_hash(std::size_t k, std::string_view text, std::uint64_t hash) noexcept {
    hashes[k] = {text.data(), text.size(), hash};
  }
  /// True, with its hash, when kHashedSlots[k] has a kept hash for the bytes of `text`.
  bool kept_hash(std::size_t k, std::string_view text, std::uint64_t& hash) const noexcept {
    const TextHash& h = hashes[k];
    if (h.data == nullptr || h.data != text.data() || h.size != text.size()) return false;
    hash = h.hash;
    return true;
  }
  void set(std::uint8_t slot, std::string_view text, ValueKind kind) noexcept {
    values[slot] = {text, kind};
    present |= std::uint32_t{1} << slot;
  }
  bool has(std::uint8_t slot) const noexcept { return (present >> slot) & 1u; }
  /// Present and not null.
  bool has_value(std::uint8_t slot) const noexcept {
    return has(slot) && values[slot].kind != ValueKind::kNull;
  }
  const Value& operator[](std::uint8_t slot) const noexcept { return values[slot]; }
};

/// Field-name lookup: an open-addressing table keyed by a cheap hash of length and three bytes,
/// verified by comparing two 8-byte words against the zero-padded stored name. Built once from
/// the Schema; a probe costs a few instructions, not a chain of string compares.
class KeyTable {
 public:
  static constexpr std::size_t kMaxKey = 63;
  explicit KeyTable(const Schema& schema);

  /// Slot of `key`; `key.data()` must be followed by at least 16 readable bytes (true inside a
  /// simdjson-padded buffer), so short keys compare as two masked words.
  std::uint8_t find_padded(std::string_view key) const noexcept {
    if (key.empty() || key.size() > kMaxKey) return kSlotNone;
    std::uint64_t w[2] = {0, 0};
    if (key.size() <= 16) {
      std::memcpy(w, key.data(), 16);
      if (key.size() <= 8) {
        if (key.size() < 8) w[0] &= ~std::uint64_t{0} >> (64 - 8 * key.size());
        w[1] = 0;
      } else if (key.size() < 16) {
        w[1] &= ~std::uint64_t{0} >> (64 - 8 * (key.size() - 8));
      }
    }
    for (std::size_t i = hash(key);; i = (i + 1) & kMask) {
      const Entry& e = entries_[i];
      if (e.len == 0) return kSlotNone;
      if (e.len != key.size()) continue;
      if (key.size() <= 16 ? (e.words[0] == w[0] && e.words[1] == w[1])
                           : std::memcmp(e.words, key.data(), key.size()) == 0) {
        return e.slot;
      }
    }
  }
  /// Slot of `key` (no over-read).
  std::uint8_t find(std::string_view key) const noexcept {
    if (key.empty() || key.size() > kMaxKey) return kSlotNone;
    char buf[kMaxKey + 17] = {};
    std::memcpy(buf, key.data(), key.size());
    return find_padded(std::string_view(buf, key.size()));
  }

 private:
  static constexpr std::size_t kSize = 256;  // power of two, > 2x the names we expect
  static constexpr std::size_t kMask = kSize - 1;
  struct Entry {
    std::uint64_t words[8] = {};  // the name, zero-padded to 64 bytes
    std::uint8_t len = 0;
    std::uint8_t slot = kSlotNone;
  };
  static std::size_t hash(std::string_view k) noexcept {
    const auto b = [&](std::size_t i) {
      return static_cast<std::size_t>(static_cast<unsigned char>(k[i]));
    };
    return (k.size() * 0x9E3779B1u ^ b(0) * 0x85EBCA6Bu ^ b(k.size() - 1) * 0xC2B2AE35u ^
            b(k.size() / 2) * 0x27D4EB2Fu) >>
               7 &
           kMask;
  }
  void insert(std::string_view name, std::uint8_t slot);
  std::vector<Entry> entries_;
};

}  // namespace vigil::ingest
