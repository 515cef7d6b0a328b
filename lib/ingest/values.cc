#include "ingest/values.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace vigil::ingest {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

bool is_non_finite_word(std::string_view s) noexcept {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  return iequals(s, "nan") || iequals(s, "inf") || iequals(s, "infinity");
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Eight ASCII digits in a little-endian word (first digit in the low byte) as their value
// (false when any byte is not a digit), in a few multiplications instead of eight dependent
// steps (the SWAR form simdjson uses).
bool eight_digits_word(std::uint64_t w, std::uint64_t& out) noexcept {
  if constexpr (std::endian::native != std::endian::little) {
    return false;
  } else {
    if ((((w & 0xF0F0F0F0F0F0F0F0ULL) |
          (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) != 0x3333333333333333ULL)) {
      return false;
    }
    w -= 0x3030303030303030ULL;
    w = (w * 10) + (w >> 8);
    out = (((w & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
           (((w >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
          32;
    return true;
  }
}

// Eight ASCII digits at p as their value (false when any byte is not a digit).
bool eight_digits(const char* p, std::uint64_t& out) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return eight_digits_word(w, out);
}

// Four ASCII digits at p as their value (false when any byte is not a digit), the same way.
bool four_digits(const char* p, std::uint32_t& out) noexcept {
  if constexpr (std::endian::native != std::endian::little) {
    return false;
  } else {
    std::uint32_t w;
    std::memcpy(&w, p, sizeof w);
    if (((w & 0xF0F0F0F0u) | (((w + 0x06060606u) & 0xF0F0F0F0u) >> 4)) != 0x33333333u) {
      return false;
    }
    w -= 0x30303030u;
    w = w * 10 + (w >> 8);  // byte k: 10 * digit k + digit k+1
    out = (w & 0xFF) * 100 + ((w >> 16) & 0xFF);
    return true;
  }
}

}  // namespace

NumError parse_scaled(std::string_view text, int scale, std::int64_t max_abs,
                      std::int64_t& out) noexcept {
  const std::string_view s = trim(text);
  // Fast path for the common shape, [-]digits[.digits] with no more decimals than `scale` and
  // few enough digits that nothing can overflow: exact without rounding. Anything else (an
  // exponent, more decimals, a sign '+', many digits) takes the general path below.
  if (scale >= 0 && scale <= 9 && !s.empty()) {
    std::size_t i = s[0] == '-' ? 1 : 0;
    const std::size_t int_begin = i;
    std::uint64_t acc = 0;
    for (std::uint64_t eight; i + 8 <= s.size() && eight_digits(s.data() + i, eight); i += 8) {
      acc = acc * 100'000'000 + eight;  // may wrap for long texts: the length check refuses them
    }
    while (i < s.size() && is_digit(s[i])) acc = acc * 10 + static_cast<unsigned>(s[i++] - '0');
    const std::size_t int_len = i - int_begin;
    std::size_t frac_len = 0;
    bool ok = int_len > 0 && int_len + static_cast<std::size_t>(scale) <= 18;
    if (ok && i < s.size()) {
      ok = s[i] == '.';
      ++i;
      while (ok && i < s.size() && is_digit(s[i]) && frac_len < static_cast<std::size_t>(scale)) {
        acc = acc * 10 + static_cast<unsigned>(s[i++] - '0');
        ++frac_len;
      }
      ok = ok && frac_len > 0 && i == s.size();
    }
    if (ok) {
      static constexpr std::uint64_t kPow10[] = {1,      10,      100,      1000,      10000,
                                                 100000, 1000000, 10000000, 100000000, 1000000000};
      acc *= kPow10[static_cast<std::size_t>(scale) - frac_len];
      if (acc > static_cast<std::uint64_t>(max_abs)) return NumError::kRange;
      out = int_begin == 1 ? -static_cast<std::int64_t>(acc) : static_cast<std::int64_t>(acc);
      return NumError::kOk;
    }
  }
  std::size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  const std::size_t int_begin = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  const std::string_view int_digits = s.substr(int_begin, i - int_begin);
  std::string_view frac_digits;
  if (i < s.size() && s[i] == '.') {
    const std::size_t frac_begin = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    frac_digits = s.substr(frac_begin, i - frac_begin);
  }
  if (int_digits.empty() && frac_digits.empty()) {
    return is_non_finite_word(s) ? NumError::kNonFinite : NumError::kNotNumber;
  }
  std::int64_t exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) exp_negative = s[i++] == '-';
    const std::size_t exp_begin = i;
    while (i < s.size() && is_digit(s[i])) {
      // Saturate: any exponent beyond ±1e6 already gives 0 or overflow below.
      if (exponent < 1'000'000) exponent = exponent * 10 + (s[i] - '0');
      ++i;
    }
    if (i == exp_begin) return NumError::kNotNumber;
    if (exp_negative) exponent = -exponent;
  }
  if (i != s.size()) return NumError::kNotNumber;

  // value = 0.d1 d2 d3 … × 10^point over the concatenated digits; the result keeps the digits
  // before index `cut` and rounds on the digit at `cut`.
  const std::size_t n = int_digits.size() + frac_digits.size();
  const auto digit = [&](std::size_t k) {
    return k < int_digits.size() ? int_digits[k] - '0' : frac_digits[k - int_digits.size()] - '0';
  };
  const std::int64_t cut =
      static_cast<std::int64_t>(int_digits.size()) + exponent + static_cast<std::int64_t>(scale);
  const auto limit = static_cast<std::uint64_t>(max_abs);
  std::uint64_t acc = 0;
  const std::size_t kept =
      cut <= 0
          ? 0
          : static_cast<std::size_t>(std::min<std::int64_t>(cut, static_cast<std::int64_t>(n)));
  for (std::size_t k = 0; k < kept; ++k) {
    const auto d = static_cast<std::uint64_t>(digit(k));
    if (acc > (limit - d) / 10) return NumError::kRange;
    acc = acc * 10 + d;
  }
  if (cut > static_cast<std::int64_t>(n) && acc != 0) {
    for (std::int64_t k = static_cast<std::int64_t>(n); k < cut; ++k) {
      if (acc > limit / 10) return NumError::kRange;
      acc *= 10;
    }
  }
  if (cut >= 0 && cut < static_cast<std::int64_t>(n) && digit(static_cast<std::size_t>(cut)) >= 5) {
    if (acc >= limit) return NumError::kRange;
    ++acc;  // half away from zero: the magnitude rounds up, the sign is applied after
  }
  out = negative ? -static_cast<std::int64_t>(acc) : static_cast<std::int64_t>(acc);
  return NumError::kOk;
}

NumError parse_unsigned(std::string_view text, std::uint64_t max, std::uint64_t& out) noexcept {
  const std::string_view s = trim(text);
  if (s.empty()) return NumError::kNotNumber;
  if (s.size() <= 19) {  // fast path: 19 digits cannot overflow 64 bits
    std::uint64_t acc = 0;
    std::size_t i = 0;
    for (std::uint64_t eight; i + 8 <= s.size() && eight_digits(s.data() + i, eight); i += 8) {
      acc = acc * 100'000'000 + eight;
    }
    for (; i < s.size() && is_digit(s[i]); ++i) acc = acc * 10 + static_cast<unsigned>(s[i] - '0');
    if (i == s.size()) {
      if (acc > max) return NumError::kRange;
      out = acc;
      return NumError::kOk;
    }
  }
  if (s[0] == '-') {
    for (std::size_t i = 1; i < s.size(); ++i) {
      if (!is_digit(s[i])) return NumError::kNotNumber;
    }
    return s.size() > 1 ? NumError::kRange : NumError::kNotNumber;
  }
  std::uint64_t acc = 0;
  for (const char c : s) {
    if (!is_digit(c)) return NumError::kNotNumber;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (acc > (max - d) / 10) {
      // Keep scanning so "12x…" is a type error, not a range error.
      for (const char rest : s) {
        if (!is_digit(rest)) return NumError::kNotNumber;
      }
      return NumError::kRange;
    }
    acc = acc * 10 + d;
  }
  out = acc;
  return NumError::kOk;
}

NumError parse_double(std::string_view text, double& out) noexcept {
  std::string_view s = trim(text);
  // Coordinates' shape, [-]d{1,7}.d{1,8} in 8..24 bytes: the decimals are the top bytes of the
  // text's last eight, read in one load with the bytes before them masked to '0' (leading
  // zeros: the value is unchanged). The same m and k as the loop below (at most 15 digits), so
  // the same division.
  if constexpr (std::endian::native == std::endian::little) {
    if (s.size() >= 8 && s.size() <= 24) {
      const char* const p = s.data();
      const std::size_t n = s.size();
      std::size_t i = p[0] == '-' ? 1 : 0;
      const std::size_t int_begin = i;
      std::uint64_t whole = 0;
      while (i < n && is_digit(p[i])) whole = whole * 10 + static_cast<unsigned>(p[i++] - '0');
      const std::size_t int_len = i - int_begin;
      const std::size_t decimals = n - i - 1;  // wraps when i == n: refused below
      if (int_len > 0 && int_len <= 7 && i < n && p[i] == '.' && decimals >= 1 && decimals <= 8) {
        std::uint64_t w;
        std::memcpy(&w, p + n - 8, 8);
        const std::uint64_t keep = ~std::uint64_t{0} << (8 * (8 - decimals));
        w = (w & keep) | (0x3030303030303030ULL & ~keep);
        std::uint64_t frac = 0;
        if (eight_digits_word(w, frac)) {
          static constexpr std::uint64_t kScale[] = {1,      10,      100,      1000,     10000,
                                                     100000, 1000000, 10000000, 100000000};
          static constexpr double kDiv[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
          const double v = static_cast<double>(whole * kScale[decimals] + frac) / kDiv[decimals];
          out = int_begin == 1 ? -v : v;
          return NumError::kOk;
        }
      }
    }
  }
  // Clinger's fast path for [-]digits[.digits]: with at most 15 significant digits and 22
  // decimals, the value is m / 10^k with both exactly representable, and one IEEE division
  // rounds it correctly, as from_chars would.
  if (!s.empty() && s.size() <= 24) {
    std::size_t i = s[0] == '-' ? 1 : 0;
    const std::size_t int_begin = i;
    std::uint64_t m = 0;
    while (i < s.size() && is_digit(s[i])) m = m * 10 + static_cast<unsigned>(s[i++] - '0');
    std::size_t digits = i - int_begin;
    std::size_t frac = 0;
    bool ok = digits > 0;
    if (ok && i < s.size()) {
      ok = s[i++] == '.';
      // Coordinates carry about six decimals: four at a time, then one by one (m may wrap
      // for long texts; the digit count refuses them below).
      for (std::uint32_t four; i + 4 <= s.size() && four_digits(s.data() + i, four); i += 4) {
        m = m * 10000 + four;
        frac += 4;
      }
      while (i < s.size() && is_digit(s[i])) {
        m = m * 10 + static_cast<unsigned>(s[i++] - '0');
        ++frac;
      }
      ok = ok && frac > 0 && i == s.size();
      digits += frac;
    }
    if (ok && digits <= 15) {
      static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                          1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                          1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
      const double v = static_cast<double>(m) / kPow10[frac];
      out = int_begin == 1 ? -v : v;
      return NumError::kOk;
    }
  }
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return NumError::kNotNumber;
  if (is_non_finite_word(s)) return NumError::kNonFinite;
  // from_chars would accept "inf"/"nan" spellings and hex-less forms only; words were handled
  // above, so anything it rejects is not a number.
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) return NumError::kRange;
  if (ec != std::errc() || end != s.data() + s.size()) return NumError::kNotNumber;
  if (!std::isfinite(v)) return NumError::kNonFinite;
  out = v;
  return NumError::kOk;
}

NumError parse_epoch(std::string_view text, Micros& out) noexcept {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t whole = 0;
  if (const NumError e = parse_scaled(text, 0, kMax, whole); e != NumError::kOk) return e;
  const std::uint64_t mag =
      whole < 0 ? 0 - static_cast<std::uint64_t>(whole) : static_cast<std::uint64_t>(whole);
  int scale = 6;  // seconds → µs
  if (mag >= 100'000'000'000'000'000ULL) {
    scale = -3;  // ns
  } else if (mag >= 100'000'000'000'000ULL) {
    scale = 0;  // µs
  } else if (mag >= 100'000'000'000ULL) {
    scale = 3;  // ms
  }
  return parse_scaled(text, scale, kMax, out);
}

bool parse_timestamp_fixed(std::string_view s, Micros& out, DateCache& cache) noexcept {
  if constexpr (std::endian::native != std::endian::little) {
    return false;
  } else {
    if (s.size() != 19 || (s[10] != ' ' && s[10] != 'T')) return false;
    std::uint64_t a, c;  // "YYYY-MM-" and "HH:MM:SS" (bytes 0..7 and 11..18)
    std::uint16_t dd;    // "DD"
    std::memcpy(&a, s.data(), 8);
    std::memcpy(&dd, s.data() + 8, 2);
    std::memcpy(&c, s.data() + 11, 8);
    constexpr std::uint64_t kSepA = 0xFF0000FF00000000ULL;  // bytes 4, 7
    constexpr std::uint64_t kDashes = 0x2D00002D00000000ULL;
    constexpr std::uint64_t kSepC = 0x0000FF0000FF0000ULL;  // bytes 2, 5
    constexpr std::uint64_t kColons = 0x00003A00003A0000ULL;
    constexpr std::uint64_t kZeros = 0x3030303030303030ULL;
    // With the separators made '0', every byte must be a digit (eight_digits' test).
    const auto all_digits = [](std::uint64_t w) {
      return ((w & 0xF0F0F0F0F0F0F0F0ULL) |
              (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
             0x3333333333333333ULL;
    };
    const std::uint64_t dc = (c & ~kSepC) | (kZeros & kSepC);
    if ((c & kSepC) != kColons || !all_digits(dc)) return false;
    // Byte k of x * 10 + (x >> 8) is 10 * digit k + digit k+1 (at most 99: no carries).
    const auto byte = [](std::uint64_t w, int k) {
      return static_cast<unsigned>(w >> (8 * k)) & 0xFF;
    };
    const std::uint64_t xc = dc - kZeros;
    const std::uint64_t pc = xc * 10 + (xc >> 8);
    const unsigned h = byte(pc, 0), mi = byte(pc, 3), sec = byte(pc, 6);
    if (h > 23 || mi > 59 || sec > 60) return false;
    const Micros time_of_day = static_cast<Micros>(h) * kMicrosPerHour +
                               static_cast<Micros>(mi) * kMicrosPerMinute +
                               static_cast<Micros>(sec) * kMicrosPerSecond;
    if (cache.valid && cache.ymd == a && cache.dd == dd) {  // a date already checked
      out = cache.midnight + time_of_day;
      return true;
    }
    const unsigned d1 = static_cast<unsigned char>(s[8]) - unsigned{'0'};
    const unsigned d0 = static_cast<unsigned char>(s[9]) - unsigned{'0'};
    const std::uint64_t da = (a & ~kSepA) | (kZeros & kSepA);
    if ((a & kSepA) != kDashes || !all_digits(da) || d1 > 9 || d0 > 9) return false;
    const std::uint64_t xa = da - kZeros;
    const std::uint64_t pa = xa * 10 + (xa >> 8);
    const int y = static_cast<int>(byte(pa, 0) * 100 + byte(pa, 2));
    const unsigned mo = byte(pa, 5), d = d1 * 10 + d0;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return false;
    cache.ymd = a;
    cache.dd = dd;
    cache.valid = true;
    cache.midnight = days_from_civil(y, mo, d) * kMicrosPerDay;
    out = cache.midnight + time_of_day;
    return true;
  }
}

bool parse_timestamp_fixed(std::string_view s, Micros& out) noexcept {
  DateCache cache;
  return parse_timestamp_fixed(s, out, cache);
}

std::string quote(std::string_view text) {
  constexpr std::size_t kMax = 40;
  std::string q = "'";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      q += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      q += "\\x";
      q += kHex[c >> 4];
      q += kHex[c & 15];
    }
  }
  if (text.size() > kMax) q += "...";
  q += '\'';
  return q;
}

std::size_t first_invalid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // bounds of the second byte (RFC 3629 table)
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return n;
}

}  // namespace vigil::ingest
