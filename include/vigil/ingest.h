// File: vigil/ingest.h
//
// The streaming ingestor: where a host hands vigil its bytes. An `Ingestor` turns a byte stream
// (NDJSON, CSV with a header row, or CDC envelopes from DynamoDB Streams / Debezium), cut into
// chunks anywhere, into columnar `TransactionBatch`es, status changes and flag events, delivered
// in stream order to an `IngestSink`. A bad record never stops the stream: it goes to
// `IngestSink::on_reject` with its byte offset, line, field and a precise reason, and every good
// record around it is kept. Nothing here throws.
//
// **Example**
//   struct Sink final : vigil::IngestSink {
//     void on_batch(const vigil::TransactionBatch& b) override { engine.process(b); }
//     void on_status(const vigil::StatusChange& s) override { ... }
//     void on_flag(const vigil::FlagChange& f) override { ... }
//     void on_reject(const vigil::Rejected& r) override { log(r.line, r.field, r.reason); }
//   } sink;
//   vigil::Dictionary dict;
//   auto ing = vigil::Ingestor::create({.format = vigil::Format::kNdjson}, dict, sink);
//   if (!ing.ok()) return;
//   while (read(buf)) if (!ing->feed(buf).ok()) break;  // fails only if the sink threw
//   (void)ing->finish();
//
// Record semantics (all formats): required are trans_num, cc_num, amt, and a time
// (trans_date_trans_time, else unix_time). Amounts become integer cents from the decimal text,
// never through a double; more than two decimals round half away from zero. cc_num is read
// exactly from its digits (JSON number or string, up to 19 digits). Numbers may be sent as JSON
// numbers or strings; JSON null and empty CSV fields mean "missing"; unknown fields are ignored.
// A numeric time value (trans_date_trans_time, time, until) is epoch seconds, read as
// milliseconds from 1e11, microseconds from 1e14 and nanoseconds from 1e17 on (Debezium sends
// TIMESTAMP columns as epoch milliseconds); unix_time is always seconds.
//
// vigil-native event lines (NDJSON, or a CDC image carrying them) have a "type" member:
//   {"type":"status","trans_num":"…","status":"disputed","previous":"processed","time":"…"}
//   {"type":"flag","entity":"cc_num","id":"2703186189652095","reason":"…","until":"…","time":"…"}
//   {"type":"unflag","entity":"cc_num","id":"…","time":"…"}
// A record without "type" (or "type":"transaction") is a transaction.
//
// CDC mapping (Format::kCdc; DynamoDB Streams / Kinesis records, a Lambda {"Records":[…]} batch,
// and Debezium events with or without the schema/payload wrapper are recognised per line):
//   - row with "type": the native event above (insert / snapshot read / modify only);
//   - flags-table row (has "entity" and "id"): insert, read or update → flag; delete → unflag;
//   - transaction row: insert (INSERT, c, r) → transaction; update (MODIFY, u) whose "status"
//     differs between old and new image → StatusChange (without an old image, any update that
//     carries a status is reported, previous = kNoStr); any other update, and a delete (REMOVE,
//     d), truncate, message or tombstone → ignored and counted in IngestStats::ignored.
//   The time of a CDC status or flag event is the image's "time" column, else the envelope's
//   (Debezium ts_ms, DynamoDB ApproximateCreationDateTime).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/dictionary.h"
#include "vigil/model.h"
#include "vigil/status.h"

namespace vigil {

/// Input framing of a stream.
enum class Format : std::uint8_t {
  kNdjson,  ///< one JSON object per line
  kCsv,     ///< RFC 4180 CSV; the first non-empty record is the header row
  kCdc,     ///< one CDC envelope per line: DynamoDB Streams or Debezium
};

/// "ndjson", "csv" or "cdc".
std::string_view format_name(Format f) noexcept;
/// The format of a name as format_name() gives it; nullopt otherwise.
std::optional<Format> format_from_name(std::string_view name) noexcept;

/// Guesses the format from the first bytes of a stream (a few KiB is plenty): a JSON object line
/// holding a CDC envelope's members is kCdc, any other JSON object kNdjson, a line with commas
/// kCsv. nullopt when the prefix fits none (e.g. empty).
std::optional<Format> detect_format(std::string_view prefix) noexcept;

/// Maps input field names (JSON keys, CSV header names, CDC column names) to vigil fields.
/// Defaults to the Sparkov / Kaggle names; aliases add more names for a field.
///
/// **Example**
///   vigil::Schema schema;
///   schema.alias("amount", vigil::Field::kAmt).alias("card", vigil::Field::kCcNum);
class Schema {
 public:
  /// The Sparkov names ("trans_num", "cc_num", "amt", …, "long", "merch_long", "is_fraud").
  Schema();
  /// Also accept `name` for `field`. A name maps to one field: the last alias wins.
  Schema& alias(std::string_view name, Field field);
  /// All (name, field) pairs, defaults first.
  const std::vector<std::pair<std::string, Field>>& names() const noexcept { return names_; }

