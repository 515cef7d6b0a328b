// FlagSet: expiry in event time, unflag, Bloom false positives confirmed away, snapshots.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <sstream>

#include "score/dispatch.h"
#include "score/program.h"
#include "score_test_util.h"
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

TEST_CASE("flags are active from flagged_at up to until, and unflag removes", "[score]") {
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

TEST_CASE("every arch's Bloom probe == the scalar probe, every tail", "[score][simd]") {
  std::mt19937_64 rng(4242);
  for (int round = 0; round < 6; ++round) {
    // Filters from sparse to nearly full, so that both outcomes are common.
    const std::size_t blocks_n = std::size_t{64} << (round % 3);
    std::vector<std::uint32_t> blocks(blocks_n * 8);
    for (auto& w : blocks) {
      w = static_cast<std::uint32_t>(rng());
      for (int k = 0; k < 1 + round / 2; ++k) w |= static_cast<std::uint32_t>(rng());
    }
    constexpr std::size_t kN = 300;
    std::vector<std::uint64_t> keys(kN);
    for (auto& k : keys) k = rng() >> (rng() % 64);  // small and large keys
    const std::uint64_t seed = rng();
    std::vector<std::uint8_t> want(kN);
    score::bloom_probe_scalar(blocks.data(), blocks_n - 1, keys.data(), seed, kN, want.data());
    std::size_t passes = 0;
    for (auto w : want) passes += w;
    CHECK(passes > 0);
    CHECK(passes < kN);
    for (ScoreArch a : available_score_archs()) {
      INFO(score_arch_name(a) << " round " << round);
      const score::BloomFn probe = score::bloom_function(a);
      for (std::size_t n = 0; n <= kN; ++n) {
        std::vector<std::uint8_t> got(n + 1, 9);
        probe(blocks.data(), blocks_n - 1, keys.data() + (kN - n), seed, n, got.data());
        REQUIRE(got[n] == 9);  // nothing written past n
        for (std::size_t i = 0; i < n; ++i) REQUIRE(got[i] == want[kN - n + i]);
      }
    }
  }
}

TEST_CASE("flag join on every arch: flagged, unflagged and expired keys, every tail",
          "[score][simd]") {
  std::mt19937_64 rng(77);
  Dictionary dict;
  FlagSet flags;
  std::vector<std::uint64_t> cards, merchants;
  for (int i = 0; i < 3000; ++i) {
    cards.push_back(rng());
    merchants.push_back(1 + rng() % 100000);
    const Micros until = i % 3 == 0 ? 400 : 1'000'000;  // a third expire mid-batch
    REQUIRE(flags.apply(flag(cards.back(), i % 5 == 0 ? 200 : 0, until, Field::kCcNum,
                             static_cast<StrId>(1000 + i))));
    REQUIRE(flags.apply(
        flag(merchants.back(), 0, until, Field::kMerchant, static_cast<StrId>(5000 + i))));
  }
  for (int i = 0; i < 3000; i += 4) {  // unflagged: stale bits stay in the filter
    FlagChange u = flag(cards[i], 0);
    u.flagged = false;
    flags.apply(u);
  }
  constexpr std::size_t kRows = 600;
  TransactionBatch batch(kRows);
  batch.set_size(kRows);
  for (std::size_t i = 0; i < kRows; ++i) {
    batch.cc_num[i] = rng() % 3 == 0 ? cards[rng() % cards.size()] : rng();
    batch.merchant[i] = static_cast<StrId>(rng() % 2 == 0 ? merchants[rng() % merchants.size()]
                                                          : 1 + rng() % 100000);
    batch.time[i] = static_cast<Micros>(rng() % 800);
  }
  Config c;
  c.rules.push_back(score_test::rule("CARD", "flagged(cc_num)", 100));
  c.rules.push_back(score_test::rule("MERCHANT", "flagged(merchant)", 10));
  const auto names = score_test::feature_names();
  FeatureMatrix features(names.size(), kRows);
  features.set_rows(kRows);
  auto scalar = Scorer::compile(c, names, dict, {ScoreArch::kScalar});
  REQUIRE(scalar.ok());
  std::vector<Decision> want(kRows);
  std::vector<FlagHit> want_hits;
  for (std::size_t i = 0; i < kRows; ++i) {
    for (Field f : {Field::kCcNum, Field::kMerchant}) {
      if (auto r = flags.find(f, batch.key(f, i), batch.time[i])) {
        want[i].score += f == Field::kCcNum ? 100 : 10;
        want_hits.push_back({static_cast<std::uint32_t>(i), f, *r});
      }
    }
  }
  CHECK(want_hits.size() > 50);
  for (ScoreArch a : available_score_archs()) {
    auto s = scalar->with_arch(a);
    REQUIRE(s.ok());
    INFO(s->arch_name());
    ScoreScratch scratch;
    std::vector<Decision> out(kRows);
    for (std::size_t n = 0; n <= kRows; n += (a == ScoreArch::kScalar ? 5 : 1)) {
      batch.set_size(n);
      REQUIRE(s->score(batch, features, flags, scratch, out).ok());
      for (std::size_t i = 0; i < n; ++i) REQUIRE(out[i].score == want[i].score);
      std::vector<FlagHit> hits_n;
      for (const FlagHit& h : want_hits) {
        if (h.row < n) hits_n.push_back(h);
      }
      const auto got = scratch.flagged_hits();
      REQUIRE(std::vector<FlagHit>(got.begin(), got.end()) == hits_n);
    }
    batch.set_size(kRows);
  }
}

TEST_CASE("sparse flag hits: probe == map lookup on every arch and tail", "[score][simd]") {
  // Mostly misses with a few hits and filter passes scattered among them, so that runs of
  // eight misses are skipped and the rows around them are still confirmed one by one.
  FlagSet flags;
  std::mt19937_64 rng(123);
  std::vector<std::uint64_t> keys;
  for (int i = 0; i < 500; ++i) {
    keys.push_back(rng());
    REQUIRE(flags.apply(flag(keys.back(), 0, i % 4 == 0 ? 300 : 1'000'000)));
  }
  constexpr std::size_t kRows = 700;
  TransactionBatch batch(kRows);
  batch.set_size(kRows);
  for (std::size_t i = 0; i < kRows; ++i) {
    batch.cc_num[i] = rng() % 40 == 0 ? keys[rng() % keys.size()] : rng();
    batch.time[i] = static_cast<Micros>(rng() % 600);
  }
  std::vector<std::uint8_t> want(kRows);
  for (std::size_t i = 0; i < kRows; ++i) {
    want[i] = flags.find(Field::kCcNum, batch.cc_num[i], batch.time[i]).has_value() ? 1 : 0;
  }
  CHECK(std::count(want.begin(), want.end(), 1) > 5);
  Config c;
  c.rules.push_back(score_test::rule("CARD", "flagged(cc_num)", 100));
  Dictionary dict;
  const auto names = score_test::feature_names();
  FeatureMatrix features(names.size(), kRows);
  features.set_rows(kRows);
  auto scalar = Scorer::compile(c, names, dict, {ScoreArch::kScalar});
  REQUIRE(scalar.ok());
  for (ScoreArch a : available_score_archs()) {
    auto s = scalar->with_arch(a);
    REQUIRE(s.ok());
    INFO(s->arch_name());
    ScoreScratch scratch;
    std::vector<Decision> out(kRows);
    for (std::size_t n = 0; n <= kRows; n += (a == ScoreArch::kScalar ? 3 : 1)) {
      batch.set_size(n);
      REQUIRE(s->score(batch, features, flags, scratch, out).ok());
      for (std::size_t i = 0; i < n; ++i) REQUIRE(out[i].score == (want[i] ? 100 : 0));
      std::vector<std::uint8_t> hits(n + 3, 9);
      flags.probe(batch, Field::kCcNum, hits);
      for (std::size_t i = 0; i < n; ++i) REQUIRE(hits[i] == want[i]);
      for (std::size_t i = n; i < n + 3; ++i) REQUIRE(hits[i] == 9);  // extra entries left
    }
    batch.set_size(kRows);
  }
}
