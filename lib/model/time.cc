#include "vigil/time.h"

#include <charconv>
#include <cstdio>
#include <limits>

namespace vigil {
namespace {

// Reads exactly `n` ASCII digits at s[pos]; false if any is not a digit.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool parse_ymd(std::string_view s, int& y, int& m, int& d) noexcept {
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, m) || s[7] != '-' ||
      !digits(s, 8, 2, d)) {
    return false;
  }
  return m >= 1 && m <= 12 && d >= 1 && static_cast<unsigned>(d) <= days_in_month(y, m);
}

}  // namespace

bool leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int y, unsigned m) noexcept {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

CivilDate civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int>(y + (m <= 2)), m, d};
}

std::optional<Micros> parse_timestamp(std::string_view s) noexcept {
  int y, mo, d;
  if (!parse_ymd(s, y, mo, d)) return std::nullopt;
  Micros t =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kMicrosPerDay;
  if (s.size() == 10) return t;
  int h, mi, sec;
  if (s.size() < 19 || (s[10] != ' ' && s[10] != 'T') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec) || h > 23 || mi > 59 ||
      sec > 60) {
    return std::nullopt;
  }
  t += h * kMicrosPerHour + mi * kMicrosPerMinute + sec * kMicrosPerSecond;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    Micros frac = 0;
    std::size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) frac = frac * 10 + (s[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return std::nullopt;
    for (std::size_t k = n; k < 6; ++k) frac *= 10;
    t += frac;
  }
  if (pos < s.size() && s[pos] == 'Z') ++pos;
  if (pos != s.size()) return std::nullopt;
  return t;
}

std::optional<std::int32_t> parse_date(std::string_view s) noexcept {
  int y, m, d;
  if (s.size() != 10 || !parse_ymd(s, y, m, d)) return std::nullopt;
  return static_cast<std::int32_t>(
      days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)));
}

std::optional<Micros> parse_duration(std::string_view s) noexcept {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end == s.data() || n < 0) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(s.data() + s.size() - end));
  Micros mult = 0;
  if (unit == "us")
    mult = 1;
  else if (unit == "ms")
    mult = 1000;
  else if (unit == "s")
    mult = kMicrosPerSecond;
  else if (unit == "m")
    mult = kMicrosPerMinute;
  else if (unit == "h")
    mult = kMicrosPerHour;
  else if (unit == "d")
    mult = kMicrosPerDay;
  else
    return std::nullopt;
  if (n > std::numeric_limits<Micros>::max() / mult) return std::nullopt;
  return n * mult;
}

std::string format_timestamp(Micros t) {
  const std::int64_t days = floor_div(t, kMicrosPerDay);
  const std::int64_t secs = floor_div(t - days * kMicrosPerDay, kMicrosPerSecond);
  const CivilDate c = civil_from_days(days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", c.year, c.month, c.day,
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                static_cast<int>(secs % 60));
  return buf;
}

std::string format_date(std::int32_t days) {
  const CivilDate c = civil_from_days(days);
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year, c.month, c.day);
  return buf;
}

}  // namespace vigil
