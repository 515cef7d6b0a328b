#include "ingest/builder.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_format.h"
#include "ingest/values.h"

namespace vigil::ingest {
namespace {

constexpr std::string_view kSlotNames[kSlotCount - kFieldCount] = {
    "type", "status", "previous", "time", "entity", "id", "reason", "until"};

std::string_view kind_name(ValueKind k) noexcept {
  switch (k) {
    case ValueKind::kNull: return "null";
    case ValueKind::kString: return "a string";
    case ValueKind::kNumber: return "a number";
    case ValueKind::kBool: return "a boolean";
    case ValueKind::kText: return "text";
    case ValueKind::kOther: return "an object or array";
  }
  return "?";
}

// |amt| above 1e12 currency units is not a card transaction but corrupt data.
constexpr std::int64_t kMaxAmountCents = 100'000'000'000'000;  // 1e12 × 100
// unix_time and fractional seconds as µs: ±292k years fit; bound to the timestamp range.
constexpr std::int64_t kMaxMicros = std::numeric_limits<std::int64_t>::max() / 2;

}  // namespace

std::string_view slot_name(std::uint8_t slot) noexcept {
  if (slot < kFieldCount) return field_name(static_cast<Field>(slot));
  if (slot < kSlotCount) return kSlotNames[slot - kFieldCount];
  return "";
}

KeyTable::KeyTable(const Schema& schema) : entries_(kSize) {
  for (const auto& [name, field] : schema.names()) insert(name, slot_of(field));
  for (std::uint8_t s = kFieldCount; s < kSlotCount; ++s) {
    // Event members are fixed vigil names; a schema alias of the same spelling wins.
    if (find(slot_name(s)) == kSlotNone) insert(slot_name(s), s);
  }
}

void KeyTable::insert(std::string_view name, std::uint8_t slot) {
  if (name.empty() || name.size() > kMaxKey) return;
  for (std::size_t i = hash(name);; i = (i + 1) & kMask) {
    Entry& e = entries_[i];
    if (e.len == 0 ||
        (e.len == name.size() && std::memcmp(e.words, name.data(), name.size()) == 0)) {
      std::memcpy(e.words, name.data(), name.size());
      e.len = static_cast<std::uint8_t>(name.size());
      e.slot = slot;
      return;
    }
  }
}

namespace {

std::uint64_t load64(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// Equality of two byte ranges of the same length, eight bytes at a time (no libc call: most
// values are 2..40 bytes). Inlined: a call per memo value cost as much as the compare.
[[gnu::always_inline]] inline bool same_bytes(const char* a, const char* b,
                                              std::size_t n) noexcept {
  if (n < 8) {
    // Two overlapping loads cover 4..7 (and 2..3) bytes without a byte loop.
    if (n >= 4) {
      std::uint32_t x0, y0, x1, y1;
      std::memcpy(&x0, a, 4);
      std::memcpy(&y0, b, 4);
      std::memcpy(&x1, a + n - 4, 4);
      std::memcpy(&y1, b + n - 4, 4);
      return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 2) {
      std::uint16_t x0, y0, x1, y1;
      std::memcpy(&x0, a, 2);
      std::memcpy(&y0, b, 2);
      std::memcpy(&x1, a + n - 2, 2);
      std::memcpy(&y1, b + n - 2, 2);
      return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    return n == 0 || a[0] == b[0];
  }
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    if (load64(a + i) != load64(b + i)) return false;
  }
  return load64(a + n - 8) == load64(b + n - 8);
}

bool is_ascii(std::string_view s) noexcept {
  std::uint64_t acc = 0;
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) acc |= load64(s.data() + i);
  for (; i < s.size(); ++i) acc |= static_cast<unsigned char>(s[i]);
  return (acc & 0x8080808080808080ULL) == 0;
}

}  // namespace

namespace {

constexpr std::uint32_t memo_mask() noexcept {
  std::uint32_t m = 0;
  for (const Field f :
       {Field::kFirst, Field::kLast, Field::kGender, Field::kStreet, Field::kCity, Field::kState,
        Field::kZip, Field::kLat, Field::kLong, Field::kCityPop, Field::kJob, Field::kDob}) {
    m |= std::uint32_t{1} << slot_of(f);
  }
  return m;
}

}  // namespace

const RecordBuilder::CardMemo* RecordBuilder::memo_find(const Row& row,
                                                        std::uint64_t cc) const noexcept {
  constexpr std::uint32_t kMask = memo_mask();
  static_assert(std::popcount(kMask) == kMemoCount);
  if (memo_.empty()) return nullptr;
  const CardMemo* const set = &memo_[memo_set(row[slot_of(Field::kCcNum)].text) * 2];
  const CardMemo* e = set[0].cc == cc ? &set[0] : set[1].cc == cc ? &set[1] : nullptr;
  if (e == nullptr || e->epoch != epoch_ || (row.present & kMask) != e->present) return nullptr;
  // Unrolled at compile time: each value's slot is a constant and its compare has its own
  // branches (the lengths of one field repeat, so they predict well).
  std::size_t at = 0;
  const auto same = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
    constexpr std::uint8_t slot = slot_of(kMemoFields[I]);
    if (!row.has(slot)) return true;
    const Value& v = row[slot];
    const std::size_t n = e->lens[I];
    if (v.kind != e->kinds[I] || v.text.size() != n) return false;
    if (n != 0 && !same_bytes(e->bytes + at, v.text.data(), n)) return false;
    at += n;
    return true;
  };
  const bool all = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return (same(std::integral_constant<std::size_t, I>{}) && ...);
  }
  (std::make_index_sequence<kMemoCount>{});
  return all ? e : nullptr;
}

