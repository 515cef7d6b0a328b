// The Ingestor: record framing over arbitrary chunks, format dispatch, and delivery in stream
// order. Records that lie wholly inside a chunk are parsed in place; only a record split across
// feed() calls is copied, into one preallocated carry buffer, so after warm-up nothing is
// allocated per record.
#include "vigil/ingest.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <new>

#include "absl/strings/str_format.h"
#include "ingest/builder.h"
#include "ingest/csv.h"
#include "ingest/json_reader.h"
#include "ingest/row.h"
#include "ingest/values.h"

namespace vigil {

std::string_view format_name(Format f) noexcept {
  switch (f) {
    case Format::kNdjson: return "ndjson";
    case Format::kCsv: return "csv";
    case Format::kCdc: return "cdc";
  }
  return "ndjson";
}

std::optional<Format> format_from_name(std::string_view name) noexcept {
  if (name == "ndjson" || name == "jsonl") return Format::kNdjson;
  if (name == "csv") return Format::kCsv;
  if (name == "cdc") return Format::kCdc;
  return std::nullopt;
}

std::string_view reject_kind_name(RejectKind k) noexcept {
  switch (k) {
    case RejectKind::kMalformed: return "malformed";
    case RejectKind::kMissingField: return "missing_field";
    case RejectKind::kWrongType: return "wrong_type";
    case RejectKind::kOutOfRange: return "out_of_range";
    case RejectKind::kTooLarge: return "too_large";
    case RejectKind::kInvalidUtf8: return "invalid_utf8";
    case RejectKind::kUnsupported: return "unsupported";
  }
  return "malformed";
}

namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// True when `line` holds `"key"` followed by optional blanks and a colon: a member name.
bool has_member(std::string_view line, std::string_view quoted_key) noexcept {
  for (std::size_t at = line.find(quoted_key); at != std::string_view::npos;
       at = line.find(quoted_key, at + 1)) {
    std::size_t i = at + quoted_key.size();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == ':') return true;
  }
  return false;
}

}  // namespace

std::optional<Format> detect_format(std::string_view prefix) noexcept {
  if (prefix.starts_with(kBom)) prefix.remove_prefix(kBom.size());
  const std::size_t start = prefix.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return std::nullopt;
  std::string_view line = prefix.substr(start);
  line = line.substr(0, line.find('\n'));
  if (line[0] == '{') {
    for (const std::string_view key :
         {"\"eventName\"", "\"dynamodb\"", "\"Records\"", "\"payload\"", "\"op\""}) {
      if (has_member(line, key)) return Format::kCdc;
    }
    return Format::kNdjson;
  }
  if (line[0] == '[') return std::nullopt;
  if (line.find(',') != std::string_view::npos) return Format::kCsv;
  // A header separated by '|' (the original Sparkov generator), tabs or ';'.
  for (const char d : {'|', '\t', ';'}) {
    if (std::count(line.begin(), line.end(), d) >= 2) return Format::kCsv;
  }
  return std::nullopt;
}

Schema::Schema() {
  names_.reserve(kFieldCount);
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const auto f = static_cast<Field>(i);
    names_.emplace_back(std::string(field_name(f)), f);
  }
}

Schema& Schema::alias(std::string_view name, Field field) {
  names_.emplace_back(std::string(name), field);
  return *this;
}

struct Ingestor::Impl final : ingest::CdcHandler {
  Impl(IngestOptions o, Dictionary& d, IngestSink& s)
      : options(std::move(o)),
        dict(d),
        sink(s),
        keys(options.schema),
        builder(dict, options.limits, keys),
        batch(options.batch_capacity),
        carry_capacity(options.limits.max_record_bytes + 2),
        buffer(new char[carry_capacity + ingest::kJsonPadding]) {
    if (options.format != Format::kCsv) {
      json = ingest::make_json_reader(ingest::default_json_arch(), keys, options.limits);
      if (json == nullptr) throw std::bad_alloc();
    }
    scratch.reserve(1024);
    fields.reserve(64);
  }

  Status feed(std::string_view chunk);
  Status finish();

