// RFC 4180 CSV: a resumable record framer (finds the newline that ends a record, honouring
// quoted fields that span lines, across any chunking) and a field splitter for one record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::ingest {

/// Finds record ends. A quote opens a quoted field only at the start of a field (as RFC 4180
/// and DuckDB / Python read it); elsewhere it is an ordinary byte, so one stray quote cannot
/// swallow the rest of a stream.
class CsvFramer {
 public:
  /// The '\n' ending the current record in [p, end), or nullptr when the record continues past
  /// `end` (the state is kept for the next call).
  const char* scan(const char* p, const char* end) noexcept;
  /// Newlines inside quoted fields of the record just ended (for line numbers).
  std::uint64_t take_newlines() noexcept {
    const std::uint64_t n = newlines_;
    newlines_ = 0;
    return n;
  }
  void reset() noexcept {
    state_ = kFieldStart;
    newlines_ = 0;
  }
  /// The field separator (',' unless the header said otherwise).
  void set_delimiter(char d) noexcept { delim_ = d; }

 private:
  enum State : std::uint8_t { kFieldStart, kUnquoted, kQuoted, kQuoteInQuoted };
  State state_ = kFieldStart;
  char delim_ = ',';
  std::uint64_t newlines_ = 0;
};

/// Splits `record` (no line terminator) into `fields`. Quoted fields with doubled quotes are
/// unescaped into `scratch`, which is reserved to the record's size first so the views stay
/// valid. Returns "" on success, else the reason the record is malformed; `fields.size()` then
/// tells which field (1-based) was at fault. Stops after `max_fields` fields. `delim` separates
/// fields.
std::string_view split_csv(std::string_view record, std::vector<std::string_view>& fields,
                           std::string& scratch, std::size_t max_fields, char delim = ',');

/// split_csv without its register-at-a-time scan (tests compare the two).
std::string_view split_csv_general(std::string_view record, std::vector<std::string_view>& fields,
                                   std::string& scratch, std::size_t max_fields, char delim = ',');

/// The separator of a CSV header line: ',' if it has one outside quotes, else the first of
/// '|', '\t', ';' it has (the original Sparkov generator writes '|'), else ','.
char detect_csv_delimiter(std::string_view header) noexcept;

}  // namespace vigil::ingest
