// The JSON reader's body, compiled once per instruction set: json_reader_<arch>.cc defines
// VIGIL_INGEST_ARCH (the namespace, so units never share a symbol) and includes this after
// simdjson.h, whose On-Demand "builtin" implementation follows that unit's flags. Not a header
// for anyone else to include.
#ifndef VIGIL_INGEST_ARCH
#error "json_reader_impl.h is included by json_reader_<arch>.cc only"
#endif

#include <array>
#if defined(__SSE2__)
#include <immintrin.h>
#endif
#include <cstring>
#include <memory>
#include <new>

#include "absl/strings/str_format.h"
#include "ingest/json_reader.h"
#include "ingest/values.h"
#include "simdjson.h"

static_assert(vigil::ingest::kJsonPadding == simdjson::SIMDJSON_PADDING);

namespace vigil::ingest::VIGIL_INGEST_ARCH {
namespace {

namespace od = simdjson::ondemand;

// Slots whose values RecordBuilder interns on every transaction (their dictionary slots are
// prefetched as they are read). The card holder's strings (first, last, street, city, state,
// job) usually come from its per-card memo instead, so prefetching them would only spend
// instructions and cache lines.
constexpr std::uint32_t kInternedSlots = [] {
  std::uint32_t m = 0;
  for (const Field f : {Field::kMerchant, Field::kCategory}) {
    m |= std::uint32_t{1} << slot_of(f);
  }
  return m;
}();
// cc_num: the builder's per-card memo entry is prefetched from its text (RecordBuilder::
// prefetch_card), a whole record before the builder compares it.
constexpr std::uint8_t kCardSlot = slot_of(Field::kCcNum);
constexpr std::uint32_t kPrefetchedSlots = kInternedSlots | std::uint32_t{1} << kCardSlot;

// Starts loading what the builder will look up for `slot`'s value (see above); the row keeps
// a string's hash for the builder.
inline void prefetch_for(std::uint8_t slot, std::string_view text, Row& row,
                         RecordBuilder& builder) {
  static_assert(std::size(kHashedSlots) == 2 && kHashedSlots[0] == slot_of(Field::kMerchant) &&
                kHashedSlots[1] == slot_of(Field::kCategory));
  if (((kPrefetchedSlots >> slot) & 1u) == 0) return;
  if (slot == kCardSlot) {
    builder.prefetch_card(text);
  } else {
    const std::uint64_t hash = Dictionary::hash(text);
    row.keep_hash(slot == slot_of(Field::kMerchant) ? 0 : 1, text, hash);
    builder.prefetch_intern(hash);
  }
}
using simdjson::error_code;
using simdjson::SUCCESS;

// The byte constants of the scanners below. read_flat_fast makes them once per record and
// hides their values from the optimizer (an empty asm), so they stay in registers across its
// loop: built inside the scanners, GCC rematerialized each one (move, vmovd, broadcast) at
// every call, 21 instructions before each number and 9 before each string.
struct ScanConstants {
#if defined(__AVX2__)
  // quote, backslash, space: plain_string_stop. number_lo, number_hi, low_nibble: number_run's
  // byte classes by nibble (below).
  __m256i quote, backslash, space, number_lo, number_hi, low_nibble;
#endif
};
inline ScanConstants scan_constants(bool opaque) noexcept {
  ScanConstants k;
#if defined(__AVX2__)
  k.quote = _mm256_set1_epi8('"');
  k.backslash = _mm256_set1_epi8('\\');
  k.space = _mm256_set1_epi8(0x20);
  // A number byte (0-9 . - + e E) by its nibbles: class 1 = high nibble 2 with low B, D or E
  // (+ - .); class 2 = high 3 with low 0..9 (digits); class 4 = high 4 or 6 with low 5 (E e).
  // A byte is in when the classes of its low and high nibble meet (bytes >= 0x80 have high
  // nibble 8..F: no class).
  k.number_lo = _mm256_setr_epi8(2, 2, 2, 2, 2, 6, 2, 2, 2, 2, 0, 1, 0, 1, 1, 0,  //
                                 2, 2, 2, 2, 2, 6, 2, 2, 2, 2, 0, 1, 0, 1, 1, 0);
  k.number_hi = _mm256_setr_epi8(0, 0, 1, 2, 4, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                 0, 0, 1, 2, 4, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  k.low_nibble = _mm256_set1_epi8(0x0F);
  if (opaque) {
    asm(""
        : "+x"(k.quote), "+x"(k.backslash), "+x"(k.space), "+x"(k.number_lo), "+x"(k.number_hi),
          "+x"(k.low_nibble));
  }
#else
  (void)opaque;
#endif
  return k;
}

// raw_json_token() runs up to the next structural character, so it may end in whitespace.
std::string_view trim_json_ws(std::string_view s) noexcept {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Offset of the first '"' or '\\' at or after p, a register at a time (the classic
// has-zero-byte test, exact for the lowest match, which is all we use). Over-reading is safe
// inside the padded buffer, and simdjson checked the string is closed.
std::size_t quote_or_backslash(const char* p) noexcept {
#ifdef __AVX2__
  const __m256i quote = _mm256_set1_epi8('"');
  const __m256i backslash = _mm256_set1_epi8('\\');
  for (std::size_t i = 0;; i += 32) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const auto hit = static_cast<std::uint32_t>(_mm256_movemask_epi8(
        _mm256_or_si256(_mm256_cmpeq_epi8(w, quote), _mm256_cmpeq_epi8(w, backslash))));
    if (hit != 0) return i + static_cast<std::size_t>(__builtin_ctz(hit));
  }
#else
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  for (std::size_t i = 0;; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    const std::uint64_t q = w ^ (kOnes * '"');
    const std::uint64_t b = w ^ (kOnes * '\\');
    const std::uint64_t hit = ((q - kOnes) & ~q & kHigh) | ((b - kOnes) & ~b & kHigh);
    if (hit != 0) return i + static_cast<std::size_t>(__builtin_ctzll(hit)) / 8;
  }
#endif
}

// Offset of the first byte at or after p that ends a plain JSON string: '"', '\\', a control
// character or any non-ASCII byte (signed compare: 0x80..0xFF are negative), or `limit - p`
// (at least) when there is none before `limit`. Reads whole registers up to 31 bytes past
// `limit`: callers keep `limit` at least that far inside a padded buffer.
inline std::size_t plain_string_stop(const char* p, const char* limit,
                                     const ScanConstants& k) noexcept {
  const auto room = static_cast<std::size_t>(limit - p);
#ifdef __AVX2__
  const __m256i quote = k.quote;
  const __m256i backslash = k.backslash;
  const __m256i space = k.space;
  for (std::size_t i = 0; i < room; i += 32) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i stop = _mm256_or_si256(
        _mm256_or_si256(_mm256_cmpeq_epi8(w, quote), _mm256_cmpeq_epi8(w, backslash)),
        _mm256_cmpgt_epi8(space, w));
    const auto hit = static_cast<std::uint32_t>(_mm256_movemask_epi8(stop));
    if (hit != 0) return i + static_cast<std::size_t>(__builtin_ctz(hit));
  }
#elif defined(__SSE2__)
  (void)k;
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  for (std::size_t i = 0; i < room; i += 16) {
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i stop =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, backslash)),
                     _mm_cmplt_epi8(w, space));
    const auto hit = static_cast<std::uint32_t>(_mm_movemask_epi8(stop));
    if (hit != 0) return i + static_cast<std::size_t>(__builtin_ctz(hit));
  }
#else
  (void)k;
  for (std::size_t i = 0; i < room; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) return i;
  }
