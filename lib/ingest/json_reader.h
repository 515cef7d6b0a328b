// simdjson On-Demand readers for one JSON record (a line): a flat object (NDJSON) or a CDC
// envelope (DynamoDB Streams / Kinesis / Lambda batch, Debezium with or without schema/payload).
// They only collect raw value texts into Rows; RecordBuilder gives them meaning.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "ingest/builder.h"
#include "ingest/row.h"
#include "simdjson.h"

namespace vigil::ingest {

inline constexpr std::size_t kJsonPadding = simdjson::SIMDJSON_PADDING;

/// One change record of a CDC stream.
struct CdcRecord {
  enum class Op : std::uint8_t { kInsert, kUpdate, kDelete, kIgnore };
  Op op = Op::kIgnore;
  Row now;     ///< new image (Debezium after / DynamoDB NewImage)
  Row before;  ///< old image (Debezium before / DynamoDB OldImage)
  bool has_now = false;
  bool has_before = false;
  std::optional<Micros> time;  ///< envelope time (ts_ms / ApproximateCreationDateTime)
  std::size_t index = 0;       ///< position in a {"Records": [...]} batch, else 0
  bool in_batch = false;
};

/// Receives the CDC records of a line as they are read.
class CdcHandler {
 public:
  virtual ~CdcHandler() = default;
  /// A complete record, or (ok == false) a record whose envelope is invalid, with the reason in
  /// `builder.error()`.
  virtual void on_cdc(CdcRecord& record, bool ok, RecordBuilder& builder) = 0;
};

class JsonReader {
 public:
  JsonReader(const KeyTable& keys, const IngestLimits& limits);

  /// Reads the object in [data, data + len) (readable up to data + capacity, capacity >= len +
  /// kJsonPadding) into `row`. False with builder.error() set when the JSON is malformed, not an
  /// object, or over a limit.
  bool read_flat(const char* data, std::size_t len, std::size_t capacity, Row& row,
                 RecordBuilder& builder);

  /// Reads one CDC line and hands each record to `handler`. False (with builder.error() set) when
  /// the line as a whole is unreadable; records already handed over stay delivered.
  bool read_cdc(const char* data, std::size_t len, std::size_t capacity, CdcHandler& handler,
                RecordBuilder& builder);

 private:
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

  simdjson::ondemand::parser parser_;
  const KeyTable& keys_;
  const IngestLimits& limits_;
  CdcRecord cdc_;
  std::string key_scratch_;
  std::size_t fields_ = 0;  // members seen in the current record (limit check)
  bool limit_hit_ = false;
  bool key_escaped_ = false;  // the last key_of() had escapes (its view is not padded)
};

}  // namespace vigil::ingest