  // Framing ------------------------------------------------------------------------------
  const char* find_end(const char* p, const char* end) noexcept {
    if (options.format == Format::kCsv) return csv.scan(p, end);
    return static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  }
  void carry_append(const char* p, std::size_t n) noexcept {
    if (n == 0) return;
    carry_total += n;
    const std::size_t room = carry_capacity - carry_len;
    const std::size_t take = std::min(room, n);
    std::memcpy(buffer.get() + carry_len, p, take);
    carry_len += take;
    carry_last = p[n - 1];
  }
  // `data` holds the record's first min(total, carry_capacity) bytes; `readable` bytes from
  // `data` on may be read (for simdjson's padding).
  void record(const char* data, std::uint64_t total, char last, std::size_t readable);
  void end_line() noexcept {
    line += 1 + (options.format == Format::kCsv ? csv.take_newlines() : 0);
  }

  // NDJSON: a plain flat record read before its line is framed. The fast path accepts no raw
  // line break, so when its closing brace is followed by one ("\n" or "\r\n") the record is
  // exactly what framing, record() and json_record() would have handed it, and it is delivered
  // as they would; the line's memchr and the calls between are saved. Anything else (the
  // fast path refuses, no line break, a record near the chunk's end, over the size limit, the
  // stream's first record, which may open with a BOM) returns false and takes the usual way.
  bool flat_shortcut(const char*& p, const char* end) {
    if (options.format != Format::kNdjson || rec_offset == 0 ||
        static_cast<std::size_t>(end - p) <= 2 * ingest::kJsonPadding) {
      return false;
    }
    const char* const close = json->read_flat_prefix(p, end - ingest::kJsonPadding, row, builder);
    if (close == nullptr) return false;
    const auto len = static_cast<std::size_t>(close + 1 - p);
    const char* nl = close + 1;
    if (*nl == '\r') ++nl;
    if (*nl != '\n' || len > options.limits.max_record_bytes) return false;
    ++stats.records;
    current = std::string_view(p, len);
    deliver_row(row);
    end_line();
    pos += static_cast<std::uint64_t>(nl - p) + 1;
    p = nl + 1;
    return true;
  }

  // Formats ------------------------------------------------------------------------------
  void json_record(const char* data, std::size_t len, std::size_t readable);
  const char* canonical_copy(const char* data, std::size_t len) noexcept;
  void csv_record(std::string_view rec);
  void deliver_row(const ingest::Row& row);
  void on_cdc(ingest::CdcRecord& rec, bool ok, ingest::RecordBuilder& b) override;

  // Delivery -----------------------------------------------------------------------------
  void flush() {
    if (batch.empty()) return;
    ++stats.batches;
    sink.on_batch(batch);
    builder.dictionary_may_have_changed();
    batch.clear();
  }
  // Builds a transaction from `r` straight into the batch's next row (the batch is never full
  // here: a full one is flushed at once) and commits it; false (error set) when rejected.
  bool push(ingest::RecordBuilder& b, const ingest::Row& r) {
    if (!b.transaction(r, batch)) return false;
    batch.set_size(batch.size() + 1);
    ++stats.transactions;
    if (batch.full()) flush();
    return true;
  }
  void reject(RejectKind kind, std::string_view field, std::string_view reason) {
    ++stats.rejected;
    ++stats.rejected_by[static_cast<std::size_t>(kind)];
    rejected.offset = rec_offset;
    rejected.line = rec_line;
    rejected.field.assign(field);
    rejected.reason.assign(reason);
    rejected.record = current.substr(0, options.limits.max_record_bytes);
    sink.on_reject(rejected);
    builder.dictionary_may_have_changed();
  }
  void emit(const StatusChange& s) {
    flush();
    ++stats.status_changes;
    sink.on_status(s);
    builder.dictionary_may_have_changed();
  }
  void emit(const FlagChange& f) {
    flush();
    ++stats.flags;
    sink.on_flag(f);
    builder.dictionary_may_have_changed();
  }
  void reject_from_builder(std::string_view prefix = {}) {
    const ingest::RecordError& e = builder.error();
    if (prefix.empty()) {
      reject(e.kind, e.field, e.reason);
    } else {
      std::string reason(prefix);
      reason += e.reason;
      reject(e.kind, e.field, reason);
    }
  }

  IngestOptions options;
  Dictionary& dict;
  IngestSink& sink;
  ingest::KeyTable keys;
  ingest::RecordBuilder builder;
  std::unique_ptr<ingest::JsonReader> json;
  TransactionBatch batch;
  IngestStats stats;
  ingest::Row row;
  StatusChange status;
  FlagChange flag;
  Rejected rejected;