#endif
  return room;
}

// Length of the run of bytes a JSON number token may hold (digits . - + e E; the builder's
// parsers judge the exact form) starting at p, a register at a time, or more than limit - p
// when the run goes on past limit. Reads whole registers up to 31 bytes past limit.
inline std::size_t number_run(const char* p, const char* limit, const ScanConstants& k) noexcept {
  const auto room = static_cast<std::size_t>(limit - p);
#if defined(__AVX2__)
  std::size_t i = 0;
  for (; i <= room; i += 32) {
    const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
    const __m256i lo = _mm256_shuffle_epi8(k.number_lo, _mm256_and_si256(w, k.low_nibble));
    const __m256i hi =
        _mm256_shuffle_epi8(k.number_hi, _mm256_and_si256(_mm256_srli_epi16(w, 4), k.low_nibble));
    const auto out = static_cast<std::uint32_t>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(lo, hi), _mm256_setzero_si256())));
    if (out != 0) return i + static_cast<std::size_t>(__builtin_ctz(out));
  }
#elif defined(__SSE2__)
  (void)k;
  const __m128i below_zero = _mm_set1_epi8('0' - 1);
  const __m128i above_nine = _mm_set1_epi8('9' + 1);
  const __m128i lower = _mm_set1_epi8(0x20);
  std::size_t i = 0;
  for (; i <= room; i += 16) {
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i digit =
        _mm_and_si128(_mm_cmpgt_epi8(w, below_zero), _mm_cmplt_epi8(w, above_nine));
    const __m128i sign =
        _mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('-')), _mm_cmpeq_epi8(w, _mm_set1_epi8('+')));
    const __m128i point_exp =
        _mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('.')),
                     _mm_cmpeq_epi8(_mm_or_si128(w, lower), _mm_set1_epi8('e')));
    const auto in = static_cast<std::uint32_t>(
        _mm_movemask_epi8(_mm_or_si128(digit, _mm_or_si128(sign, point_exp))));
    if (in != 0xFFFFu) return i + static_cast<std::size_t>(__builtin_ctz(~in));
  }
#else
  (void)k;
  std::size_t i = 0;
  for (; i <= room; ++i) {
    const char c = p[i];
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) {
      return i;
    }
  }
#endif
  return i;  // beyond room: no end at or before limit
}

