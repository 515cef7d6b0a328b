// File: vigil/generate.h
//
// A synthetic card-transaction stream in the Sparkov / Kaggle schema, for tests, examples and
// benchmarks (real card data is never public). The generator models what fraud detectors key
// on: ~0.8 merchants per card in 14 categories, each with its own amount distribution;
// customers with a real US home town, name, job and birth date; per-card habits (rate, spend
// level, category mix, night owls, trips far from home); daily and weekly rhythm. Fraud comes
// as in Sparkov: a compromised card shows a burst of 2–15 mostly large, mostly night-time
// purchases over hours to a few days, sometimes far from home. With events, disputes, stolen
// card reports and merchant flags follow in event time.
//
// Output is deterministic: the same options give byte-identical output. vigil draws from its
// own PRNG (xoshiro256**) and samplers rather than the std distributions, whose output differs
// between standard libraries; the only platform input is libm's log / exp, whose last-ulp
// differences vanish once amounts are rounded to cents and times to seconds. Records come in
// non-decreasing event time, one at a time, with memory bounded by one simulated day (about
// 300 bytes per transaction of that day) plus the pending events.
//
// **Example**
//   vigil::GeneratorOptions opts;
//   opts.cards = 1000;
//   opts.days = 30;
//   auto gen = vigil::Generator::create(opts);
//   if (!gen.ok()) return gen.status();
//   vigil::RecordWriter writer(vigil::OutputFormat::kNdjson, gen->dictionary());
//   std::string out;
//   vigil::GeneratedRecord rec;
//   while (gen->next(rec)) (void)writer.append(rec, out);
//
// ## Text formats
//
// CSV (transactions only) is the Kaggle file's layout: the header
//   ,trans_date_trans_time,cc_num,merchant,category,amt,first,last,gender,street,city,state,zip,lat,long,city_pop,job,dob,trans_num,unix_time,merch_lat,merch_long,is_fraud
// then one row per transaction, the first (unnamed) column a 0-based row index. Fields holding
// a comma, a double quote, CR or LF are quoted with embedded quotes doubled (RFC 4180); lines
// end in "\n".
//
// NDJSON is one JSON object per line ("\n"), no index. A transaction has exactly the 22
// Sparkov members in schema order and no "type" member:
//   {"trans_date_trans_time":"2019-01-01 00:00:18","cc_num":2703186189652095,
//    "merchant":"fraud_Rippin, Kub and Mann","category":"misc_net","amt":4.97,
//    "first":"Jennifer","last":"Banks","gender":"F","street":"561 Perry Cove",
//    "city":"Moravian Falls","state":"NC","zip":28654,"lat":36.0788,"long":-81.1781,
//    "city_pop":3495,"job":"Psychologist, counselling","dob":"1988-03-09",
//    "trans_num":"0b242abb623afc578575680df30655b9","unix_time":1325376018,
//    "merch_lat":36.011293,"merch_long":-82.048315,"is_fraud":0}
// Strings: trans_date_trans_time ("YYYY-MM-DD HH:MM:SS", UTC), merchant, category, first, last,
// gender ("F"/"M"), street, city, state, job, dob ("YYYY-MM-DD"), trans_num (32 lowercase hex
// digits). Numbers: cc_num (an integer of 11–19 digits; read it as uint64, never as a double),
// amt (exactly two decimals, from integer cents), zip, city_pop, unix_time (seconds, equal to
// trans_date_trans_time read as UTC — no 7-year offset as in the Kaggle file), is_fraud (0/1),
// lat, long, merch_lat, merch_long (shortest round-trip decimal form; ≤ 4 decimals for lat /
// long, ≤ 6 for merch_lat / merch_long).
//
// With events (NDJSON only), event lines interleave with transactions in time order; each
// carries a "type" member first and a "time" member last ("YYYY-MM-DD HH:MM:SS", UTC):
//   {"type":"status","trans_num":"<32 hex>","status":"disputed","time":"2019-01-09 14:02:11"}
//   {"type":"flag","entity":"cc_num","id":"2703186189652095","reason":"reported stolen",
//    "until":"2019-03-01 00:00:00","time":"2019-01-05 10:00:00"}
//   {"type":"unflag","entity":"cc_num","id":"2703186189652095","time":"2019-01-20 08:00:00"}
// "entity" is a Sparkov field name ("cc_num" or "merchant"); "id" is always a JSON string (the
// decimal card number, or the merchant name); "until" (exclusive expiry) is optional; "reason"
// is present on flags only. Status values are "disputed"; flag reasons are "reported stolen"
// and "merchant under review".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/dictionary.h"
#include "vigil/model.h"
#include "vigil/status.h"
#include "vigil/time.h"