  // Carry buffer for a record split across feed() calls; also the padded copy of a record too
  // close to its chunk's end for simdjson to read in place.
  std::size_t carry_capacity;
  std::unique_ptr<char[]> buffer;
  std::size_t carry_len = 0;
  std::uint64_t carry_total = 0;
  char carry_last = 0;
  bool carrying = false;

  std::uint64_t pos = 0;         // stream offset of the next unread byte
  std::uint64_t line = 1;        // line of the next record
  std::uint64_t rec_offset = 0;  // of the record being processed
  std::uint64_t rec_line = 1;
  std::string_view current;  // the record being processed (for rejects)

  ingest::CsvFramer csv;
  bool have_header = false;
  char delimiter = ',';
  std::vector<std::uint8_t> columns;  // CSV column → slot
  std::vector<std::string_view> fields;
  std::string scratch;

  Status failed;
};

Status Ingestor::Impl::feed(std::string_view chunk) {
  builder.dictionary_may_have_changed();
  const char* p = chunk.data();
  const char* const end = p + chunk.size();
  stats.bytes += chunk.size();
  while (p < end) {
    if (carrying) {
      const char* nl = find_end(p, end);
      const char* stop = nl != nullptr ? nl : end;
      carry_append(p, static_cast<std::size_t>(stop - p));
      pos += static_cast<std::uint64_t>(stop - p);
      if (nl == nullptr) break;
      p = nl + 1;
      ++pos;
      carrying = false;
      record(buffer.get(), carry_total, carry_last, carry_capacity + ingest::kJsonPadding);
      end_line();
      continue;
    }
    rec_offset = pos;
    rec_line = line;
    if (flat_shortcut(p, end)) continue;
    const char* nl = find_end(p, end);
    if (nl == nullptr) {
      carrying = true;
      carry_len = 0;
      carry_total = 0;
      carry_append(p, static_cast<std::size_t>(end - p));
      pos += static_cast<std::uint64_t>(end - p);
      break;
    }
    const auto len = static_cast<std::size_t>(nl - p);
    record(p, len, len > 0 ? nl[-1] : '\0', static_cast<std::size_t>(end - p));
    end_line();
    pos += len + 1;
    p = nl + 1;
  }
  return {};
}

Status Ingestor::Impl::finish() {
  builder.dictionary_may_have_changed();
  if (carrying) {
    carrying = false;
    record(buffer.get(), carry_total, carry_last, carry_capacity + ingest::kJsonPadding);
  }
  flush();
  pos = 0;
  line = 1;
  csv.reset();
  csv.set_delimiter(',');
  delimiter = ',';
  have_header = false;
  return {};
}

void Ingestor::Impl::record(const char* data, std::uint64_t total, char last,
                            std::size_t readable) {
  // The record excludes its '\n' and one '\r' before it (CRLF input).
  const std::uint64_t len = total - (total > 0 && last == '\r' ? 1 : 0);
  const std::size_t limit = options.limits.max_record_bytes;
  if (len > limit) {
    ++stats.records;
    current = std::string_view(data, limit);
    reject(RejectKind::kTooLarge, "", absl::StrFormat("record is %u bytes, limit %u", len, limit));
    return;
  }
  std::string_view rec(data, static_cast<std::size_t>(len));
  if (rec_offset == 0 && rec.starts_with(kBom)) {
    rec.remove_prefix(kBom.size());
    rec_offset = kBom.size();
    readable -= kBom.size();
  }
  if (options.format == Format::kCsv) {
    if (rec.empty()) return;
    csv_record(rec);
    return;
  }
  if (rec.empty() || ((rec[0] == ' ' || rec[0] == '\t' || rec[0] == '\r') &&
                      rec.find_first_not_of(" \t\r") == std::string_view::npos)) {
    return;  // blank line
  }
  json_record(rec.data(), rec.size(), readable);
}

// simdjson reads past a document into its padding, and for some malformed documents which
// error it reports depends on those bytes. A record parsed in place is followed by whatever the
// caller's chunk holds next, so results would depend on chunking. The padded copy (blank
// padding) is therefore authoritative: a record parsed in place is re-parsed from the copy when
// it fails, and CDC records, whose batches deliver events while being read, always use the copy.
const char* Ingestor::Impl::canonical_copy(const char* data, std::size_t len) noexcept {
  if (data != buffer.get()) std::memmove(buffer.get(), data, len);
  std::memset(buffer.get() + len, ' ', ingest::kJsonPadding);
  return buffer.get();
}

