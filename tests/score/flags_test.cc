// FlagSet: expiry in event time, unflag, Bloom false positives confirmed away, snapshots.
#include <catch2/catch.hpp>
#include <random>
#include <sstream>

#include "vigil/score.h"

using namespace vigil;  // NOLINT: test file

namespace {

FlagChange flag(std::uint64_t key, Micros from, Micros until = std::numeric_limits<Micros>::max(),
                Field field = Field::kCcNum, StrId reason = 7) {
  FlagChange c;
  c.entity = field;
  c.key = key;
  c.time = from;
  c.until = until;
  c.reason = reason;
  return c;
}

}  // namespace

TEST_CASE("flags are active in [flagged_at, until) and unflag removes", "[score]") {
  FlagSet flags;
  REQUIRE(flags.apply(flag(42, 100, 200)));
  CHECK_FALSE(flags.find(Field::kCcNum, 42, 99).has_value());
  CHECK(flags.find(Field::kCcNum, 42, 100) == StrId{7});
  CHECK(flags.find(Field::kCcNum, 42, 199).has_value());
  CHECK_FALSE(flags.find(Field::kCcNum, 42, 200).has_value());
  CHECK_FALSE(flags.find(Field::kMerchant, 42, 150).has_value());  // fields are separate

  FlagChange unflag = flag(42, 150);
  unflag.flagged = false;
  REQUIRE(flags.apply(unflag));
  CHECK(flags.size() == 0);
  CHECK_FALSE(flags.find(Field::kCcNum, 42, 160).has_value());
  FlagChange bad = flag(1, 0, 10, Field::kAmt);
  CHECK_FALSE(flags.apply(bad));

  REQUIRE(flags.apply(flag(5, 0, 100)));
  REQUIRE(flags.apply(flag(6, 0, 300)));
  CHECK(flags.purge_expired(100) == 1);
  CHECK(flags.size() == 1);
}

TEST_CASE("config flags parse their id by field", "[score]") {
  Dictionary dict;
  FlagSet flags;
  FlagSpec s;
  s.entity = Field::kMerchant;
  s.id = "fraud_Kirlin and Sons";
  s.reason = "compromised terminal";
  REQUIRE(flags.add(s, dict).ok());
  CHECK(flags.find(Field::kMerchant, *dict.find("fraud_Kirlin and Sons"), 0) ==
        dict.find("compromised terminal"));
  s.entity = Field::kCcNum;
  s.id = "12x";
  CHECK(flags.add(s, dict).code() == ErrorCode::kInvalidArgument);
  s.entity = Field::kGender;
  s.id = "F";
  CHECK(flags.add(s, dict).ok());
  s.entity = Field::kAmt;
  CHECK_FALSE(flags.add(s, dict).ok());
}

TEST_CASE("batch probe matches a map lookup on every row, whatever the filter says",
          "[score][simd]") {
  // Many keys in a small universe of probes: plenty of filter false positives to confirm away,
  // plus unflagged and expired keys whose bits stay in the filter.
  FlagSet flags;
  std::mt19937_64 rng(11);
  std::vector<std::uint64_t> keys;
  for (int i = 0; i < 20000; ++i) {
    keys.push_back(rng());
    REQUIRE(flags.apply(flag(keys.back(), 0, (i % 3 == 0) ? 500 : 1'000'000)));
  }
  for (int i = 0; i < 20000; i += 5) {
    FlagChange u = flag(keys[i], 0);
    u.flagged = false;
    flags.apply(u);
  }
  TransactionBatch batch(1024);
  batch.set_size(1000);
  for (std::size_t i = 0; i < 1000; ++i) {
    batch.cc_num[i] = (i % 2 == 0) ? keys[rng() % keys.size()] : rng();
    batch.time[i] = static_cast<Micros>(rng() % 1000);
  }
  std::vector<std::uint8_t> hits(1000, 9);
  flags.probe(batch, Field::kCcNum, hits);
  std::size_t n_hits = 0;
  for (std::size_t i = 0; i < 1000; ++i) {
    const bool want = flags.find(Field::kCcNum, batch.cc_num[i], batch.time[i]).has_value();
    REQUIRE(hits[i] == (want ? 1 : 0));
    n_hits += hits[i];
  }
  CHECK(n_hits > 100);
  CHECK(flags.memory_bytes() > 0);
}

TEST_CASE("flag snapshots are byte-stable and restore exactly", "[score]") {
  FlagSet a, b;
  for (std::uint64_t k = 0; k < 100; ++k) REQUIRE(a.apply(flag(k * 7919, 10, 20 + k)));
  for (std::uint64_t k = 100; k-- > 0;) REQUIRE(b.apply(flag(k * 7919, 10, 20 + k)));  // reversed
  std::ostringstream sa, sb;
  REQUIRE(a.snapshot(sa).ok());
  REQUIRE(b.snapshot(sb).ok());
  CHECK(sa.str() == sb.str());

  FlagSet c;
  std::istringstream in(sa.str());
  REQUIRE(c.restore(in).ok());
  CHECK(c.size() == 100);
  CHECK(c.find(Field::kCcNum, 5 * 7919, 24).has_value());
  CHECK_FALSE(c.find(Field::kCcNum, 5 * 7919, 25).has_value());

  std::string bytes = sa.str();
  bytes[bytes.size() / 2] ^= 0x40;
  std::istringstream bad(bytes);
  CHECK_FALSE(c.restore(bad).ok());
  CHECK(c.size() == 100);  // unchanged
}
