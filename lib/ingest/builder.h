// RecordBuilder: the one place where a Row of raw texts becomes a Transaction, StatusChange or
// FlagChange, with every validation rule and every rejection reason of the ingestor.
#pragma once

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/row.h"
#include "ingest/values.h"
#include "model/prefetch.h"
#include "vigil/dictionary.h"
#include "vigil/ingest.h"
#include "vigil/model.h"

namespace vigil::ingest {

/// Why a record was rejected. Reused across records so its strings keep their capacity.
struct RecordError {
  RejectKind kind = RejectKind::kMalformed;
  std::string field;
  std::string reason;
};

/// What a record stands for, from its "type" member (absent: a transaction).
enum class EventType : std::uint8_t { kTransaction, kStatus, kFlag, kUnflag };

class RecordBuilder {
 public:
  RecordBuilder(Dictionary& dictionary, const IngestLimits& limits, const KeyTable& keys)
      : dict_(dictionary), limits_(limits), keys_(keys) {}

  /// The record's type; false (error set) for an unknown "type".
  bool event_type(const Row& row, EventType& type);
  /// Validates every field, then interns the strings (so a rejected record adds nothing to the
  /// dictionary). False with error() set on the first problem.
  bool transaction(const Row& row, Transaction& tx);
  /// The same, written straight into row batch.size() of `batch`'s columns (which must be below
  /// capacity()); the caller commits the row with set_size(size() + 1) when this returns true.
  bool transaction(const Row& row, TransactionBatch& batch);
  /// A status change from `now`; `before` (a CDC old image) supplies `previous` when the row
  /// lacks it. `fallback_time` is used when the row has no "time".
  bool status(const Row& now, const Row* before, std::optional<Micros> fallback_time,
              StatusChange& out);
  /// A flag (flagged = true) or unflag event.
  bool flag(const Row& row, bool flagged, std::optional<Micros> fallback_time, FlagChange& out);
  /// The status text of a row ("" when absent or not a string), for CDC old/new comparison.
  static std::string_view status_text(const Row& row) noexcept;

  const RecordError& error() const noexcept { return error_; }
  RecordError& error() noexcept { return error_; }
  /// Starts loading the dictionary slot of a string of Dictionary::hash() `hash` (a reader
  /// calls it when it meets a string the builder will intern, so the miss overlaps the rest of
  /// the parse, and keeps the hash in the row: see Row::keep_hash).
  void prefetch_intern(std::uint64_t hash) noexcept { dict_.prefetch(hash); }
  /// Starts loading the per-card memo entry of a cc_num text (a reader calls it when it meets
  /// cc_num: the entry is compared a whole record later, so its lines arrive meanwhile).
  void prefetch_card(std::string_view cc_text) noexcept;

  /// Tests: false turns the per-card memo off (every transaction takes the full path).
  void set_card_memo(bool on) noexcept { memo_on_ = on; }

  /// Sets the error (for readers: malformed syntax, limits) and returns false.
  bool fail(RejectKind kind, std::string_view field, std::string reason);

 private:
  bool fail_slot(RejectKind kind, std::uint8_t slot, std::string reason);
  bool get_string(const Row& row, std::uint8_t slot, bool required, bool allow_number,
                  std::string_view& out);
  bool get_scaled(const Row& row, std::uint8_t slot, int scale, std::int64_t max_abs,
                  std::int64_t& out, bool& present);
  bool get_unsigned(const Row& row, std::uint8_t slot, std::uint64_t max, std::uint64_t& out,
                    bool& present);
  bool get_coordinate(const Row& row, std::uint8_t slot, double bound, double& out);
  bool get_time(const Row& row, std::uint8_t slot, Micros& out, bool& present);
  bool get_event_time(const Row& row, std::optional<Micros> fallback, Micros& out);
  // True when the slot's value may hold a number (else the error is set).
  bool numeric_kind(const Row& row, std::uint8_t slot) {
    const ValueKind k = row[slot].kind;
    return k == ValueKind::kNumber || k == ValueKind::kString || k == ValueKind::kText ||
           numeric_kind_fail(row, slot);
  }
  bool numeric_kind_fail(const Row& row, std::uint8_t slot);

  struct CardMemo;
  const CardMemo* memo_find(const Row& row, std::uint64_t cc) const noexcept;
  template <class Out>
  void memo_store(const Row& row, Out tx);
  template <class Out>
  bool build_transaction(const Row& row, Out tx);
  static std::size_t memo_set(std::string_view cc_text) noexcept;

  StrId intern(std::string_view s) { return dict_.intern(s, Dictionary::hash(s)); }
  static std::uint64_t intern_hash(std::string_view s) noexcept;

  Dictionary& dict_;
  const IngestLimits& limits_;
  const KeyTable& keys_;
  RecordError error_;
  // The string values of the transaction being built (a member: a local array was zeroed on
  // every call).
  std::array<std::string_view, 8> strings_;
  std::array<std::uint64_t, 8> hashes_;  // their Dictionary::hash()
  DateCache date_cache_;                 // the day of the last timestamp read