// A DynamoDB attribute value: {"S": "…"}, {"N": "…"}, {"BOOL": true}, {"NULL": true}; the other
// descriptors (M, L, SS, NS, B, BS) hold nothing a vigil field can take.
error_code set_typed(od::value& v, std::uint8_t slot, Row& row) noexcept {
  od::object attr;
  if (const error_code e = v.get_object().get(attr)) {
    if (e != simdjson::INCORRECT_TYPE) return e;
    row.set(slot, {}, ValueKind::kOther);
    return SUCCESS;
  }
  row.set(slot, {}, ValueKind::kOther);
  for (auto member : attr) {
    // Work on the result in place: copying a field out of it costs a store-forwarding stall.
    if (const error_code e = member.error()) return e;
    const od::raw_json_string k = member.key().value_unsafe();
    od::value val = member.value().value_unsafe();
    if (k == "S" || k == "N") {
      std::string_view s;
      if (const error_code e = val.get_string().get(s)) {
        if (e != simdjson::INCORRECT_TYPE) return e;
        continue;  // stays kOther
      }
      row.set(slot, s, k == "S" ? ValueKind::kString : ValueKind::kNumber);
    } else if (k == "BOOL") {
      bool b = false;
      if (const error_code e = val.get_bool().get(b)) {
        if (e != simdjson::INCORRECT_TYPE) return e;
        continue;
      }
      row.set(slot, b ? "true" : "false", ValueKind::kBool);
    } else if (k == "NULL") {
      row.set(slot, {}, ValueKind::kNull);
    }
  }
  return SUCCESS;
}

// simdjson 3.0's document has no at_end(); current_location() is OUT_OF_BOUNDS exactly when
// every token was consumed, so anything else means bytes after the root value.
bool has_trailing_content(od::document& doc) noexcept {
  const char* loc = nullptr;
  return doc.current_location().get(loc) == SUCCESS;
}

}  // namespace

class Reader final : public JsonReader {
 public:
  Reader(const KeyTable& keys, const IngestLimits& limits);

  bool read_flat(const char* data, std::size_t len, std::size_t capacity, Row& row,
                 RecordBuilder& builder) override;
  const char* read_flat_prefix(const char* data, const char* limit, Row& row,
                               RecordBuilder& builder) override {
    row.clear();
    return fast_path_ ? flat_object_fast(data, limit, row, builder) : nullptr;
  }
  bool read_cdc(const char* data, std::size_t len, std::size_t capacity, CdcHandler& handler,
                RecordBuilder& builder) override;
  std::uint64_t raw_checksum(const char* data, std::size_t len, std::size_t& docs,
                             bool threaded) override;
  JsonArch arch() const noexcept override { return VIGIL_INGEST_ARCH_ENUM; }
  void set_fast_path(bool on) noexcept override { fast_path_ = on; }

 private:
  bool read_flat_fast(const char* data, std::size_t len, Row& row, RecordBuilder& builder);
  const char* flat_object_fast(const char* data, const char* limit, Row& row,
                               RecordBuilder& builder);
  bool json_error(simdjson::error_code e, std::string_view where, const char* data, std::size_t len,
                  RecordBuilder& builder);
  template <bool kTyped>
  simdjson::error_code fill(simdjson::ondemand::object obj, Row& row, RecordBuilder& builder,
                            bool& limit_hit);
  // What an envelope object (and its payload / dynamodb members) said.
  struct EnvelopeScan {
    std::string_view event_name;  // DynamoDB
    std::string_view op;          // Debezium
    bool dynamodb = false;
    bool debezium = false;
    bool records = false;  // a Lambda {"Records": [...]} batch was handled
    bool tombstone = false;
  };
  simdjson::error_code scan_envelope(simdjson::ondemand::object o, EnvelopeScan& scan, bool& ok,
                                     int depth, CdcHandler& handler, RecordBuilder& builder);
  bool finish_cdc(CdcRecord& rec, const EnvelopeScan& scan, bool ok, CdcHandler& handler,
                  RecordBuilder& builder);
  void reset_cdc(std::size_t index, bool in_batch) noexcept;
  std::string_view key_of(simdjson::simdjson_result<simdjson::ondemand::field>& f);
  simdjson::error_code string_of(simdjson::ondemand::value& v, std::string_view& out) noexcept;
  simdjson::error_code set_plain(simdjson::ondemand::value& v, std::uint8_t slot,
                                 Row& row) noexcept;

  // The key last seen at one member position of an object, zero-padded to three words with
  // the masks that cut a loaded key to its length.
  struct KeyGuess {
    std::uint64_t words[3] = {};
    std::uint64_t masks[3] = {};
    std::uint8_t len = 0;  // 0: no guess
    std::uint8_t slot = kSlotNone;
    bool plain = false;  // a guess made of bytes plain_string_stop passes (fast path may use it)
    // The plain key, its closing quote and a colon, zero-padded, and the mask of those bytes:
    // the fast path checks a key and what follows it with one register compare (0: none).
    std::uint32_t pattern_mask = 0;
    char pattern[32] = {};