namespace {

// Where a transaction is built: a Transaction, or one row of a batch's columns (the ingestor's
// path: no record to zero, fill and copy again). Same accessors, one reference per field.
// reset() writes Transaction's defaults field by field (no temporary to zero and copy back).
// clang-format off
#define VIGIL_TX_FIELDS(X)                                                                \
  X(time) X(unix_time) X(cc_num) X(amt_cents) X(lat) X(lon) X(merch_lat) X(merch_lon)     \
  X(merchant) X(category) X(first) X(last) X(street) X(city) X(state) X(job) X(zip)       \
  X(city_pop) X(dob) X(gender) X(is_fraud) X(trans_num)
// clang-format on

// A field added to Transaction must be added to the list above too.
static_assert(sizeof(Transaction) == 160, "update VIGIL_TX_FIELDS for Transaction's new field");

const Transaction kDefaultTransaction{};

struct ToRecord {
  Transaction& t;
#define VIGIL_X(f) \
  auto& f() noexcept { return t.f; }
  VIGIL_TX_FIELDS(VIGIL_X)
#undef VIGIL_X
  void reset() noexcept {
#define VIGIL_X(f) t.f = kDefaultTransaction.f;
    VIGIL_TX_FIELDS(VIGIL_X)
#undef VIGIL_X
  }
};

struct ToColumns {
  TransactionBatch& b;
  std::size_t i;
#define VIGIL_X(f) \
  auto& f() noexcept { return b.f[i]; }
  VIGIL_TX_FIELDS(VIGIL_X)
#undef VIGIL_X
  void reset() noexcept {
#define VIGIL_X(f) b.f[i] = kDefaultTransaction.f;
    VIGIL_TX_FIELDS(VIGIL_X)
#undef VIGIL_X
  }
};

#undef VIGIL_TX_FIELDS

}  // namespace

template <class Out>
void RecordBuilder::memo_store(const Row& row, Out tx) {
  constexpr std::uint32_t kMask = memo_mask();
  std::size_t total = 0;
  for (const Field f : kMemoFields) {
    if (row.has(slot_of(f))) total += row[slot_of(f)].text.size();
  }
  if (total > sizeof(CardMemo::bytes)) return;  // unusually long attributes: not memoized
  if (memo_.empty()) memo_.resize(std::size_t{2} << kMemoSetBits);  // first use
  CardMemo* const set = &memo_[memo_set(row[slot_of(Field::kCcNum)].text) * 2];
  // The card's own way, else an empty or stale one, else the older of the two (way 0 is
  // moved to way 1 so the newest card sits in way 0).
  CardMemo* e;
  if (set[0].cc == tx.cc_num()) {
    e = &set[0];
  } else if (set[1].cc == tx.cc_num()) {
    e = &set[1];
  } else if (set[0].epoch != epoch_) {
    e = &set[0];
  } else if (set[1].epoch != epoch_) {
    e = &set[1];
  } else {
    set[1] = set[0];
    e = &set[0];
  }
  e->cc = tx.cc_num();
  e->epoch = epoch_;
  e->present = row.present & kMask;
  e->first = tx.first();
  e->last = tx.last();
  e->street = tx.street();
  e->city = tx.city();
  e->state = tx.state();
  e->job = tx.job();
  e->zip = tx.zip();
  e->city_pop = tx.city_pop();
  e->lat = tx.lat();
  e->lon = tx.lon();
  e->dob = tx.dob();
  e->gender = tx.gender();
  std::size_t at = 0;
  for (std::size_t i = 0; i < kMemoCount; ++i) {
    const std::uint8_t slot = slot_of(kMemoFields[i]);
    e->kinds[i] = ValueKind::kNull;
    e->lens[i] = 0;
    if (!row.has(slot)) continue;
    const Value& v = row[slot];
    e->kinds[i] = v.kind;
    e->lens[i] = static_cast<std::uint8_t>(v.text.size());
    if (!v.text.empty()) std::memcpy(e->bytes + at, v.text.data(), v.text.size());
    at += v.text.size();
  }
}