void Ingestor::Impl::json_record(const char* data, std::size_t len, std::size_t readable) {
  const std::size_t canonical_readable = carry_capacity + ingest::kJsonPadding;
  bool canonical = false;
  if (options.format == Format::kCdc || readable < len + ingest::kJsonPadding ||
      data == buffer.get()) {
    data = canonical_copy(data, len);
    readable = canonical_readable;
    canonical = true;
  }
  current = std::string_view(data, len);
  if (options.format == Format::kCdc) {
    if (!json->read_cdc(data, len, readable, *this, builder)) {
      ++stats.records;
      reject_from_builder();
    }
    return;
  }
  ++stats.records;
  bool ok = json->read_flat(data, len, readable, row, builder);
  if (!ok && !canonical) {
    data = canonical_copy(data, len);
    current = std::string_view(data, len);
    ok = json->read_flat(data, len, canonical_readable, row, builder);
  }
  if (!ok) return reject_from_builder();
  deliver_row(row);
}

void Ingestor::Impl::deliver_row(const ingest::Row& r) {
  ingest::EventType type;
  if (!builder.event_type(r, type)) return reject_from_builder();
  switch (type) {
    case ingest::EventType::kTransaction:
      if (!push(builder, r)) return reject_from_builder();
      return;
    case ingest::EventType::kStatus:
      if (!builder.status(r, nullptr, std::nullopt, status)) return reject_from_builder();
      emit(status);
      return;
    case ingest::EventType::kFlag:
    case ingest::EventType::kUnflag:
      if (!builder.flag(r, type == ingest::EventType::kFlag, std::nullopt, flag)) {
        return reject_from_builder();
      }
      emit(flag);
      return;
  }
}

void Ingestor::Impl::on_cdc(ingest::CdcRecord& rec, bool ok, ingest::RecordBuilder& b) {
  using Op = ingest::CdcRecord::Op;
  ++stats.records;
  // Built only for a reject: a good record costs no formatting.
  const auto reject_here = [&] {
    reject_from_builder(rec.in_batch ? absl::StrFormat("Records[%u]: ", rec.index) : std::string());
  };
  if (!ok) return reject_here();
  if (rec.op == Op::kIgnore) {
    ++stats.ignored;
    return;
  }
  const bool removal = rec.op == Op::kDelete;
  if ((removal && !rec.has_before) || (!removal && !rec.has_now)) {
    if (removal) {  // KEYS_ONLY / NEW_IMAGE streams carry no old image to act on
      ++stats.ignored;
      return;
    }
    b.fail(RejectKind::kMissingField, rec.has_before ? "after" : "NewImage",
           "change without a new image (Debezium after / DynamoDB NewImage)");
    return reject_here();
  }
  const ingest::Row& image = removal ? rec.before : rec.now;

  // A vigil-native event stored as a row.
  if (image.has_value(ingest::kSlotType)) {
    ingest::EventType type;
    if (!b.event_type(image, type)) return reject_here();
    if (type != ingest::EventType::kTransaction) {
      if (removal) {
        ++stats.ignored;
        return;
      }
      if (type == ingest::EventType::kStatus) {
        if (!b.status(image, nullptr, rec.time, status)) return reject_here();
        emit(status);
      } else {
        if (!b.flag(image, type == ingest::EventType::kFlag, rec.time, flag)) {
          return reject_here();
        }
        emit(flag);
      }
      return;
    }
  }

  // A row of a flags table: present → flagged, deleted → unflagged.
  if (image.has(ingest::kSlotEntity) && image.has(ingest::kSlotId)) {
    if (!b.flag(image, !removal, rec.time, flag)) return reject_here();
    emit(flag);
    return;
  }

  // A transaction row.
  switch (rec.op) {
    case Op::kInsert:
      if (!push(b, image)) return reject_here();
      return;
    case Op::kUpdate: {
      const std::string_view now = ingest::RecordBuilder::status_text(rec.now);
      const bool known_before = rec.has_before && rec.before.has(ingest::kSlotStatus);
      if (now.empty() || (known_before && ingest::RecordBuilder::status_text(rec.before) == now)) {
        ++stats.ignored;
        return;
      }
      if (!b.status(rec.now, known_before ? &rec.before : nullptr, rec.time, status)) {
        return reject_here();
      }
      emit(status);
      return;
    }
    default:
      ++stats.ignored;  // deleting a transaction row does not un-happen the payment
      return;
  }
}

