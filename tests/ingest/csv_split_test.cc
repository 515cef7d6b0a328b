// split_csv's register-at-a-time scan against the field-by-field reference split, on random
// records of separators, quotes and text of every length (SIMD blocks and scalar tails), with
// each separator and small field limits.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "ingest/csv.h"

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