void RecordBuilder::dictionary_may_have_changed() noexcept {
  // Appends keep every id's text; only a replaced dictionary (new generation) makes ids stale.
  if (dict_.generation() == dict_generation_) return;
  dict_generation_ = dict_.generation();
  if (++epoch_ == 0) {  // wrapped: no entry may claim the new epoch by accident
    for (CardMemo& e : memo_) e.epoch = 0;
    epoch_ = 1;
  }
}

bool RecordBuilder::fail(RejectKind kind, std::string_view field, std::string reason) {
  error_.kind = kind;
  error_.field.assign(field);
  error_.reason = std::move(reason);
  return false;
}

bool RecordBuilder::fail_slot(RejectKind kind, std::uint8_t slot, std::string reason) {
  return fail(kind, slot_name(slot), std::move(reason));
}

bool RecordBuilder::get_string(const Row& row, std::uint8_t slot, bool required, bool allow_number,
                               std::string_view& out) {
  // The common case first: a JSON string within the limit, not blank when required.
  if (row.has(slot)) {
    const Value& v = row[slot];
    if (v.kind == ValueKind::kString && v.text.size() <= limits_.max_string_bytes &&
        (!required || (!v.text.empty() && v.text.front() != ' ' && v.text.front() != '\t'))) {
      out = v.text;
      return true;
    }
  }
  out = {};
  if (!row.has_value(slot)) {
    if (!required) return true;
    return fail_slot(RejectKind::kMissingField, slot,
                     absl::StrFormat("missing required field %s", slot_name(slot)));
  }
  const Value& v = row[slot];
  switch (v.kind) {
    case ValueKind::kString: break;
    case ValueKind::kText:
      // Card data is nearly all ASCII: check eight bytes at a time, and only run the exact
      // validator on text with high bytes.
      if (!is_ascii(v.text) && first_invalid_utf8(v.text) != v.text.size()) {
        const std::size_t bad = first_invalid_utf8(v.text);
        return fail_slot(
            RejectKind::kInvalidUtf8, slot,
            absl::StrFormat("%s: invalid UTF-8 at byte %u of the value", slot_name(slot), bad));
      }
      break;
    case ValueKind::kNumber:
      if (allow_number) break;
      [[fallthrough]];
    default:
      return fail_slot(
          RejectKind::kWrongType, slot,
          absl::StrFormat("%s: expected a string, got %s", slot_name(slot), kind_name(v.kind)));
  }
  if (v.text.size() > limits_.max_string_bytes) {
    return fail_slot(RejectKind::kTooLarge, slot,
                     absl::StrFormat("%s is %u bytes, limit %u", slot_name(slot), v.text.size(),
                                     limits_.max_string_bytes));
  }
  out = v.text;
  if (required && trim(out).empty()) {
    return fail_slot(RejectKind::kMissingField, slot,
                     absl::StrFormat("required field %s is empty", slot_name(slot)));
  }
  return true;
}

bool RecordBuilder::numeric_kind_fail(const Row& row, std::uint8_t slot) {
  const ValueKind k = row[slot].kind;
  return fail_slot(RejectKind::kWrongType, slot,
                   absl::StrFormat("%s: expected a number, got %s", slot_name(slot), kind_name(k)));
}