    bool matches(const char* p) const noexcept {
      std::uint64_t w[3];
      std::memcpy(w, p, sizeof w);  // inside the padded record
      return ((w[0] & masks[0]) ^ words[0]) == 0 && ((w[1] & masks[1]) ^ words[1]) == 0 &&
             ((w[2] & masks[2]) ^ words[2]) == 0 && p[len] == '"';
    }
    void learn(std::string_view key, std::uint8_t s) noexcept {
      len = 0;
      plain = false;
      pattern_mask = 0;
      if (key.empty() || key.size() > sizeof words) return;
      plain = true;
      for (const char c : key) {
        const auto u = static_cast<unsigned char>(c);
        plain = plain && u >= 0x20 && u < 0x80 && c != '"' && c != '\\';
      }
      unsigned char bytes[sizeof words] = {}, mask[sizeof words] = {};
      std::memcpy(bytes, key.data(), key.size());
      std::memset(mask, 0xFF, key.size());
      std::memcpy(words, bytes, sizeof words);
      std::memcpy(masks, mask, sizeof masks);
      len = static_cast<std::uint8_t>(key.size());
      slot = s;
      if (plain) {  // key.size() <= 24: the key, its quote and the colon fit the pattern
        std::memset(pattern, 0, sizeof pattern);
        std::memcpy(pattern, key.data(), key.size());
        pattern[key.size()] = '"';
        pattern[key.size() + 1] = ':';
        pattern_mask = static_cast<std::uint32_t>((std::uint64_t{1} << (key.size() + 2)) - 1);
      }
    }
  };
  static constexpr std::size_t kGuesses = 64;
  std::array<std::array<KeyGuess, kGuesses>, 2> guesses_{};  // plain objects, DynamoDB images
  std::unique_ptr<std::uint8_t[]> unescaped_;
  std::size_t unescaped_used_ = 0;

  simdjson::ondemand::parser parser_;
  simdjson::ondemand::parser raw_parser_;  // raw_checksum only (iterate_many sizes it itself)
  const KeyTable& keys_;
  const IngestLimits& limits_;
  CdcRecord cdc_;
  std::size_t fields_ = 0;  // members seen in the current record (limit check)
  bool limit_hit_ = false;
  bool key_escaped_ = false;  // the last key_of() had escapes (its view is not padded)
  bool fast_path_ = true;
};

Reader::Reader(const KeyTable& keys, const IngestLimits& limits)
    : unescaped_(new std::uint8_t[2 * (limits.max_record_bytes + kJsonPadding)]),
      keys_(keys),
      limits_(limits) {
  // Size the parser for the largest record up front: no allocation once records flow.
  if (parser_.allocate(limits.max_record_bytes + kJsonPadding) != SUCCESS) {
    // Not fatal: iterate() retries the allocation and reports MEMALLOC as a reject.
  }
}

std::string_view Reader::key_of(simdjson::simdjson_result<od::field>& f) {
  // The raw key runs to the first unescaped quote (simdjson checked it is closed).
  const char* p = f.key().value_unsafe().raw();
  const std::size_t at = quote_or_backslash(p);
  if (p[at] == '"') {
    key_escaped_ = false;
    return {p, at};
  }
  // An escape: let simdjson unescape the key (rare).
  key_escaped_ = true;
  std::string_view k;
  if (f.unescaped_key().get(k)) return {};  // key() does not consume; this may follow it
  return k;
}

bool Reader::json_error(error_code e, std::string_view where, const char* data, std::size_t len,
                        RecordBuilder& builder) {
  if (e == simdjson::UTF8_ERROR) {
    return builder.fail(RejectKind::kInvalidUtf8, "",
                        absl::StrFormat("invalid UTF-8 at byte %u of the record",
                                        first_invalid_utf8(std::string_view(data, len))));
  }
  if (e == simdjson::MEMALLOC || e == simdjson::CAPACITY) {
    return builder.fail(RejectKind::kTooLarge, "",
                        absl::StrFormat("record of %u bytes does not fit the parser", len));
  }
  return builder.fail(RejectKind::kMalformed, "",
                      absl::StrFormat("malformed JSON%s: %s", where, simdjson::error_message(e)));
}

