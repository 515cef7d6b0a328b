// JSON readers for one record (a line): a flat object (NDJSON) or a CDC envelope (DynamoDB
// Streams / Kinesis / Lambda batch, Debezium with or without schema/payload). They collect raw
// value texts into Rows; RecordBuilder gives them meaning.
//
// simdjson's On-Demand code is compiled for one instruction set per translation unit (its
// "builtin" implementation follows the unit's flags), so the reader is built once per arch
// (json_reader_<arch>.cc, each in its own namespace, flags in sources.cmake) and chosen once at
// run time from the CPU (json_dispatch.cc). This header is arch-neutral: no simdjson types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "ingest/builder.h"
#include "ingest/row.h"

namespace vigil::ingest {

/// Bytes simdjson may read past a document (simdjson::SIMDJSON_PADDING; checked in the units).
inline constexpr std::size_t kJsonPadding = 64;

/// The instruction sets a JSON reader is built for (simdjson's implementation names).
enum class JsonArch : std::uint8_t {
  kFallback,  ///< baseline x86-64 / any CPU
  kHaswell,   ///< AVX2, BMI1/2, LZCNT, PCLMUL, POPCNT
  kIcelake,   ///< kHaswell + AVX-512 F/DQ/CD/BW/VL/VBMI/VBMI2
};
/// "fallback", "haswell", "icelake".
std::string_view json_arch_name(JsonArch arch) noexcept;
/// True when this build has the arch's unit and this CPU (and OS) can run it.
bool json_arch_available(JsonArch arch) noexcept;
/// The arch readers use by default: VIGIL_FORCE_ARCH ("scalar"/"sse4.2" → fallback, "avx2" →
/// haswell, "avx512" → icelake) when set and available, else the best available one.
JsonArch default_json_arch() noexcept;

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
  virtual ~JsonReader() = default;

  /// Reads the object in [data, data + len) (readable up to data + capacity, capacity >= len +
  /// kJsonPadding) into `row`. False with builder.error() set when the JSON is malformed, not an
  /// object, or over a limit.
  virtual bool read_flat(const char* data, std::size_t len, std::size_t capacity, Row& row,
                         RecordBuilder& builder) = 0;

  /// NDJSON framing shortcut: reads a record starting at `data` as read_flat's fast path
  /// would, without knowing where the record ends, and returns its closing brace (the caller
  /// checks that a line break follows: the fast path takes no raw line break, so the record is
  /// then exactly [data, brace]); nullptr when the fast path does not take it or it does not
  /// close by `limit`. Bytes up to limit + kJsonPadding must be readable. The row is
  /// meaningful only on success. Always nullptr when the fast path is off.
  virtual const char* read_flat_prefix(const char* data, const char* limit, Row& row,
                                       RecordBuilder& builder) = 0;

  /// Reads one CDC line and hands each record to `handler`. False (with builder.error() set) when
  /// the line as a whole is unreadable; records already handed over stay delivered.
  virtual bool read_cdc(const char* data, std::size_t len, std::size_t capacity,
                        CdcHandler& handler, RecordBuilder& builder) = 0;

  /// The benchmarks' baseline, built with the same flags as the reader: plain simdjson
  /// On-Demand iterate_many over NDJSON in [data, data + len) (readable up to len +
  /// kJsonPadding), reading every value of every record (strings unescaped, numbers parsed as
  /// doubles) into a checksum; `docs` counts the objects read. No validation, no Rows.
  /// `threaded`: let iterate_many run its first pass (stage 1) in a second thread, as simdjson
  /// does by default when built with threads (Debian's is); false keeps it on the calling
  /// thread, the one-core figure the ingestor (which starts no threads) is compared with.
  virtual std::uint64_t raw_checksum(const char* data, std::size_t len, std::size_t& docs,
                                     bool threaded) = 0;

  /// Tests: false makes read_flat always take the general simdjson path (default: true, plain
  /// flat records take a hand-checked fast path that must give the same results).
  virtual void set_fast_path(bool on) noexcept = 0;

  /// The arch this reader was built for.
  virtual JsonArch arch() const noexcept = 0;
};

/// A reader for `arch` (must be json_arch_available), or nullptr when out of memory.
std::unique_ptr<JsonReader> make_json_reader(JsonArch arch, const KeyTable& keys,
                                             const IngestLimits& limits);

// Per-arch factories and the extensions each unit was compiled with (json_reader_<arch>.cc).
namespace fallback {
std::unique_ptr<JsonReader> make_reader(const KeyTable& keys, const IngestLimits& limits);
extern const std::uint64_t kTargetFeatures;
}  // namespace fallback
namespace haswell {
std::unique_ptr<JsonReader> make_reader(const KeyTable& keys, const IngestLimits& limits);
extern const std::uint64_t kTargetFeatures;
}  // namespace haswell
namespace icelake {
std::unique_ptr<JsonReader> make_reader(const KeyTable& keys, const IngestLimits& limits);
extern const std::uint64_t kTargetFeatures;
}  // namespace icelake

}  // namespace vigil::ingest