bool RecordBuilder::get_scaled(const Row& row, std::uint8_t slot, int scale, std::int64_t max_abs,
                               std::int64_t& out, bool& present) {
  present = row.has_value(slot);
  if (!present) return true;
  if (!numeric_kind(row, slot)) return false;
  const std::string_view text = row[slot].text;
  switch (parse_scaled(text, scale, max_abs, out)) {
    case NumError::kOk: return true;
    case NumError::kNotNumber:
      return fail_slot(
          RejectKind::kWrongType, slot,
          absl::StrFormat("%s: not a decimal number: %s", slot_name(slot), quote(text)));
    case NumError::kNonFinite:
      return fail_slot(RejectKind::kOutOfRange, slot,
                       absl::StrFormat("%s: non-finite value %s", slot_name(slot), quote(text)));
    case NumError::kRange: break;
  }
  return fail_slot(RejectKind::kOutOfRange, slot,
                   absl::StrFormat("%s: %s out of range", slot_name(slot), quote(text)));
}

bool RecordBuilder::get_unsigned(const Row& row, std::uint8_t slot, std::uint64_t max,
                                 std::uint64_t& out, bool& present) {
  present = row.has_value(slot);
  if (!present) return true;
  if (!numeric_kind(row, slot)) return false;
  const std::string_view text = row[slot].text;
  switch (parse_unsigned(text, max, out)) {
    case NumError::kOk: return true;
    case NumError::kRange:
      return fail_slot(
          RejectKind::kOutOfRange, slot,
          absl::StrFormat("%s: %s out of range [0, %u]", slot_name(slot), quote(text), max));
    default: break;
  }
  return fail_slot(
      RejectKind::kWrongType, slot,
      absl::StrFormat("%s: not a non-negative integer: %s", slot_name(slot), quote(text)));
}

bool RecordBuilder::get_coordinate(const Row& row, std::uint8_t slot, double bound, double& out) {
  if (!row.has_value(slot)) return true;  // stays NaN: missing
  if (!numeric_kind(row, slot)) return false;
  const std::string_view text = row[slot].text;
  double v = 0;
  switch (parse_double(text, v)) {
    case NumError::kOk: break;
    case NumError::kNotNumber:
      return fail_slot(RejectKind::kWrongType, slot,
                       absl::StrFormat("%s: not a number: %s", slot_name(slot), quote(text)));
    case NumError::kNonFinite:
      return fail_slot(RejectKind::kOutOfRange, slot,
                       absl::StrFormat("%s: non-finite value %s", slot_name(slot), quote(text)));
    case NumError::kRange:
      return fail_slot(RejectKind::kOutOfRange, slot,
                       absl::StrFormat("%s %s out of range [%g, %g]", slot_name(slot), quote(text),
                                       -bound, bound));
  }
  if (!(v >= -bound && v <= bound)) {
    return fail_slot(RejectKind::kOutOfRange, slot,
                     absl::StrFormat("%s %s out of range [%g, %g]", slot_name(slot),
                                     std::string(trim(text)), -bound, bound));
  }
  out = v;
  return true;
}

bool RecordBuilder::get_time(const Row& row, std::uint8_t slot, Micros& out, bool& present) {
  present = row.has_value(slot);
  if (!present) return true;
  const Value& v = row[slot];
  if (v.kind != ValueKind::kNumber && v.kind != ValueKind::kString && v.kind != ValueKind::kText) {
    return fail_slot(
        RejectKind::kWrongType, slot,
        absl::StrFormat("%s: expected a timestamp, got %s", slot_name(slot), kind_name(v.kind)));
  }
  const std::string_view text = trim(v.text);
  if (v.kind != ValueKind::kNumber) {
    if (parse_timestamp_fixed(text, out, date_cache_)) return true;
    if (const auto t = parse_timestamp(text)) {
      out = *t;
      return true;
    }
  }
  switch (parse_epoch(text, out)) {
    case NumError::kOk: return true;
    case NumError::kRange:
    case NumError::kNonFinite:
      return fail_slot(RejectKind::kOutOfRange, slot,
                       absl::StrFormat("%s: %s out of range", slot_name(slot), quote(text)));
    case NumError::kNotNumber: break;
  }
  // Date-shaped text that parse_timestamp refused names an impossible date or time.
  const bool date_shaped = text.size() >= 10 && text[4] == '-' && text[7] == '-';
  return fail_slot(date_shaped ? RejectKind::kOutOfRange : RejectKind::kWrongType, slot,
                   absl::StrFormat("%s: not a valid timestamp: %s", slot_name(slot), quote(text)));
}