template <bool kTyped>
error_code Reader::fill(od::object obj, Row& row, RecordBuilder& builder, bool& limit_hit) {
  KeyGuess* const guesses = guesses_[kTyped ? 1 : 0].data();
  std::size_t index = 0;
  for (auto member : obj) {
    // Work on the result in place: copying a field out of it costs a store-forwarding stall.
    if (const error_code e = member.error()) return e;
    if (++fields_ > limits_.max_fields) {
      limit_hit = true;
      builder.fail(RejectKind::kTooLarge, "",
                   absl::StrFormat("record has more than %u fields", limits_.max_fields));
      return SUCCESS;
    }
    // Records of one stream nearly always list their members in the same order: try the key
    // seen at this position last time (three masked words and the closing quote) before
    // scanning and hashing it. A match is exact: the guessed key holds no quote or backslash.
    const char* raw = member.key().value_unsafe().raw();
    std::uint8_t slot;
    KeyGuess* const g = index < kGuesses ? &guesses[index] : nullptr;
    ++index;
    if (g != nullptr && g->len != 0 && g->matches(raw)) {
      slot = g->slot;
    } else {
      const std::string_view key = key_of(member);
      slot = key_escaped_ ? keys_.find(key) : keys_.find_padded(key);
      if (g != nullptr) g->learn(key_escaped_ ? std::string_view() : key, slot);
    }
    if (slot == kSlotNone) continue;  // unknown member: the iterator skips its value
    od::value v = member.value().value_unsafe();
    if (const error_code e = kTyped ? set_typed(v, slot, row) : set_plain(v, slot, row)) return e;
    prefetch_for(slot, row[slot].text, row, builder);
  }
  return SUCCESS;
}

// A JSON string value as a view: in place when it has no escape (the common case: no copy),
// else unescaped by simdjson into unescaped_ (sized for a whole record, reset per record).
simdjson_inline error_code Reader::string_of(od::value& v, std::string_view& out) noexcept {
  od::raw_json_string r;
  if (const error_code e = v.get_raw_json_string().get(r)) return e;
  const char* p = r.raw();
  const std::size_t n = quote_or_backslash(p);
  if (p[n] == '"') {
    out = std::string_view(p, n);
    return SUCCESS;
  }
  std::uint8_t* dst = unescaped_.get() + unescaped_used_;
  if (const error_code e = parser_.unescape(r, dst).get(out)) return e;
  unescaped_used_ = static_cast<std::size_t>(dst - unescaped_.get());
  return SUCCESS;
}

// Reads a plain JSON value into `row[slot]`. Objects and arrays are recorded as kOther (and
// skipped by the iterator), so a type error names the field instead of failing the parse.
simdjson_inline error_code Reader::set_plain(od::value& v, std::uint8_t slot, Row& row) noexcept {
  od::json_type t;
  if (const error_code e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::string: {
      std::string_view s;
      if (const error_code e = string_of(v, s)) return e;
      row.set(slot, s, ValueKind::kString);
      return SUCCESS;
    }
    case od::json_type::number:
      row.set(slot, trim_json_ws(v.raw_json_token()), ValueKind::kNumber);
      return SUCCESS;
    case od::json_type::boolean: {
      bool b = false;
      if (const error_code e = v.get_bool().get(b)) return e;
      row.set(slot, b ? "true" : "false", ValueKind::kBool);
      return SUCCESS;
    }
    case od::json_type::null: {
      bool is_null = false;
      if (const error_code e = v.is_null().get(is_null)) return e;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      row.set(slot, {}, ValueKind::kNull);
      return SUCCESS;
    }
    default: row.set(slot, {}, ValueKind::kOther); return SUCCESS;
  }
}

// The common record, read without simdjson: one flat object, no whitespace, keys and strings of
// printable ASCII without escapes, values that are strings, number tokens, true, false or null.
// Every byte is checked on the way (structure by hand, strings by plain_string_stop, numbers
// and atoms byte by byte), so a record it accepts is one simdjson accepts, and the Row it
// fills is the one fill<false> would fill (same views in place, same kinds, later duplicates
// win, unknown members skipped). Anything else returns false untouched by side effects that
// matter (the row is cleared again and the key guesses are only hints), and the general path
// reads the record, so rejections keep their one source.
//
// flat_object_fast reads such an object from its '{' at `data` without knowing where it ends:
// it returns the closing brace, or nullptr. The object must close at or before `limit` (bytes
// up to limit + 31 are read); read_flat_fast puts `limit` on the record's last byte, so the
// object must close exactly there.
bool Reader::read_flat_fast(const char* data, std::size_t len, Row& row, RecordBuilder& builder) {
  if (len < 2 || data[len - 1] != '}') return false;
  const char* const last = data + len - 1;  // the closing brace
  return flat_object_fast(data, last, row, builder) == last;
}

const char* Reader::flat_object_fast(const char* data, const char* limit, Row& row,
                                     RecordBuilder& builder) {
  if (data >= limit || data[0] != '{') return nullptr;
  const char* const last = limit;
  const char* p = data + 1;
  const ScanConstants k = scan_constants(/*opaque=*/true);
  KeyGuess* const guesses = guesses_[0].data();
  // A local: the row's stores (size_t members of string_views) could alias the limit.
  const std::size_t max_fields = limits_.max_fields;
  std::size_t index = 0;
  while (true) {
    // Keys and values start before `last` (where read_flat_fast has the closing brace), so no
    // scan ever starts past it.
    if (p >= last || *p != '"') return nullptr;  // also rejects "{}": the general path takes it
    ++p;
    if (++index > max_fields) return nullptr;
    std::uint8_t slot;
    std::size_t n;
    KeyGuess* const g = index <= kGuesses ? &guesses[index - 1] : nullptr;
#if defined(__AVX2__)
    // A plain guess whose pattern (the key, its closing quote and the colon) matches, quote
    // inside the record, is the whole key, as plain_string_stop would have found it.
    const auto pattern_hit = [](const KeyGuess& k, const char* at) noexcept {
      const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
      const __m256i want = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k.pattern));
      const auto eq = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(w, want)));
      return (eq & k.pattern_mask) == k.pattern_mask;
    };
    if (g != nullptr && g->pattern_mask != 0 && pattern_hit(*g, p) && p + g->len < last) {
      slot = g->slot;
      p += g->len + 2;  // the colon was matched too (it is not the closing brace: before it)
    } else
