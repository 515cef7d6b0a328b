// File: vigil/time.h
//
// Event time in vigil is an int64 count of microseconds since 1970-01-01T00:00:00Z (UTC).
// vigil never reads the wall clock: every time it sees comes from an event. These helpers
// convert between that representation and the text forms found in card data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vigil {

/// Microseconds since the Unix epoch, UTC.
using Micros = std::int64_t;

inline constexpr Micros kMicrosPerSecond = 1'000'000;
inline constexpr Micros kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr Micros kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr Micros kMicrosPerDay = 24 * kMicrosPerHour;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// A calendar date.
struct CivilDate {
  int year;
  unsigned month;  ///< 1..12
  unsigned day;    ///< 1..31
};

/// Whether y is a Gregorian leap year.
bool leap(int y) noexcept;
/// Days in month m (1..12) of year y.
unsigned days_in_month(int y, unsigned m) noexcept;

/// Inverse of days_from_civil.
CivilDate civil_from_days(std::int64_t days) noexcept;

/// Parses "YYYY-MM-DD HH:MM:SS", also with 'T' instead of the space, an optional fraction of
/// up to 6 digits and an optional trailing 'Z'; also a bare "YYYY-MM-DD" (midnight).
/// Returns nullopt when the text is not such a timestamp or names an impossible date.
std::optional<Micros> parse_timestamp(std::string_view text) noexcept;

/// Parses "YYYY-MM-DD" to days since the epoch.
std::optional<std::int32_t> parse_date(std::string_view text) noexcept;

/// Parses a duration such as "90s", "15m", "1h", "24h", "7d", "250ms"; nullopt if malformed.
std::optional<Micros> parse_duration(std::string_view text) noexcept;

/// "YYYY-MM-DD HH:MM:SS" (the Sparkov form; fractions of a second are dropped).
std::string format_timestamp(Micros t);

/// "YYYY-MM-DD".
std::string format_date(std::int32_t days);

/// Floor division that rounds toward negative infinity (times before 1970 stay correct).
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// Hour of day 0..23 of an event time (UTC).
constexpr int hour_of(Micros t) noexcept {
  return static_cast<int>(floor_div(t, kMicrosPerHour) - floor_div(t, kMicrosPerDay) * 24);
}

/// Day of week 0..6, Monday = 0 (ISO), of an event time (UTC).
constexpr int weekday_of(Micros t) noexcept {
  // 1970-01-01 was a Thursday (ISO index 3).
  const std::int64_t d = floor_div(t, kMicrosPerDay);
  return static_cast<int>(((d % 7) + 7 + 3) % 7);
}

}  // namespace vigil