bool RecordBuilder::event_type(const Row& row, EventType& type) {
  type = EventType::kTransaction;
  std::string_view t;
  if (!get_string(row, kSlotType, false, false, t)) return false;
  if (t.empty() || t == "transaction") return true;
  if (t == "status") {
    type = EventType::kStatus;
  } else if (t == "flag") {
    type = EventType::kFlag;
  } else if (t == "unflag") {
    type = EventType::kUnflag;
  } else {
    return fail_slot(RejectKind::kUnsupported, kSlotType,
                     absl::StrFormat("unknown event type %s (expected transaction, status, flag "
                                     "or unflag)",
                                     quote(t)));
  }
  return true;
}

template <class Out>
bool RecordBuilder::build_transaction(const Row& row, Out tx) {
  tx.reset();
  std::string_view id;
  if (!get_string(row, slot_of(Field::kTransNum), true, true, id)) return false;
  id = trim(id);
  if (id.size() > TransId::kMaxSize) {
    return fail(RejectKind::kTooLarge, "trans_num",
                absl::StrFormat("trans_num is %u bytes, limit %u", id.size(), TransId::kMaxSize));
  }
  // TransId::from's value written in place: reset() zeroed the id, so the bytes past the text
  // stay zero as from() leaves them (no optional to zero, fill and copy twice).
  TransId& trans_num = tx.trans_num();
  std::memcpy(trans_num.bytes.data(), id.data(), id.size());
  trans_num.size = static_cast<std::uint8_t>(id.size());

  bool present = false;
  std::uint64_t cc = 0;
  if (!get_unsigned(row, slot_of(Field::kCcNum), std::numeric_limits<std::uint64_t>::max(), cc,
                    present)) {
    return false;
  }
  if (!present) return fail(RejectKind::kMissingField, "cc_num", "missing required field cc_num");
  if (cc == 0) return fail(RejectKind::kOutOfRange, "cc_num", "cc_num must not be 0");
  tx.cc_num() = cc;

  if (!get_scaled(row, slot_of(Field::kAmt), 2, kMaxAmountCents, tx.amt_cents(), present)) {
    return false;
  }
  if (!present) return fail(RejectKind::kMissingField, "amt", "missing required field amt");

  bool has_time = false;
  if (!get_time(row, slot_of(Field::kTransDateTransTime), tx.time(), has_time)) return false;
  std::int64_t unix_micros = 0;
  bool has_unix = false;
  if (!get_scaled(row, slot_of(Field::kUnixTime), 6, kMaxMicros, unix_micros, has_unix)) {
    return false;
  }
  if (has_unix) {
    tx.unix_time() = floor_div(unix_micros, kMicrosPerSecond);
    if (!has_time) tx.time() = unix_micros;
  } else if (!has_time) {
    return fail(RejectKind::kMissingField, "trans_date_trans_time",
                "missing required time: neither trans_date_trans_time nor unix_time");
  }

  // The card's attributes as of its last good transaction, when this one repeats them exactly:
  // their checks (below, in the usual order) are then known to pass and are skipped.
  const CardMemo* const memo = memo_on_ ? memo_find(row, cc) : nullptr;

  static constexpr Field kStrings[] = {Field::kMerchant, Field::kCategory, Field::kFirst,
                                       Field::kLast,     Field::kStreet,   Field::kCity,
                                       Field::kState,    Field::kJob};
  constexpr std::size_t kTxStrings = 2;  // merchant, category: not card attributes
  std::array<std::string_view, std::size(kStrings)>& strings = strings_;
  const std::size_t interned = memo != nullptr ? kTxStrings : std::size(kStrings);
  for (std::size_t i = 0; i < interned; ++i) {
    if (!get_string(row, slot_of(kStrings[i]), false, false, strings[i])) return false;
  }
  // Their dictionary slots load while the numbers below are checked (a card seen long ago has
  // its strings' slots out of cache, a miss each).
  std::array<std::uint64_t, std::size(kStrings)>& hashes = hashes_;
  static_assert(kStrings[0] == Field::kMerchant && kStrings[1] == Field::kCategory &&
                slot_of(Field::kMerchant) == kHashedSlots[0] &&
                slot_of(Field::kCategory) == kHashedSlots[1]);
  for (std::size_t i = 0; i < interned; ++i) {
    // Merchant and category: the reader's hash when it kept one (it prefetched them already).
    if (i < std::size(kHashedSlots) && row.kept_hash(i, strings[i], hashes[i])) continue;
    hashes[i] = Dictionary::hash(strings[i]);
    dict_.prefetch(hashes[i]);
  }

  if (memo != nullptr) {
    tx.zip() = memo->zip;
    tx.city_pop() = memo->city_pop;
    tx.lat() = memo->lat;
    tx.lon() = memo->lon;
  } else {
    std::uint64_t u = 0;
    if (!get_unsigned(row, slot_of(Field::kZip), std::numeric_limits<std::uint32_t>::max(), u,
                      present)) {
      return false;
    }
    if (present) tx.zip() = static_cast<std::uint32_t>(u);
    if (!get_unsigned(row, slot_of(Field::kCityPop), std::numeric_limits<std::uint32_t>::max(), u,
                      present)) {
      return false;
    }
    if (present) tx.city_pop() = static_cast<std::uint32_t>(u);
    if (!get_coordinate(row, slot_of(Field::kLat), 90, tx.lat()) ||
        !get_coordinate(row, slot_of(Field::kLong), 180, tx.lon())) {
      return false;
    }
  }
  if (!get_coordinate(row, slot_of(Field::kMerchLat), 90, tx.merch_lat()) ||
      !get_coordinate(row, slot_of(Field::kMerchLong), 180, tx.merch_lon())) {
    return false;
  }

  if (memo != nullptr) {
    tx.dob() = memo->dob;
    tx.gender() = memo->gender;
  } else {
    std::string_view s;
    if (!get_string(row, slot_of(Field::kDob), false, false, s)) return false;
    if (!trim(s).empty()) {
      const auto d = parse_date(trim(s));
      if (!d) {
        return fail(RejectKind::kOutOfRange, "dob",
                    absl::StrFormat("dob: not a valid YYYY-MM-DD date: %s", quote(s)));
      }
      tx.dob() = *d;
    }

    if (!get_string(row, slot_of(Field::kGender), false, false, s)) return false;
    s = trim(s);
    if (s == "M" || s == "F") {
      tx.gender() = s[0];
    } else if (!s.empty()) {
      return fail(RejectKind::kOutOfRange, "gender",
                  absl::StrFormat("gender must be 'M' or 'F', got %s", quote(s)));
    }
  }

  const std::uint8_t fraud = slot_of(Field::kIsFraud);
  if (row.has_value(fraud)) {
    const Value& v = row[fraud];
    const std::string_view t = trim(v.text);
    if (v.kind == ValueKind::kOther) {
      return fail(
          RejectKind::kWrongType, "is_fraud",
          absl::StrFormat("is_fraud: expected 0/1 or a boolean, got %s", kind_name(v.kind)));
    }
    if (t.size() == 1 && (t[0] == '0' || t[0] == '1')) {
      tx.is_fraud() = static_cast<std::int8_t>(t[0] - '0');
    } else if (t == "true") {
      tx.is_fraud() = 1;
    } else if (t == "false") {
      tx.is_fraud() = 0;
    } else if (!t.empty()) {
      return fail(RejectKind::kOutOfRange, "is_fraud",
                  absl::StrFormat("is_fraud must be 0 or 1, got %s", quote(t)));
    }
  }

  // All checks passed: only now touch the dictionary.
  StrId* const ids[] = {&tx.merchant(), &tx.category(), &tx.first(), &tx.last(),
                        &tx.street(),   &tx.city(),     &tx.state(), &tx.job()};
  if (memo != nullptr) {
    // The memo's strings are in the dictionary already: interning them would add nothing.
    for (std::size_t i = 0; i < kTxStrings; ++i) *ids[i] = dict_.intern(strings[i], hashes[i]);
    tx.first() = memo->first;
    tx.last() = memo->last;
    tx.street() = memo->street;
    tx.city() = memo->city;
    tx.state() = memo->state;
    tx.job() = memo->job;
    return true;
  }
  for (std::size_t i = 0; i < std::size(kStrings); ++i) {
    *ids[i] = dict_.intern(strings[i], hashes[i]);
  }
  if (memo_on_) memo_store(row, tx);
  return true;
}