#endif
    {
#if !defined(__AVX2__)
      // A plain guess that matches up to a closing quote inside the record is the whole key.
      if (g != nullptr && g->plain && g->matches(p) && p + g->len < last) {
        slot = g->slot;
        n = g->len;
      } else
#endif
      {
        n = plain_string_stop(p, last, k);
        if (p + n >= last || p[n] != '"') return nullptr;
        const std::string_view key(p, n);
        slot = keys_.find_padded(key);
        if (g != nullptr) g->learn(key, slot);
      }
      p += n + 1;
      if (*p != ':') return nullptr;
      ++p;
    }
    if (p >= last) return nullptr;
    const char c = *p;
    if (c == '"') {
      ++p;
      n = plain_string_stop(p, last, k);
      if (p + n >= last || p[n] != '"') return nullptr;
      if (slot != kSlotNone) {
        const std::string_view text(p, n);
        row.set(slot, text, ValueKind::kString);
        prefetch_for(slot, text, row, builder);
      }
      p += n + 1;
    } else if ((c >= '0' && c <= '9') || c == '-') {
      const char* const begin = p;
      p += number_run(p, last, k);  // past `last`: no close in time, refused below
      if (slot != kSlotNone) {
        const std::string_view text(begin, static_cast<std::size_t>(p - begin));
        row.set(slot, text, ValueKind::kNumber);
        if (slot == kCardSlot) builder.prefetch_card(text);
      }
    } else if (c == 't' && std::memcmp(p, "true", 4) == 0) {
      if (slot != kSlotNone) row.set(slot, "true", ValueKind::kBool);
      p += 4;
    } else if (c == 'f' && std::memcmp(p, "false", 5) == 0) {
      if (slot != kSlotNone) row.set(slot, "false", ValueKind::kBool);
      p += 5;
    } else if (c == 'n' && std::memcmp(p, "null", 4) == 0) {
      if (slot != kSlotNone) row.set(slot, {}, ValueKind::kNull);
      p += 4;
    } else {
      return nullptr;
    }
    if (p > last) return nullptr;  // a number or atom ran past `last`
    if (*p == ',') {
      ++p;
      continue;
    }
    return *p == '}' ? p : nullptr;
  }
}

bool Reader::read_flat(const char* data, std::size_t len, std::size_t capacity, Row& row,
                       RecordBuilder& builder) {
  row.clear();
  if (fast_path_ && read_flat_fast(data, len, row, builder)) return true;
  row.clear();
  fields_ = 0;
  unescaped_used_ = 0;
  od::document doc;
  if (const error_code e = parser_.iterate(data, len, capacity).get(doc)) {
    return json_error(e, "", data, len, builder);
  }
  od::object obj;
  if (const error_code e = doc.get_object().get(obj)) {
    if (e == simdjson::INCORRECT_TYPE) {
      return builder.fail(RejectKind::kMalformed, "", "record is not a JSON object");
    }
    return json_error(e, "", data, len, builder);
  }
  bool limit_hit = false;
  if (const error_code e = fill<false>(obj, row, builder, limit_hit)) {
    return json_error(e, "", data, len, builder);
  }
  if (limit_hit) return false;
  if (has_trailing_content(doc)) {
    return builder.fail(RejectKind::kMalformed, "", "malformed JSON: content after the object");
  }
  return true;
}