namespace vigil {

/// What to generate. Check with validate(); Generator::create() does.
struct GeneratorOptions {
  /// Number of cards (one customer each). Merchants scale with it (~0.8 per card).
  std::uint64_t cards = 1000;
  /// Length of the simulated period in days; records span [start, start + days).
  int days = 30;
  /// Seed of the whole stream: same options, same bytes.
  std::uint64_t seed = 1;
  /// First instant of the period (event time, UTC). Default 2019-01-01T00:00:00Z, like Kaggle.
  Micros start = days_from_civil(2019, 1, 1) * kMicrosPerDay;
  /// Target fraction of transactions that are fraud, in [0, 0.5). Kaggle's is ~0.5%.
  double fraud_rate = 0.005;
  /// Also emit status (dispute) and flag / unflag records.
  bool with_events = false;

  /// kInvalidArgument naming the first bad option, e.g. "cards must be in [1, 100000000]".
  Status validate() const;
};

/// The kind of a generated record.
enum class RecordKind : std::uint8_t {
  kTransaction,  ///< GeneratedRecord::transaction is valid
  kStatus,       ///< GeneratedRecord::status is valid
  kFlag,         ///< GeneratedRecord::flag is valid (a flag or, with flagged == false, an unflag)
};

/// One record of a generated stream; only the member named by `kind` is meaningful. Reused by
/// Generator::next() without allocating.
struct GeneratedRecord {
  RecordKind kind = RecordKind::kTransaction;
  Transaction transaction;
  StatusChange status;
  FlagChange flag;

  /// The record's event time.
  Micros time() const noexcept {
    switch (kind) {
      case RecordKind::kTransaction: return transaction.time;
      case RecordKind::kStatus: return status.time;
      case RecordKind::kFlag: return flag.time;
    }
    return transaction.time;
  }
};

/// Counts of the records a Generator has returned so far.
struct GeneratorStats {
  std::uint64_t transactions = 0;
  std::uint64_t fraud_transactions = 0;
  std::uint64_t status_changes = 0;
  std::uint64_t flags = 0;
  std::uint64_t unflags = 0;
};

/// Pull-style generator of a synthetic stream: records in non-decreasing event time.
/// Strings of the records are ids of the generator's own dictionary(). Memory stays bounded by
/// one simulated day of records plus pending events, however long the stream.
class Generator {
 public:
  /// A generator for `options`, or kInvalidArgument when they do not validate().
  static Result<Generator> create(const GeneratorOptions& options);

  ~Generator();
  Generator(Generator&&) noexcept;
  Generator& operator=(Generator&&) noexcept;
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  /// Writes the next record into `out`; false (and `out` untouched) at the end of the stream.
  bool next(GeneratedRecord& out);

  /// The dictionary of every StrId in the records (merchant, category, names, status …).
  /// Status and flag ids are interned up front, merchant names for FlagChange::key included.
  const Dictionary& dictionary() const noexcept;
  /// The options the stream was made from.
  const GeneratorOptions& options() const noexcept;
  /// Number of merchants of the simulated world.
  std::size_t merchant_count() const noexcept;
  /// Counts of the records returned so far.
  const GeneratorStats& stats() const noexcept;

 private:
  struct Impl;
  explicit Generator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Text formats of a generated stream (see the file comment).
enum class OutputFormat : std::uint8_t { kCsv, kNdjson };
/// "csv" or "ndjson".
std::string_view output_format_name(OutputFormat format) noexcept;
/// The format named "csv" or "ndjson"; nullopt otherwise.
std::optional<OutputFormat> output_format_from_name(std::string_view name) noexcept;

/// The Kaggle CSV header line, with its leading unnamed index column, without newline.
std::string_view kaggle_csv_header() noexcept;

/// Formats generated records as CSV or NDJSON text, appending to a caller-owned buffer (so a
/// caller can batch many records per write). Holds the CSV row index.
class RecordWriter {
 public:
  /// `dictionary` resolves the records' StrIds and must outlive the writer.
  RecordWriter(OutputFormat format, const Dictionary& dictionary) noexcept
      : format_(format), dictionary_(&dictionary) {}

  /// Appends the header line and its newline (CSV), or nothing (NDJSON).
  void append_header(std::string& out) const;
  /// Appends one record and its newline. CSV carries transactions only: an event record gives
  /// kInvalidArgument and appends nothing.
  Status append(const GeneratedRecord& record, std::string& out);
  /// Appends one transaction as a CSV row (with the next row index) or an NDJSON line.
  void append(const Transaction& tx, std::string& out);

  OutputFormat format() const noexcept { return format_; }

 private:
  OutputFormat format_;
  const Dictionary* dictionary_;
  std::uint64_t next_index_ = 0;
};

/// Appends `cents` as a decimal with exactly two fraction digits ("-0.05", "45.00"), exactly.
void append_amount(std::int64_t cents, std::string& out);

}  // namespace vigil