bool RecordBuilder::transaction(const Row& row, Transaction& tx) {
  return build_transaction(row, ToRecord{tx});
}

bool RecordBuilder::transaction(const Row& row, TransactionBatch& batch) {
  return build_transaction(row, ToColumns{batch, batch.size()});
}

std::string_view RecordBuilder::status_text(const Row& row) noexcept {
  if (!row.has_value(kSlotStatus)) return {};
  const Value& v = row[kSlotStatus];
  if (v.kind != ValueKind::kString && v.kind != ValueKind::kText) return {};
  return trim(v.text);
}

bool RecordBuilder::get_event_time(const Row& row, std::optional<Micros> fallback, Micros& out) {
  bool present = false;
  if (!get_time(row, kSlotTime, out, present)) return false;
  if (present) return true;
  if (fallback) {
    out = *fallback;
    return true;
  }
  return fail_slot(RejectKind::kMissingField, kSlotTime, "missing required field time");
}

bool RecordBuilder::status(const Row& now, const Row* before, std::optional<Micros> fallback_time,
                           StatusChange& out) {
  out = StatusChange{};
  std::string_view id;
  if (!get_string(now, slot_of(Field::kTransNum), true, true, id)) return false;
  id = trim(id);
  const auto t = TransId::from(id);
  if (!t) {
    return fail(RejectKind::kTooLarge, "trans_num",
                absl::StrFormat("trans_num is %u bytes, limit %u", id.size(), TransId::kMaxSize));
  }
  out.trans_num = *t;
  std::string_view status, previous;
  if (!get_string(now, kSlotStatus, true, false, status)) return false;
  if (!get_string(now, kSlotPrevious, false, false, previous)) return false;
  if (previous.empty() && before != nullptr) {
    if (!get_string(*before, kSlotStatus, false, false, previous)) return false;
  }
  if (!get_event_time(now, fallback_time, out.time)) return false;
  out.status = intern(trim(status));
  out.previous = intern(trim(previous));
  return true;
}