bool Reader::finish_cdc(CdcRecord& rec, const EnvelopeScan& scan, bool ok, CdcHandler& handler,
                        RecordBuilder& builder) {
  if (!ok) {
    handler.on_cdc(rec, false, builder);
    return false;
  }
  if (scan.dynamodb || !scan.event_name.empty()) {
    if (scan.event_name == "INSERT") {
      rec.op = CdcRecord::Op::kInsert;
    } else if (scan.event_name == "MODIFY") {
      rec.op = CdcRecord::Op::kUpdate;
    } else if (scan.event_name == "REMOVE") {
      rec.op = CdcRecord::Op::kDelete;
    } else {
      builder.fail(RejectKind::kUnsupported, "eventName",
                   absl::StrFormat("DynamoDB eventName %s is not INSERT, MODIFY or REMOVE",
                                   quote(scan.event_name)));
      handler.on_cdc(rec, false, builder);
      return false;
    }
  } else if (scan.debezium) {
    if (scan.tombstone) {
      rec.op = CdcRecord::Op::kIgnore;
    } else if (scan.op == "c" || scan.op == "r") {
      rec.op = CdcRecord::Op::kInsert;  // r: snapshot read of an existing row
    } else if (scan.op == "u") {
      rec.op = CdcRecord::Op::kUpdate;
    } else if (scan.op == "d") {
      rec.op = CdcRecord::Op::kDelete;
    } else if (scan.op == "t" || scan.op == "m") {
      rec.op = CdcRecord::Op::kIgnore;  // truncate / logical message: no row
    } else {
      builder.fail(RejectKind::kUnsupported, "op",
                   scan.op.empty() ? std::string("Debezium event without op")
                                   : absl::StrFormat("Debezium op %s is not c, u, d, r, t or m",
                                                     quote(scan.op)));
      handler.on_cdc(rec, false, builder);
      return false;
    }
  } else {
    builder.fail(RejectKind::kUnsupported, "",
                 "not a CDC envelope: expected DynamoDB eventName/dynamodb or Debezium "
                 "op/before/after (optionally inside payload)");
    handler.on_cdc(rec, false, builder);
    return false;
  }
  handler.on_cdc(rec, true, builder);
  return true;
}

void Reader::reset_cdc(std::size_t index, bool in_batch) noexcept {
  cdc_.op = CdcRecord::Op::kIgnore;
  cdc_.now.clear();
  cdc_.before.clear();
  cdc_.has_now = cdc_.has_before = false;
  cdc_.time.reset();
  cdc_.index = index;
  cdc_.in_batch = in_batch;
  fields_ = 0;
}

// Reads the members of an envelope-level object into cdc_ / scan in one forward pass (members
// may come in any order: Debezium puts "op" after "before"/"after"). Recursive for the
// Debezium "payload" wrapper, the DynamoDB "dynamodb" member and the Lambda "Records" array.
// Returns a simdjson error for syntax problems; sets ok = false for semantic ones.
error_code Reader::scan_envelope(od::object o, EnvelopeScan& scan, bool& ok, int depth,
                                 CdcHandler& handler, RecordBuilder& builder) {
  CdcRecord& rec = cdc_;
  for (auto member : o) {
    if (const error_code e = member.error()) return e;
    if (++fields_ > limits_.max_fields) {
      limit_hit_ = true;
      builder.fail(RejectKind::kTooLarge, "",
                   absl::StrFormat("record has more than %u fields", limits_.max_fields));
      return SUCCESS;
    }
    const std::string_view key = key_of(member);
    od::value v = member.value().value_unsafe();
    if (!ok) continue;
    if (key == "eventName") {
      if (v.get_string().get(scan.event_name)) {
        ok = builder.fail(RejectKind::kWrongType, "eventName", "eventName: expected a string");
      }
    } else if (key == "op") {
      scan.debezium = true;
      if (v.get_string().get(scan.op)) {
        ok = builder.fail(RejectKind::kWrongType, "op", "op: expected a string");
      }
    } else if (key == "before" || key == "after" || key == "NewImage" || key == "OldImage") {
      const bool typed = key[0] == 'N' || key[0] == 'O';
      const bool is_new = key == "after" || key == "NewImage";
      if (!typed) scan.debezium = true;
      Row& row = is_new ? rec.now : rec.before;
      od::json_type t;
      if (const error_code e = v.type().get(t)) return e;
      if (t == od::json_type::null) continue;  // e.g. "before" of an insert
      od::object image;
      if (const error_code e = v.get_object().get(image)) {
        if (e != simdjson::INCORRECT_TYPE) return e;
        ok = builder.fail(RejectKind::kWrongType, key,
                          absl::StrFormat("%s: expected an object", key));
        continue;
      }
      row.clear();
      (is_new ? rec.has_now : rec.has_before) = true;
      const error_code e = typed ? fill<true>(image, row, builder, limit_hit_)
                                 : fill<false>(image, row, builder, limit_hit_);
      if (e) return e;
      if (limit_hit_) return SUCCESS;
    } else if (key == "ts_ms" || key == "ApproximateCreationDateTime") {
      std::string_view text;
      od::json_type t;
      if (const error_code e = v.type().get(t)) return e;
      if (t == od::json_type::number) {
        text = trim_json_ws(v.raw_json_token());
      } else if (t != od::json_type::string || v.get_string().get(text)) {
        ok = builder.fail(RejectKind::kWrongType, key,
                          absl::StrFormat("%s: expected a number", key));
        continue;
      }
      Micros when = 0;
      const NumError ne =
          key == "ts_ms" ? parse_scaled(text, 3, INT64_MAX / 2, when) : parse_epoch(text, when);
      if (ne != NumError::kOk) {
        ok = builder.fail(
            ne == NumError::kNotNumber ? RejectKind::kWrongType : RejectKind::kOutOfRange, key,
            absl::StrFormat("%s: not a valid time: %s", key, quote(text)));
        continue;
      }
      rec.time = when;
    } else if ((key == "dynamodb" && depth < 2) || (key == "payload" && depth == 0)) {
      const bool payload = key[0] == 'p';
      (payload ? scan.debezium : scan.dynamodb) = true;
      od::json_type t;
      if (const error_code e = v.type().get(t)) return e;
      if (payload && t == od::json_type::null) {
        scan.tombstone = true;
        continue;
      }
      od::object inner;
      if (const error_code e = v.get_object().get(inner)) {
        if (e != simdjson::INCORRECT_TYPE) return e;
        ok = builder.fail(RejectKind::kWrongType, key,
                          absl::StrFormat("%s: expected an object", key));
        continue;
      }
      if (const error_code e = scan_envelope(inner, scan, ok, depth + 1, handler, builder)) {
        return e;
      }
      if (limit_hit_) return SUCCESS;
    } else if (key == "Records" && depth == 0) {
      scan.records = true;
      od::array arr;
      if (const error_code e = v.get_array().get(arr)) {
        if (e != simdjson::INCORRECT_TYPE) return e;
        ok = builder.fail(RejectKind::kWrongType, key, "Records: expected an array");
        continue;
      }
      std::size_t index = 0;
      for (auto element : arr) {
        reset_cdc(index++, true);
        od::object item;
        if (const error_code e = element.get_object().get(item)) {
          if (e != simdjson::INCORRECT_TYPE) return e;
          builder.fail(RejectKind::kMalformed, "", "Records element is not an object");
          handler.on_cdc(rec, false, builder);
          continue;
        }
        EnvelopeScan sub_scan;
        bool sub_ok = true;
        if (const error_code e = scan_envelope(item, sub_scan, sub_ok, 1, handler, builder)) {
          return e;
        }
        if (limit_hit_) return SUCCESS;
        finish_cdc(rec, sub_scan, sub_ok, handler, builder);
      }
    }
  }
  return SUCCESS;
}

