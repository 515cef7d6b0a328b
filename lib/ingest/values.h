// Exact text-to-number conversions used by every format. Amounts and times are parsed from
// their decimal digits (never through a double), so "0.1" is exactly 10 cents and a 19-digit
// cc_num survives.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/time.h"

namespace vigil::ingest {

/// Outcome of a numeric conversion.
enum class NumError : std::uint8_t {
  kOk,
  kNotNumber,  ///< not a decimal number (wrong type)
  kNonFinite,  ///< "NaN", "inf", "Infinity" …
  kRange,      ///< a number, but beyond the allowed magnitude / sign
};

/// Trims ASCII spaces and tabs (CSV and string-typed numbers may carry them). Inline: called
/// on most values, nearly always with nothing to trim.
inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Parses a decimal number ("-12.345", "1e3", "+.5") and returns round(value × 10^scale), rounded
/// half away from zero, with |result| <= max_abs. `scale` may be negative.
NumError parse_scaled(std::string_view text, int scale, std::int64_t max_abs,
                      std::int64_t& out) noexcept;

/// Parses an unsigned integer of ASCII digits only (no sign, no fraction), <= max.
NumError parse_unsigned(std::string_view text, std::uint64_t max, std::uint64_t& out) noexcept;

/// Parses a finite double (std::from_chars: correctly rounded).
NumError parse_double(std::string_view text, double& out) noexcept;

/// A numeric time value: epoch seconds below 1e11, milliseconds below 1e14, microseconds below
/// 1e17, nanoseconds above (what Debezium and DynamoDB send).
NumError parse_epoch(std::string_view text, Micros& out) noexcept;

/// The common timestamp, exactly "YYYY-MM-DD HH:MM:SS" (or 'T' for the space), read at fixed
/// positions a word at a time. True only when `text` has that exact shape and is valid, and
/// then `out` is parse_timestamp(text); false for anything else (the caller then asks
/// parse_timestamp, which knows every other form and every rejection).
bool parse_timestamp_fixed(std::string_view text, Micros& out) noexcept;

/// The date of the last timestamp parse_timestamp_fixed read with it: records of a
/// time-ordered stream nearly all share their day, so the calendar is worked out once a day.
struct DateCache {
  std::uint64_t ymd = 0;  ///< bytes 0..7 ("YYYY-MM-") of the cached date
  std::uint16_t dd = 0;   ///< bytes 8..9 ("DD")
  bool valid = false;
  Micros midnight = 0;
};
/// parse_timestamp_fixed, remembering the date in `cache` (same results).
bool parse_timestamp_fixed(std::string_view text, Micros& out, DateCache& cache) noexcept;

/// `text` shortened to 40 bytes with non-printable bytes as \xNN, for error messages that must
/// stay valid UTF-8 whatever the input was.
std::string quote(std::string_view text);

/// Byte index of the first invalid UTF-8 sequence in `s`, or s.size() if valid.
std::size_t first_invalid_utf8(std::string_view s) noexcept;

}  // namespace vigil::ingest