bool RecordBuilder::flag(const Row& row, bool flagged, std::optional<Micros> fallback_time,
                         FlagChange& out) {
  out = FlagChange{};
  out.flagged = flagged;
  std::string_view entity;
  if (!get_string(row, kSlotEntity, true, false, entity)) return false;
  entity = trim(entity);
  const std::uint8_t slot = keys_.find(entity);
  if (slot >= kFieldCount || !is_key_field(static_cast<Field>(slot))) {
    return fail_slot(RejectKind::kOutOfRange, kSlotEntity,
                     absl::StrFormat("entity %s is not a key field (cc_num, merchant, category, "
                                     "state, zip, city, job, first, last, street, gender)",
                                     quote(entity)));
  }
  out.entity = static_cast<Field>(slot);
  std::string_view id;
  if (!get_string(row, kSlotId, true, true, id)) return false;
  id = trim(id);
  std::uint64_t key = 0;
  switch (out.entity) {
    case Field::kCcNum:
    case Field::kZip: {
      const std::uint64_t max = out.entity == Field::kZip
                                    ? std::numeric_limits<std::uint32_t>::max()
                                    : std::numeric_limits<std::uint64_t>::max();
      const NumError e = parse_unsigned(id, max, key);
      if (e != NumError::kOk || (out.entity == Field::kCcNum && key == 0)) {
        return fail_slot(
            e == NumError::kNotNumber ? RejectKind::kWrongType : RejectKind::kOutOfRange, kSlotId,
            absl::StrFormat("id %s is not a valid %s", quote(id), field_name(out.entity)));
      }
      break;
    }
    case Field::kGender:
      if (id != "M" && id != "F") {
        return fail_slot(RejectKind::kOutOfRange, kSlotId,
                         absl::StrFormat("gender id must be 'M' or 'F', got %s", quote(id)));
      }
      key = static_cast<unsigned char>(id[0]);
      break;
    default: break;  // a string field: interned below, once the record is known good
  }
  std::string_view reason;
  if (!get_string(row, kSlotReason, false, false, reason)) return false;
  bool has_until = false;
  if (!get_time(row, kSlotUntil, out.until, has_until)) return false;
  if (!get_event_time(row, fallback_time, out.time)) return false;
  if (is_string_field(out.entity)) key = intern(id);
  out.key = key;
  out.reason = intern(reason);
  return true;
}

}  // namespace vigil::ingest