bool Reader::read_cdc(const char* data, std::size_t len, std::size_t capacity, CdcHandler& handler,
                      RecordBuilder& builder) {
  reset_cdc(0, false);
  limit_hit_ = false;
  unescaped_used_ = 0;
  od::document doc;
  if (const error_code e = parser_.iterate(data, len, capacity).get(doc)) {
    return json_error(e, "", data, len, builder);
  }
  // A Kafka tombstone (null value) written out as a line: nothing to do.
  bool is_null = false;
  if (!doc.is_null().get(is_null) && is_null) {
    handler.on_cdc(cdc_, true, builder);
    return true;
  }
  od::object obj;
  if (const error_code e = doc.get_object().get(obj)) {
    if (e == simdjson::INCORRECT_TYPE) {
      return builder.fail(RejectKind::kMalformed, "", "record is not a JSON object");
    }
    return json_error(e, "", data, len, builder);
  }
  EnvelopeScan scan;
  bool ok = true;
  if (const error_code e = scan_envelope(obj, scan, ok, 0, handler, builder)) {
    return json_error(e, "", data, len, builder);
  }
  if (limit_hit_) return false;
  if (has_trailing_content(doc)) {
    return builder.fail(RejectKind::kMalformed, "", "malformed JSON: content after the object");
  }
  if (scan.records) return true;  // the batch's records were delivered one by one
  finish_cdc(cdc_, scan, ok, handler, builder);
  return true;
}

std::uint64_t Reader::raw_checksum(const char* data, std::size_t len, std::size_t& docs,
                                   bool threaded) {
  std::uint64_t sum = 0;
  docs = 0;
#ifdef SIMDJSON_THREADS_ENABLED
  raw_parser_.threaded = threaded;
#else
  (void)threaded;
#endif
  od::document_stream stream;
  if (raw_parser_.iterate_many(reinterpret_cast<const std::uint8_t*>(data), len).get(stream)) {
    return 0;
  }
  for (auto doc : stream) {
    od::object obj;
    if (doc.get_object().get(obj)) continue;
    ++docs;
    for (auto field : obj) {
      od::value v = field.value();
      od::json_type t;
      if (v.type().get(t)) break;
      switch (t) {
        case od::json_type::string: {
          std::string_view s;
          if (!v.get_string().get(s)) sum += s.size() + (s.empty() ? 0 : s[0]);
          break;
        }
        case od::json_type::number: {
          double d = 0;
          if (!v.get_double().get(d)) {
            std::uint64_t bits = 0;
            std::memcpy(&bits, &d, sizeof bits);
            sum += bits;
          }
          break;
        }
        case od::json_type::boolean: {
          bool b = false;
          if (!v.get_bool().get(b)) sum += b;
          break;
        }
        default: break;
      }
    }
  }
  return sum;
}

std::unique_ptr<JsonReader> make_reader(const KeyTable& keys, const IngestLimits& limits) {
  return std::unique_ptr<JsonReader>(new (std::nothrow) Reader(keys, limits));
}

}  // namespace vigil::ingest::VIGIL_INGEST_ARCH