 private:
  std::vector<std::pair<std::string, Field>> names_;
};

/// Bounds on what one record may hold; a record over a limit is rejected, not truncated.
struct IngestLimits {
  std::size_t max_record_bytes = std::size_t{1} << 16;  ///< bytes of one record (line)
  std::size_t max_string_bytes = 1024;  ///< bytes of one kept string value (after unescaping)
  std::size_t max_fields = 512;         ///< members of one JSON object / columns of a CSV row
};

/// How an Ingestor reads its stream.
struct IngestOptions {
  Format format = Format::kNdjson;
  Schema schema;
  IngestLimits limits;
  /// Rows per delivered batch; rounded up to a power of two (at least 16).
  std::size_t batch_capacity = TransactionBatch::kDefaultCapacity;
};

/// Receives what the ingestor reads, in stream order. Before a status or flag event is delivered,
/// the pending partial batch is delivered first, so a consumer sees transactions and events in
/// the order of the input (rejects do not cut batches). References are valid only during the
/// call.
class IngestSink {
 public:
  virtual ~IngestSink() = default;
  /// A batch of transactions (full, or the partial one before another event or at finish()).
  virtual void on_batch(const TransactionBatch& batch) = 0;
  /// A transaction's status changed.
  virtual void on_status(const StatusChange& change) = 0;
  /// An entity was flagged or unflagged.
  virtual void on_flag(const FlagChange& change) = 0;
  /// A record was rejected (dead letter). `rejected.record` views the raw record (capped at
  /// IngestLimits::max_record_bytes).
  virtual void on_reject(const Rejected& rejected) = 0;
};

/// Broad class of a rejected record (the Rejected::reason says precisely what was wrong).
enum class RejectKind : std::uint8_t {
  kMalformed,     ///< not valid JSON / CSV, or not an object
  kMissingField,  ///< a required field is absent
  kWrongType,     ///< a value has the wrong type or does not parse (e.g. amt "abc")
  kOutOfRange,    ///< parses but is impossible: lat 123, non-finite amount, 30 Feb, gender "X"
  kTooLarge,      ///< record, string or field count over its IngestLimits bound
  kInvalidUtf8,   ///< invalid UTF-8
  kUnsupported,   ///< unknown event type, CDC operation or envelope
};
inline constexpr std::size_t kRejectKindCount = 7;
/// "malformed", "missing_field", "wrong_type", "out_of_range", "too_large", "invalid_utf8",
/// "unsupported".
std::string_view reject_kind_name(RejectKind k) noexcept;

/// Counters of an ingestor since creation.
struct IngestStats {
  std::uint64_t bytes = 0;           ///< bytes fed
  std::uint64_t records = 0;         ///< non-empty records read (CSV header excluded)
  std::uint64_t transactions = 0;    ///< transactions delivered
  std::uint64_t status_changes = 0;  ///< status changes delivered
  std::uint64_t flags = 0;           ///< flag and unflag events delivered
  std::uint64_t ignored = 0;         ///< valid records that carry no event (see CDC mapping)
  std::uint64_t rejected = 0;        ///< records sent to on_reject
  std::uint64_t batches = 0;         ///< batches delivered
  std::array<std::uint64_t, kRejectKindCount> rejected_by{};  ///< indexed by RejectKind
};

/// Reads a byte stream in any chunking and delivers batches and events to a sink. Feeding a
/// stream whole or in chunks of any sizes gives identical deliveries. Single-threaded; the
/// dictionary and sink must outlive the ingestor.
class Ingestor {
 public:
  /// Checks the options (limits > 0, schema names non-empty) and builds an ingestor that interns
  /// strings into `dictionary` and delivers to `sink`.
  static Result<Ingestor> create(IngestOptions options, Dictionary& dictionary, IngestSink& sink);

  Ingestor(Ingestor&&) noexcept;
  Ingestor& operator=(Ingestor&&) noexcept;
  ~Ingestor();

  /// Consumes the next bytes of the stream. A record may be split anywhere across calls; only
  /// the bytes of a split record are copied. Returns an error only when the sink threw or memory
  /// ran out; the ingestor then refuses further input with the same error.
  [[nodiscard]] Status feed(std::string_view chunk) noexcept;
  /// Ends the stream: processes a last record that lacks its newline and delivers the partial
  /// batch. A later feed() starts a new stream (offset 0, line 1, a CSV stream reads a new
  /// header); stats() keep counting.
  [[nodiscard]] Status finish() noexcept;
  /// Counters so far.
  const IngestStats& stats() const noexcept;

 private:
  struct Impl;
  explicit Ingestor(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