 public:
  /// Call whenever control may have left the ingestor (an API call begins, a sink callback
  /// returned): the dictionary may have been replaced meanwhile (Dictionary::load, a moved-in
  /// snapshot). Cheap when it was not.
  void dictionary_may_have_changed() noexcept;

 private:
  // Epoch of the per-card memo's ids: dictionary_may_have_changed() opens a new one when the
  // dictionary was replaced (its ids may then be stale), and entries of an older one are
  // ignored.
  std::uint32_t epoch_ = 1;

  // The card attributes a memo entry covers, in the order of its bytes.
  static constexpr Field kMemoFields[] = {
      Field::kFirst, Field::kLast, Field::kGender, Field::kStreet,  Field::kCity, Field::kState,
      Field::kZip,   Field::kLat,  Field::kLong,   Field::kCityPop, Field::kJob,  Field::kDob};
  static constexpr std::size_t kMemoCount = std::size(kMemoFields);
  // Per-card memo: the holder's attributes (name, address, home coordinates, job, dob) repeat
  // on every transaction of a card, so a transaction whose attribute values are byte for byte
  // (and kind for kind) those of the card's last good transaction reuses that transaction's
  // checked and converted values and interned ids instead of validating, parsing and interning
  // them again. Exact: the same bytes give the same values and pass the same checks, so only
  // checks known to pass are skipped (the first failing one is unchanged), and the strings are
  // already in the dictionary (their intern() would add nothing); entries of an older epoch are
  // ignored. 2-way sets keyed by cc_num.
  struct alignas(64) CardMemo {
    std::uint64_t cc = 0;
    std::uint32_t epoch = 0;    // 0: empty
    std::uint32_t present = 0;  // Row::present restricted to the memo's slots
    StrId first = kNoStr, last = kNoStr, street = kNoStr, city = kNoStr, state = kNoStr,
          job = kNoStr;
    std::uint32_t zip = 0, city_pop = 0;
    double lat = 0, lon = 0;
    std::int32_t dob = 0;
    char gender = 0;
    std::array<ValueKind, kMemoCount> kinds{};
    std::array<std::uint8_t, kMemoCount> lens{};
    char bytes[163] = {};
  };
  static_assert(sizeof(CardMemo) == 256);
  static constexpr std::size_t kMemoSetBits = 11;  // 2048 sets of 2 ways: 1 MiB
  bool memo_on_ = true;
  // Sized on first use: an ingestor that sees no transaction (events, CSV headers only, a
  // fuzzer's input) does not pay 1 MiB of zeroed memory.
  std::vector<CardMemo> memo_;
  // The dictionary's generation() as of the last check.
  std::uint64_t dict_generation_ = 0;
};

// Inline: the JSON readers call these in their per-field loop, where a call would also cost
// the loop its vector registers (all caller-saved).

inline std::uint64_t RecordBuilder::intern_hash(std::string_view s) noexcept {
  // The length and (up to) the first and last eight bytes, no over-read.
  const std::size_t n = s.size();
  std::uint64_t a, b;
  if (n >= 8) {
    std::memcpy(&a, s.data(), 8);
    std::memcpy(&b, s.data() + n - 8, 8);
  } else if (n >= 4) {
    std::uint32_t x, y;
    std::memcpy(&x, s.data(), 4);
    std::memcpy(&y, s.data() + n - 4, 4);
    a = x;
    b = y;
  } else {
    a = static_cast<unsigned char>(s[0]) | static_cast<unsigned char>(s[n / 2]) << 8;
    b = static_cast<unsigned char>(s[n - 1]);
  }
  return (a ^ (b * 0xC2B2AE3D27D4EB4FULL) ^ n) * 0x9E3779B97F4A7C15ULL;
}

// The set of a card is picked by its cc_num text (trimmed), not its value, so a reader can
// prefetch the entry as soon as it meets the text, a whole record before the builder parses
// it. Entries still match on the value: two spellings of one number only cost a miss.
inline std::size_t RecordBuilder::memo_set(std::string_view cc_text) noexcept {
  cc_text = trim(cc_text);
  if (cc_text.empty()) return 0;
  return static_cast<std::size_t>(intern_hash(cc_text) >> (64 - kMemoSetBits));
}

inline void RecordBuilder::prefetch_card(std::string_view cc_text) noexcept {
  if (memo_.empty()) return;
  const char* const line = reinterpret_cast<const char*>(&memo_[memo_set(cc_text) * 2]);
  // Way 0 holds the set's newest card, usually the only one: all of its lines, and the tag
  // line of way 1.
  for (std::size_t at = 0; at < sizeof(CardMemo) + 64; at += 64) vigil::detail::prefetch(line + at);
}

}  // namespace vigil::ingest
