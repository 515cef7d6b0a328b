// Fast paths of the text scanners and parsers against their references. split_csv's
// register-at-a-time scan against the field-by-field reference split, on random
// records of separators, quotes and text of every length (SIMD blocks and scalar tails), with
// each separator and small field limits.
#include <catch2/catch.hpp>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "ingest/csv.h"
#include "ingest/values.h"

TEST_CASE("CSV split: register scan agrees with the field-by-field split", "[ingest]") {
  std::mt19937_64 rng(4180);
  std::vector<std::string_view> fast, general;
  std::string scratch_fast, scratch_general;
  for (const char delim : {',', '|', '\t', ';'}) {
    const std::string alphabet = std::string("ab \"\"\"") + delim + delim + delim + "x1";
    for (int n = 0; n < 40000; ++n) {
      const std::size_t len = rng() % 80;
      std::string rec(len, 'a');
      for (char& c : rec) c = alphabet[rng() % alphabet.size()];
      const std::size_t max_fields = rng() % 4 == 0 ? 1 + rng() % 6 : 256;
      const std::string_view e1 =
          vigil::ingest::split_csv(rec, fast, scratch_fast, max_fields, delim);
      const std::string_view e2 =
          vigil::ingest::split_csv_general(rec, general, scratch_general, max_fields, delim);
      INFO("record [" << rec << "] max_fields " << max_fields);
      REQUIRE(e1 == e2);
      REQUIRE(fast.size() == general.size());
      for (std::size_t i = 0; i < fast.size(); ++i) REQUIRE(fast[i] == general[i]);
    }
  }
}

// The digit parsers (eight digits at a time on their fast paths) against 128-bit arithmetic,
// on random digit strings of every length around the 8-digit steps and the 19-digit limit.
TEST_CASE("parse_unsigned and parse_scaled agree with exact 128-bit arithmetic", "[ingest]") {
  using vigil::ingest::NumError;
  std::mt19937_64 rng(1234567);
  const auto digits = [&](std::size_t n) {
    std::string s(n, '0');
    for (char& c : s) c = static_cast<char>('0' + rng() % 10);
    return s;
  };
  const auto value = [](std::string_view s) {
    unsigned __int128 v = 0;
    for (const char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
    return v;
  };
  for (int n = 0; n < 50000; ++n) {
    const std::string int_part = digits(1 + rng() % 22);
    // parse_unsigned
    const std::uint64_t max = rng() % 3 == 0 ? rng() : ~std::uint64_t{0};
    std::uint64_t u = 0;
    const NumError eu = vigil::ingest::parse_unsigned(int_part, max, u);
    INFO("text " << int_part);
    if (value(int_part) > max) {
      REQUIRE(eu == NumError::kRange);
    } else {
      REQUIRE(eu == NumError::kOk);
      REQUIRE(u == static_cast<std::uint64_t>(value(int_part)));
    }
    std::string bad = int_part;
    bad[rng() % bad.size()] = "x.-e "[rng() % 5];
    std::uint64_t ub = 0;
    const NumError eb = vigil::ingest::parse_unsigned(bad, ~std::uint64_t{0}, ub);
    if (bad.find_first_not_of("0123456789 ") != std::string::npos) {
      REQUIRE(eb != NumError::kOk);
    }
    // parse_scaled: [-]int[.frac] at scale 0..9
    const std::string frac = rng() % 3 == 0 ? std::string() : digits(1 + rng() % 10);
    const bool negative = rng() % 2 == 0;
    const int scale = static_cast<int>(rng() % 10);
    const std::string text = (negative ? "-" : "") + int_part + (frac.empty() ? "" : "." + frac);
    const std::int64_t max_abs = rng() % 2 == 0 ? std::numeric_limits<std::int64_t>::max()
                                                : static_cast<std::int64_t>(rng() >> 20);
    unsigned __int128 m = value(int_part + frac);
    const int shift = scale - static_cast<int>(frac.size());
    for (int k = 0; k < shift; ++k) m *= 10;
    if (shift < 0) {
      unsigned __int128 p = 1;
      for (int k = 0; k < -shift; ++k) p *= 10;
      const unsigned __int128 r = m % p;
      m = m / p + (r * 2 >= p ? 1 : 0);
    }
    std::int64_t v = 0;
    const NumError es = vigil::ingest::parse_scaled(text, scale, max_abs, v);
    INFO("scaled " << text << " scale " << scale << " max " << max_abs);
    if (m > static_cast<unsigned __int128>(max_abs)) {
      REQUIRE(es == NumError::kRange);
    } else {
      REQUIRE(es == NumError::kOk);
      REQUIRE(v == (negative ? -static_cast<std::int64_t>(m) : static_cast<std::int64_t>(m)));
    }
  }
}
