// Fixed-shape fast paths of the value parsers against their general forms: the word-at-a-time
// timestamp reader against parse_timestamp, and parse_double (four decimals at a time on its
// fast path) against std::from_chars, on valid, impossible and corrupted texts.
#include <catch2/catch.hpp>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include "ingest/values.h"

TEST_CASE("fixed-position timestamps agree with parse_timestamp", "[ingest]") {
  std::mt19937_64 rng(20261122);
  char buf[32];
  int accepted = 0;
  vigil::ingest::DateCache cache;  // shared: dates repeat (the day cache) or change
  int y = 2019, mo = 1, d = 1;
  for (int n = 0; n < 400000; ++n) {
    // Mostly plausible fields, some out of range (month 13, day 0 / 32, Feb 29, hour 24, ...);
    // half the time the previous date again.
    if (rng() % 2 == 0) {
      y = static_cast<int>(rng() % 4 == 0 ? rng() % 10000 : 1896 + rng() % 210);
      mo = static_cast<int>(rng() % 14);
      d = static_cast<int>(rng() % 33);
    }
    const int h = static_cast<int>(rng() % 26), mi = static_cast<int>(rng() % 62);
    const int s = static_cast<int>(rng() % 62);
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d%c%02d:%02d:%02d", y, mo, d,
                  rng() % 3 == 0 ? 'T' : ' ', h, mi, s);
    std::string text(buf);
    switch (rng() % 6) {
      case 0: text[rng() % text.size()] = static_cast<char>(rng() % 256); break;
      case 1: text[rng() % text.size()] = static_cast<char>('0' + rng() % 12 - 1); break;
      case 2: text.resize(rng() % text.size()); break;
      case 3: text += rng() % 2 ? "Z" : ".25"; break;
      default: break;
    }
    INFO("text [" << text << "]");
    vigil::Micros fast = 0, cached = 0;
    const bool ok = vigil::ingest::parse_timestamp_fixed(text, fast);
    REQUIRE(vigil::ingest::parse_timestamp_fixed(text, cached, cache) == ok);
    if (ok) REQUIRE(cached == fast);
    const auto general = vigil::parse_timestamp(text);
    if (ok) {
      REQUIRE(general.has_value());
      REQUIRE(fast == *general);
      ++accepted;
    } else if (text.size() == 19) {
      REQUIRE_FALSE(general.has_value());  // the one shape it reads, it reads entirely
    }
  }
  CHECK(accepted > 100000);
}

TEST_CASE("parse_double's fast path agrees with from_chars", "[ingest]") {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 400000; ++n) {
    std::string text = rng() % 3 == 0 ? "-" : "";
    const std::size_t int_digits = 1 + rng() % 9, frac_digits = rng() % 16;
    for (std::size_t i = 0; i < int_digits; ++i) text += static_cast<char>('0' + rng() % 10);
    if (frac_digits > 0 || rng() % 4 == 0) text += '.';
    for (std::size_t i = 0; i < frac_digits; ++i) text += static_cast<char>('0' + rng() % 10);
    if (rng() % 5 == 0) text[rng() % text.size()] = "x.9-e/:"[rng() % 7];
    INFO("text [" << text << "]");
    double fast = 0;
    const vigil::ingest::NumError e = vigil::ingest::parse_double(text, fast);
    double ref = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ref);
    const bool ref_ok = ec == std::errc() && end == text.data() + text.size();
    REQUIRE((e == vigil::ingest::NumError::kOk) == ref_ok);
    if (ref_ok) {
      std::uint64_t a, b;
      std::memcpy(&a, &fast, 8);
      std::memcpy(&b, &ref, 8);
      REQUIRE(a == b);
    }
  }
}