void Ingestor::Impl::csv_record(std::string_view rec) {
  current = rec;
  const std::size_t max_fields = options.limits.max_fields;
  if (!have_header) {
    // The header tells the separator: ',' (Kaggle), '|' (the original Sparkov generator), tab
    // or ';'. Records that follow use it.
    delimiter = ingest::detect_csv_delimiter(rec);
    csv.set_delimiter(delimiter);
  }
  const std::string_view error = ingest::split_csv(rec, fields, scratch, max_fields, delimiter);
  if (!have_header) {
    if (!error.empty()) {
      ++stats.records;
      return reject(RejectKind::kMalformed, "", absl::StrFormat("malformed CSV header: %s", error));
    }
    columns.clear();
    for (const std::string_view name : fields) columns.push_back(keys.find(ingest::trim(name)));
    have_header = true;
    return;
  }
  ++stats.records;
  if (!error.empty()) {
    if (fields.size() >= max_fields) {
      return reject(RejectKind::kTooLarge, "",
                    absl::StrFormat("record has more than %u fields", max_fields));
    }
    const std::size_t at = fields.size() - 1;
    const std::string_view name = at < columns.size() && columns[at] != ingest::kSlotNone
                                      ? ingest::slot_name(columns[at])
                                      : "";
    return reject(RejectKind::kMalformed, name,
                  absl::StrFormat("malformed CSV in field %u: %s", at + 1, error));
  }
  if (fields.size() != columns.size()) {
    return reject(RejectKind::kMalformed, "",
                  absl::StrFormat("expected %u fields as in the header, got %u", columns.size(),
                                  fields.size()));
  }
  row.clear();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::uint8_t slot = columns[i];
    if (slot == ingest::kSlotNone) continue;
    row.set(slot, fields[i],
            fields[i].empty() ? ingest::ValueKind::kNull : ingest::ValueKind::kText);
  }
  deliver_row(row);
}

// ---------------------------------------------------------------------------------------------

Result<Ingestor> Ingestor::create(IngestOptions options, Dictionary& dictionary, IngestSink& sink) {
  const IngestLimits& l = options.limits;
  if (l.max_record_bytes == 0 || l.max_record_bytes > (std::size_t{1} << 30)) {
    return Status(ErrorCode::kInvalidArgument, "max_record_bytes must be in [1, 2^30]");
  }
  if (l.max_string_bytes == 0 || l.max_fields == 0) {
    return Status(ErrorCode::kInvalidArgument, "max_string_bytes and max_fields must be > 0");
  }
  if (options.batch_capacity == 0 || options.batch_capacity > (std::size_t{1} << 20)) {
    return Status(ErrorCode::kInvalidArgument, "batch_capacity must be in [1, 2^20]");
  }
  for (const auto& [name, field] : options.schema.names()) {
    if (name.empty() || name.size() > 63) {
      return Status(ErrorCode::kInvalidArgument,
                    absl::StrFormat("schema name %s must be 1..63 bytes", ingest::quote(name)));
    }
    if (static_cast<std::size_t>(field) >= kFieldCount) {
      return Status(ErrorCode::kInvalidArgument, "schema maps a name to an unknown field");
    }
  }
  try {
    return Ingestor(std::make_unique<Impl>(std::move(options), dictionary, sink));
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::kResourceExhausted, "ingestor: out of memory");
  }
}

Ingestor::Ingestor(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
Ingestor::Ingestor(Ingestor&&) noexcept = default;
Ingestor& Ingestor::operator=(Ingestor&&) noexcept = default;
Ingestor::~Ingestor() = default;

namespace {

template <typename F>
Status guarded(Status& failed, F&& f) noexcept {
  if (!failed.ok()) return failed;
  try {
    return f();
  } catch (const std::bad_alloc&) {
    failed = Status(ErrorCode::kResourceExhausted, "ingestor: out of memory");
  } catch (const std::exception& e) {
    failed = Status(ErrorCode::kInvalidArgument, std::string("ingestor: sink threw: ") + e.what());
  } catch (...) {
    failed = Status(ErrorCode::kInvalidArgument, "ingestor: sink threw");
  }
  return failed;
}

}  // namespace

Status Ingestor::feed(std::string_view chunk) noexcept {
  return guarded(impl_->failed, [&] { return impl_->feed(chunk); });
}

Status Ingestor::finish() noexcept {
  return guarded(impl_->failed, [&] { return impl_->finish(); });
}

const IngestStats& Ingestor::stats() const noexcept { return impl_->stats; }

}  // namespace vigil
