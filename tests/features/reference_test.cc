// The feature store against the brute-force reference (reference.h) on randomized streams:
// many keys, ties in time, late events within and beyond the lateness bound, idle-key
// eviction, random batch sizes and snapshot / restore at random points.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <sstream>

#include "features/reference.h"
#include "vigil/features.h"

namespace vigil::test {
namespace {

Config reference_config(LatePolicy policy) {
  Config cfg;
  cfg.lateness = 10 * kMicrosPerMinute;
  cfg.late_policy = policy;
  cfg.limits.idle_ttl = 3 * kMicrosPerHour;
  const Micros m = kMicrosPerMinute, h = kMicrosPerHour;
  cfg.features = {
      spec("card_count_15m", Field::kCcNum, Agg::kCount, std::nullopt, 15 * m),
      spec("card_sum_1h", Field::kCcNum, Agg::kSum, Field::kAmt, h),
      spec("card_avg_15m", Field::kCcNum, Agg::kAvg, Field::kAmt, 15 * m),
      spec("card_std_1h", Field::kCcNum, Agg::kStd, Field::kAmt, h),
      spec("card_min_1h", Field::kCcNum, Agg::kMin, Field::kAmt, h),
      spec("card_max_15m", Field::kCcNum, Agg::kMax, Field::kAmt, 15 * m),
      spec("card_merchants_1h", Field::kCcNum, Agg::kDistinct, Field::kMerchant, h),
      spec("card_count_90s", Field::kCcNum, Agg::kCount, std::nullopt, 90 * kMicrosPerSecond),
      spec("card_sum_90s", Field::kCcNum, Agg::kSum, Field::kAmt, 90 * kMicrosPerSecond),
      spec("card_min_90s", Field::kCcNum, Agg::kMin, Field::kAmt, 90 * kMicrosPerSecond),
      spec("merchant_cards_90s", Field::kMerchant, Agg::kDistinct, Field::kCcNum,
           90 * kMicrosPerSecond),
      spec("merchant_count_90s", Field::kMerchant, Agg::kCount, std::nullopt,
           90 * kMicrosPerSecond),
      spec("merchant_avg_1h", Field::kMerchant, Agg::kAvg, Field::kAmt, h),
      spec("merchant_cards_1h", Field::kMerchant, Agg::kDistinct, Field::kCcNum, h),
      spec("merchant_std_15m", Field::kMerchant, Agg::kStd, Field::kAmt, 15 * m),
      spec("category_max_15m", Field::kCategory, Agg::kMax, Field::kAmt, 15 * m),
      spec("card_mlat_avg_1h", Field::kCcNum, Agg::kAvg, Field::kMerchLat, h),
      spec("card_mlat_min_1h", Field::kCcNum, Agg::kMin, Field::kMerchLat, h),
      spec("card_pop_sum_1h", Field::kCcNum, Agg::kSum, Field::kCityPop, h),
      spec("card_pop_max_15m", Field::kCcNum, Agg::kMax, Field::kCityPop, 15 * m),
      spec("state_count_1h", Field::kState, Agg::kCount, std::nullopt, h),
      spec("state_dob_avg_1h", Field::kState, Agg::kAvg, Field::kDob, h),
  };
  return cfg;
}

bool close(double a, double b) {
  if (std::isnan(b)) return std::isnan(a);
  if (std::isnan(a)) return false;
  return std::fabs(a - b) <= 1e-9 * std::max(std::fabs(b), 1.0);
}

std::string snap(const FeatureStore& s) {
  std::ostringstream os;
  REQUIRE(s.snapshot(os).ok());
  return os.str();
}

struct RunResult {
  std::vector<double> values;  // row-major, every column
  std::uint64_t late = 0;
  std::uint64_t most_cold = 0;  // most cold keys after any batch
};

// Streams `txs` through a store in random batches (with random snapshot / restore when
// `restore_rate` > 0) and checks every row against the reference.
RunResult run_and_check(const Config& cfg, const std::vector<Transaction>& txs, std::uint64_t seed,
                        std::size_t max_batch, double restore_rate) {
  Dictionary dict;
  auto created = FeatureStore::create(cfg, dict);
  REQUIRE(created.ok());
  FeatureStore store = std::move(*created);
  Reference ref(cfg, cfg.limits.idle_ttl);
  const auto& names = store.column_names();
  const std::size_t cols = names.size();
  std::mt19937_64 rng(seed);
  RunResult out;
  FeatureMatrix m;
  std::vector<std::uint32_t> late;
  std::size_t i = 0;
  std::size_t mismatches = 0;
  while (i < txs.size()) {
    const std::size_t n = std::min<std::size_t>(1 + rng() % max_batch, txs.size() - i);
    TransactionBatch batch(n);
    for (std::size_t k = 0; k < n; ++k) batch.push_back(txs[i + k]);
    late.clear();
    REQUIRE(store.process(batch, m, &late).ok());
    REQUIRE(m.rows() == n);
    for (std::size_t k = 0; k < n; ++k) {
      bool dead = false;
      const std::vector<double> want = ref.process(txs[i + k], &dead);
      const bool reported = std::find(late.begin(), late.end(), k) != late.end();
      if (reported != dead) {
        FAIL_CHECK("row " << i + k << ": late reported " << reported << ", reference " << dead);
        ++mismatches;
      }
      out.late += dead;
      for (std::size_t c = 0; c < cols; ++c) {
        const double got = m.at(k, c);
        out.values.push_back(got);
        if (!close(got, want[c]) && ++mismatches <= 10) {
          FAIL_CHECK("row " << i + k << " column " << names[c] << ": got " << got << ", reference "
                            << want[c]);
        }
      }
    }
    REQUIRE(mismatches == 0);
    out.most_cold = std::max(out.most_cold, store.stats().cold_keys);
    i += n;
    if (restore_rate > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < restore_rate) {
      const std::string bytes = snap(store);
      Dictionary dict2;
      auto fresh = FeatureStore::create(cfg, dict2);
      REQUIRE(fresh.ok());
      std::istringstream is(bytes);
      const Status st = fresh->restore(is);
      REQUIRE(st.ok());
      REQUIRE(snap(*fresh) == bytes);  // same state, same bytes
      store = std::move(*fresh);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("random streams match the brute-force reference", "[features]") {
  for (const LatePolicy policy : {LatePolicy::kDeadLetter, LatePolicy::kAcceptAsArrival}) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      CAPTURE(seed, static_cast<int>(policy));
      StreamOptions o;
      o.seed = seed;
      o.events = 6000;
      o.cards = 300;  // sparse cards: idle gaps longer than the 3 h TTL get evicted
      const Config cfg = reference_config(policy);
      const RunResult r = run_and_check(cfg, make_stream(o), seed * 7, 300, 0.05);
      if (policy == LatePolicy::kDeadLetter) CHECK(r.late > 0);
    }
  }
}

// Keys idle StoreLimits::cold_after keep only their events (lib/features: Group::cold) and
// have their sums, cursors, queues and distinct sets rebuilt when seen again: the reference
// must not tell, and neither may the bits, next to a store whose keys never go cold.
TEST_CASE("cold keys rebuild their records exactly", "[features]") {
  for (const LatePolicy policy : {LatePolicy::kDeadLetter, LatePolicy::kAcceptAsArrival}) {
    CAPTURE(static_cast<int>(policy));
    StreamOptions o;
    o.seed = 31;
    o.events = 6000;
    o.cards = 300;  // each card idle ~100 minutes between its events
    auto txs = make_stream(o);
    // An amount past what 4 bytes hold widens the field for every ring, cold ones included.
    txs[3000].amt_cents = 5'000'000'000;
    Config cold = reference_config(policy);
    cold.limits.cold_after = 2 * kMicrosPerMinute;
    Config hot = cold;
    hot.limits.cold_after = 0;
    const RunResult a = run_and_check(cold, txs, 5, 300, 0.05);
    const RunResult b = run_and_check(hot, txs, 5, 300, 0.05);
    CHECK(a.most_cold > 100);
    CHECK(b.most_cold == 0);
    REQUIRE(a.values.size() == b.values.size());
    CHECK(std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(double)) == 0);
  }
}

// The memory target (DESIGN.md): at most 64 bytes per idle card besides its events.
TEST_CASE("an idle card keeps at most 64 bytes besides its events", "[features]") {
  Config cfg;
  const Micros h = kMicrosPerHour, d = kMicrosPerDay;
  cfg.features = {spec("card_count_1h", Field::kCcNum, Agg::kCount, std::nullopt, h),
                  spec("card_amt_sum_24h", Field::kCcNum, Agg::kSum, Field::kAmt, d),
                  spec("card_amt_max_24h", Field::kCcNum, Agg::kMax, Field::kAmt, d),
                  spec("card_merchants_24h", Field::kCcNum, Agg::kDistinct, Field::kMerchant, d)};
  cfg.limits.idle_ttl = 4 * d;  // a sweep a day
  cfg.limits.cold_after = h;
  Dictionary dict;
  auto store = FeatureStore::create(cfg, dict);
  REQUIRE(store.ok());
  constexpr std::size_t kCards = 20'000;
  const Micros t0 = 1'600'000'000LL * kMicrosPerSecond;
  FeatureMatrix m;
  TransactionBatch batch;
  auto flush = [&] {
    REQUIRE(store->process(batch, m).ok());
    batch = TransactionBatch();
  };
  auto add = [&](std::uint64_t card, Micros t) {
    Transaction tx;
    tx.cc_num = card;
    tx.time = t;
    tx.amt_cents = 1234;
    tx.merchant = dict.intern("m" + std::to_string(card % 7));
    if (!batch.push_back(tx)) {
      flush();
      batch.push_back(tx);
    }
  };
  for (std::size_t c = 0; c < kCards; ++c) add(1'000'000 + c, t0 + static_cast<Micros>(c) * 1000);
  // One busy card through the next two days: the sweeps walk every key (16 a row).
  for (std::size_t i = 0; i < 3000; ++i) add(7, t0 + d + static_cast<Micros>(i) * kMicrosPerMinute);
  flush();
  const FeatureStoreStats st = store->stats();
  CHECK(st.keys == kCards + 1);
  CHECK(st.cold_keys == kCards);
  const double per_key = static_cast<double>(st.key_bytes) / static_cast<double>(st.keys);
  INFO("key bytes per card " << per_key << ", other bytes " << st.other_bytes);
  CHECK(per_key <= 64);
  CHECK(st.other_bytes < 1024);  // the busy card's queue: none left behind by the others
  // Their rings fit their one event each (a cold key's ring is trimmed to its size).
  CHECK(st.event_bytes < (kCards + 2000) * 32);
}

// Records of keys that went cold or left give their pages back; a page taken again offers
// slots past any taken before, and the sweep must still reach every one of them.
TEST_CASE("pages given back are taken again and swept", "[features]") {
  Config cfg;
  const Micros d = kMicrosPerDay;
  cfg.features = {spec("card_sum_1h", Field::kCcNum, Agg::kSum, Field::kAmt, kMicrosPerHour)};
  cfg.limits.idle_ttl = 4 * d;  // a sweep a day
  cfg.limits.cold_after = kMicrosPerHour;
  Dictionary dict;
  auto store = FeatureStore::create(cfg, dict);
  REQUIRE(store.ok());
  const Micros t0 = 1'600'000'000LL * kMicrosPerSecond;
  FeatureMatrix m;
  auto run = [&](std::uint64_t first, std::size_t cards, Micros at, Micros step) {
    TransactionBatch batch;
    for (std::size_t c = 0; c < cards; ++c) {
      Transaction tx;
      tx.cc_num = first + (step == 0 ? c : 0);
      tx.time = at + static_cast<Micros>(c) * (step == 0 ? 1000 : step);
      tx.amt_cents = 100;
      if (!batch.push_back(tx)) {
        REQUIRE(store->process(batch, m).ok());
        batch = TransactionBatch();
        batch.push_back(tx);
      }
    }
    REQUIRE(store->process(batch, m).ok());
  };
  run(7, 1, t0, 0);                        // slot 0: keeps the first page
  run(1'000'000, 1500, t0, 0);             // slots 1 .. 1500
  run(7, 2000, t0 + d, kMicrosPerMinute);  // a sweep: the 1500 go cold
  CHECK(store->stats().cold_keys == 1500);
  run(1'000'000, 2000, t0 + 5 * d / 2, 0);  // back, 500 more: a page taken again, past n_slots
  CHECK(store->stats().cold_keys == 0);
  CHECK(m.at(0, store->column_index("card_sum_1h")) == 1.0);
  run(9, 2000, t0 + 7 * d, kMicrosPerMinute);  // past the TTL of all but card 9
  const FeatureStoreStats st = store->stats();
  CHECK(st.keys == 1);
  CHECK(st.events_held <= 72);  // card 9: its last 70 minutes (1h window + lateness)
}

TEST_CASE("dense keys, long windows, late events", "[features]") {
  StreamOptions o;
  o.seed = 11;
  o.events = 8000;
  o.cards = 8;
  o.merchants = 4;
  o.late_rate = 0.2;
  o.tie_rate = 0.3;
  o.max_late = 12 * kMicrosPerMinute;
  run_and_check(reference_config(LatePolicy::kDeadLetter), make_stream(o), 3, 64, 0.02);
  run_and_check(reference_config(LatePolicy::kAcceptAsArrival), make_stream(o), 4, 64, 0.0);
}

// Distinct, min and max of a window are kept by scanning the window while it is small and by a
// hash set / monotonic queue past a few dozen events (lib/features: kDistinctScanMax,
// kMonoScanMax): bursts of up to ~120 events a few seconds apart, then quiet gaps longer than
// the short windows, move keys back and forth between the two, with late events and restores
// in between.
// make_stream() re-timed into bursts of 20..120 events 0..4 s apart, 20..70 quiet minutes
// between them, a tenth of the events late by up to 12 minutes.
std::vector<Transaction> bursty_stream(StreamOptions o, std::uint64_t seed) {
  std::vector<Transaction> txs = make_stream(o);
  std::mt19937_64 rng(seed);
  Micros now = txs.front().time, newest = now;
  std::uint64_t left = 0;
  for (Transaction& t : txs) {
    if (left == 0) {
      now += static_cast<Micros>(20 + rng() % 50) * kMicrosPerMinute;
      left = 20 + rng() % 100;
    }
    --left;
    now += static_cast<Micros>(rng() % 5) * kMicrosPerSecond;  // ties included
    newest = std::max(newest, now);
    t.time = now;
    if (rng() % 10 == 0) t.time = newest - static_cast<Micros>(rng() % (12 * kMicrosPerMinute));
    t.unix_time = t.time / kMicrosPerSecond;
  }
  return txs;
}

TEST_CASE("bursts move windows between scanned and indexed state", "[features]") {
  for (const LatePolicy policy : {LatePolicy::kDeadLetter, LatePolicy::kAcceptAsArrival}) {
    for (std::uint64_t seed = 1; seed <= 2; ++seed) {
      CAPTURE(seed, static_cast<int>(policy));
      StreamOptions o;
      o.seed = 30 + seed;
      o.events = 10000;
      o.cards = 3;
      o.merchants = seed == 1 ? 60 : 4;
      const std::vector<Transaction> txs = bursty_stream(o, seed);
      const RunResult r = run_and_check(reference_config(policy), txs, seed * 13, 200, 0.02);
      if (policy == LatePolicy::kDeadLetter) CHECK(r.late > 0);
    }
  }
}

// Keys whose events are times only (count windows) keep up to two events inside their record
// (lib/features: the inline ring): bursts move their rings out to the heap and back.
TEST_CASE("count-only keys move between inline and heap rings", "[features]") {
  Config cfg = reference_config(LatePolicy::kDeadLetter);
  cfg.features = {
      spec("merchant_count_15m", Field::kMerchant, Agg::kCount, std::nullopt,
           15 * kMicrosPerMinute),
      spec("state_count_1h", Field::kState, Agg::kCount, std::nullopt, kMicrosPerHour),
      spec("category_count_90s", Field::kCategory, Agg::kCount, std::nullopt,
           90 * kMicrosPerSecond),
      spec("card_count_15m", Field::kCcNum, Agg::kCount, std::nullopt, 15 * kMicrosPerMinute),
  };
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    StreamOptions o;
    o.seed = 40 + seed;
    o.events = 8000;
    o.cards = 20;
    o.merchants = 40;
    run_and_check(cfg, bursty_stream(o, seed), seed, 150, 0.03);
  }
}

TEST_CASE("bucketed windows match the bucket semantics", "[features]") {
  Config cfg;
  cfg.lateness = 0;
  cfg.limits.idle_ttl = 48 * kMicrosPerHour;
  cfg.features = {
      spec("m_count_1h", Field::kMerchant, Agg::kCount, std::nullopt, kMicrosPerHour,
           kMicrosPerMinute),
      spec("m_sum_1h", Field::kMerchant, Agg::kSum, Field::kAmt, kMicrosPerHour,
           5 * kMicrosPerMinute),
      spec("m_avg_1h", Field::kMerchant, Agg::kAvg, Field::kAmt, kMicrosPerHour,
           5 * kMicrosPerMinute),
      spec("m_max_1h", Field::kMerchant, Agg::kMax, Field::kAmt, kMicrosPerHour,
           5 * kMicrosPerMinute),
      spec("m_min_1h", Field::kMerchant, Agg::kMin, Field::kAmt, kMicrosPerHour,
           5 * kMicrosPerMinute),
      spec("m_std_1h", Field::kMerchant, Agg::kStd, Field::kAmt, kMicrosPerHour,
           10 * kMicrosPerMinute),
      spec("c_count_1h", Field::kCcNum, Agg::kCount, std::nullopt, kMicrosPerHour),
  };
  StreamOptions o;
  o.seed = 5;
  o.late_rate = 0;
  o.events = 6000;
  run_and_check(cfg, make_stream(o), 9, 100, 0.03);
}

TEST_CASE("bucketed windows of sparse keys match the bucket semantics", "[features]") {
  // A merchant every ~hour: most rows recycle part of the bucket ring (gaps of 1 to 60
  // buckets) or all of it; 64 buckets is the largest ring tracked by its occupancy mask, 65
  // takes the plain recycling loop.
  Config cfg;
  cfg.lateness = 0;
  cfg.limits.idle_ttl = 48 * kMicrosPerHour;
  const Micros m = kMicrosPerMinute;
  cfg.features = {
      spec("m_count_1h", Field::kMerchant, Agg::kCount, std::nullopt, 60 * m, m),
      spec("m_sum_64m", Field::kMerchant, Agg::kSum, Field::kAmt, 64 * m, m),
      spec("m_count_65m", Field::kMerchant, Agg::kCount, std::nullopt, 65 * m, m),
      spec("m_max_2h", Field::kMerchant, Agg::kMax, Field::kAmt, 120 * m, 2 * m),
  };
  StreamOptions o;
  o.seed = 17;
  o.late_rate = 0;
  o.events = 5000;
  o.merchants = 15;
  o.mean_gap = 4 * m;
  o.quantum = 20 * kMicrosPerSecond;
  run_and_check(cfg, make_stream(o), 17, 64, 0.02);
}

// Streams `txs` through one store a row at a time (process_one) and through another in batches
// of 1024 (process): the same bits in every column and the same snapshot. Returns the batched
// store's largest charge after a batch.
std::uint64_t check_batches_match_rows(const Config& cfg, const std::vector<Transaction>& txs) {
  Dictionary d1, d2;
  auto a = FeatureStore::create(cfg, d1);
  auto b = FeatureStore::create(cfg, d2);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  const std::size_t cols = a->column_count();
  std::vector<double> va, vb, row(cols);
  for (const auto& t : txs) {
    REQUIRE(a->process_one(t, row).ok());
    va.insert(va.end(), row.begin(), row.end());
  }
  FeatureMatrix m;
  std::uint64_t most = 0;
  for (std::size_t i = 0; i < txs.size(); i += 1024) {
    TransactionBatch batch(1024);
    for (std::size_t k = i; k < std::min(txs.size(), i + 1024); ++k) batch.push_back(txs[k]);
    REQUIRE(b->process(batch, m).ok());
    for (std::size_t r = 0; r < m.rows(); ++r) {
      for (std::size_t c = 0; c < cols; ++c) vb.push_back(m.at(r, c));
    }
    most = std::max(most, b->stats().charged_bytes);
  }
  REQUIRE(va.size() == vb.size());
  CHECK(std::memcmp(va.data(), vb.data(), va.size() * sizeof(double)) == 0);
  CHECK(snap(*a) == snap(*b));
  return most;
}

TEST_CASE("batch size does not change a single bit", "[features]") {
  StreamOptions o;
  o.seed = 21;
  o.events = 4000;
  check_batches_match_rows(reference_config(LatePolicy::kDeadLetter), make_stream(o));
}

TEST_CASE("a store past the prefetch threshold gives the bits of one row at a time", "[features]") {
  // process() prefetches keys' state rows ahead once the store holds more than 4 MB: 60,000
  // cards of a few events each (~25,000 live within the 3-hour TTL), and 20 hot cards whose
  // windows are long rings with distinct sets and min / max queues (every prefetch path). The
  // prefetches must change nothing.
  StreamOptions bg;
  bg.seed = 31;
  bg.events = 100000;
  bg.cards = 60000;
  bg.mean_gap = kMicrosPerSecond / 3;
  bg.late_rate = 0;
  StreamOptions hot = bg;
  hot.seed = 32;
  hot.events = 30000;
  hot.cards = 20;
  hot.mean_gap = kMicrosPerSecond;
  auto txs = make_stream(bg);
  const auto hots = make_stream(hot);
  txs.insert(txs.end(), hots.begin(), hots.end());
  std::stable_sort(txs.begin(), txs.end(),
                   [](const Transaction& x, const Transaction& y) { return x.time < y.time; });
  const std::uint64_t most =
      check_batches_match_rows(reference_config(LatePolicy::kDeadLetter), txs);
  CHECK(most > (std::uint64_t{6} << 20));  // well past the threshold for most batches
}

TEST_CASE("long randomized soak against the reference", "[features][.]") {
  for (std::uint64_t seed = 100; seed < 110; ++seed) {
    StreamOptions o;
    o.seed = seed;
    o.events = 40000;
    o.cards = 500;
    run_and_check(
        reference_config(seed % 2 ? LatePolicy::kDeadLetter : LatePolicy::kAcceptAsArrival),
        make_stream(o), seed, 1024, 0.01);
  }
}

}  // namespace vigil::test
