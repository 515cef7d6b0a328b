// Feature store: configuration checks, hand-computed built-ins and window edges, lateness
// policies, status-change features, eviction, memory figures, snapshot stability and refusal
// of damaged snapshots.
#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "features/reference.h"
#include "vigil/features.h"

namespace vigil::test {
namespace {

constexpr Micros kT0 = 1'592'747'100LL * kMicrosPerSecond;  // 2020-06-21 13:45:00 UTC, Sunday

Transaction tx(std::uint64_t card, Micros t, std::int64_t cents, StrId merchant = 1) {
  Transaction x;
  x.time = t;
  x.cc_num = card;
  x.amt_cents = cents;
  x.merchant = merchant;
  x.lat = 0;
  x.lon = 0;
  x.merch_lat = 0;
  x.merch_lon = 1;
  x.city_pop = 1000;
  x.dob = *parse_date("1990-06-15");
  return x;
}

FeatureStore make(const Config& cfg, Dictionary& dict) {
  auto s = FeatureStore::create(cfg, dict);
  REQUIRE(s.ok());
  return std::move(*s);
}

std::vector<double> one(FeatureStore& s, const Transaction& t, bool* late = nullptr) {
  std::vector<double> row(s.column_count());
  REQUIRE(s.process_one(t, row, late).ok());
  return row;
}

double col(const FeatureStore& s, const std::vector<double>& row, std::string_view name) {
  const auto i = s.column_index(name);
  REQUIRE(i >= 0);
  return row[static_cast<std::size_t>(i)];
}

std::string snap(const FeatureStore& s) {
  std::ostringstream os;
  REQUIRE(s.snapshot(os).ok());
  return os.str();
}

}  // namespace

TEST_CASE("configuration is validated", "[features]") {
  Dictionary dict;
  auto bad = [&](FeatureSpec f, std::string_view needle) {
    Config cfg;
    cfg.features = {std::move(f)};
    auto s = FeatureStore::create(cfg, dict);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Catch::Contains(std::string(needle)));
  };
  const Micros h = kMicrosPerHour;
  bad(spec("x", Field::kAmt, Agg::kCount, std::nullopt, h), "not a key field");
  bad(spec("x", Field::kCcNum, Agg::kSum, std::nullopt, h), "needs a field");
  bad(spec("x", Field::kCcNum, Agg::kAvg, Field::kMerchant, h), "numeric field");
  bad(spec("x", Field::kCcNum, Agg::kDistinct, Field::kAmt, h), "key-like field");
  bad(spec("x", Field::kCcNum, Agg::kCount, std::nullopt, 0), "window must be positive");
  bad(spec("amt", Field::kCcNum, Agg::kCount, std::nullopt, h), "built-in");
  bad(spec("x", Field::kCcNum, Agg::kCount, std::nullopt, h, 0, "disputed"), "status:<value>");
  bad(spec("x", Field::kCcNum, Agg::kSum, Field::kAmt, h, 0, "status:disputed"), "count only");
  bad(spec("x", Field::kCcNum, Agg::kCount, std::nullopt, h, 7 * kMicrosPerMinute), "divide");
  bad(spec("x", Field::kCcNum, Agg::kCount, Field::kAmt, h), "count takes no field");
  Config dup;
  dup.features = {spec("a", Field::kCcNum, Agg::kCount, std::nullopt, h),
                  spec("a", Field::kMerchant, Agg::kCount, std::nullopt, h)};
  auto s = FeatureStore::create(dup, dict);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.status().message(), Catch::Contains("duplicate"));
  Config big;
  big.limits.status_index_size = kMaxStatusIndexSize + 1;
  auto b = FeatureStore::create(big, dict);
  REQUIRE_FALSE(b.ok());
  CHECK_THAT(b.status().message(), Catch::Contains("above the limit of 2^31"));
  big.limits.status_index_size = kMaxStatusIndexSize;  // the largest accepted
  CHECK(FeatureStore::create(big, dict).ok());
}

TEST_CASE("columns: built-ins first, then declared features in config order", "[features]") {
  Dictionary dict;
  Config cfg;
  cfg.features = {spec("z", Field::kMerchant, Agg::kCount, std::nullopt, kMicrosPerHour),
                  spec("a", Field::kCcNum, Agg::kCount, std::nullopt, kMicrosPerHour)};
  FeatureStore s = make(cfg, dict);
  const std::vector<std::string> want = {"amt",
                                         "hour",
                                         "weekday",
                                         "age",
                                         "city_pop",
                                         "km_home_merchant",
                                         "secs_since_prev",
                                         "km_from_prev",
                                         "kmh_from_prev",
                                         "z",
                                         "a"};
  CHECK(s.column_names() == want);
  CHECK(s.column_index("a") == 10);
  CHECK(s.column_index("nope") == -1);
}

TEST_CASE("built-in features, hand-computed", "[features]") {
  Dictionary dict;
  FeatureStore s = make(Config{}, dict);
  Transaction a = tx(42, kT0, 12345);
  a.dob = *parse_date("1990-06-21");  // 30th birthday on the transaction's date
  const auto r1 = one(s, a);
  CHECK(col(s, r1, "amt") == 123.45);
  CHECK(col(s, r1, "hour") == 13);
  CHECK(col(s, r1, "weekday") == 6);  // Sunday
  CHECK(col(s, r1, "age") == 30);
  CHECK(col(s, r1, "city_pop") == 1000);
  // (0, 0) -> (0, 1): one degree of the mean Earth radius.
  CHECK(col(s, r1, "km_home_merchant") == Approx(6371.0088 * 3.14159265358979323846 / 180));
  CHECK(std::isnan(col(s, r1, "secs_since_prev")));
  CHECK(std::isnan(col(s, r1, "km_from_prev")));
  CHECK(std::isnan(col(s, r1, "kmh_from_prev")));

  Transaction b = tx(42, kT0 + 30 * kMicrosPerMinute, 100);
  b.merch_lon = 3;                    // 2 degrees east of the previous merchant
  b.dob = *parse_date("1990-06-22");  // birthday tomorrow: still 29
  b.city_pop = 0;
  const auto r2 = one(s, b);
  CHECK(col(s, r2, "age") == 29);
  CHECK(std::isnan(col(s, r2, "city_pop")));
  CHECK(col(s, r2, "secs_since_prev") == 1800);
  const double km = 2 * 6371.0088 * 3.14159265358979323846 / 180;
  CHECK(col(s, r2, "km_from_prev") == Approx(km));
  CHECK(col(s, r2, "kmh_from_prev") == Approx(km * 2));  // over half an hour

  // Same second: the one-second floor keeps the speed finite.
  Transaction c = tx(42, kT0 + 30 * kMicrosPerMinute, 100);
  c.merch_lon = 4;
  c.dob = kNoDate;
  const auto r3 = one(s, c);
  CHECK(std::isnan(col(s, r3, "age")));
  CHECK(col(s, r3, "secs_since_prev") == 0);
  CHECK(col(s, r3, "kmh_from_prev") == Approx(col(s, r3, "km_from_prev") * 3600));
}

TEST_CASE("built-in distances, hour, weekday and age are exact", "[features]") {
  // The store caches cos(latitude) per home and per merchant and memoizes calendar dates:
  // every value must still be bit-identical to the plain definitions.
  Dictionary dict;
  FeatureStore s = make(Config{}, dict);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-89.9, 89.9), lon(-180, 180), off(-1.5, 1.5);
  const double homes[3][2] = {{40.7, -74.0}, {-33.9, 151.2}, {0, 0}};
  double prev[3][2] = {};
  bool has_prev[3] = {};
  Micros t = kT0 - 3 * kMicrosPerDay;
  for (int i = 0; i < 3000; ++i) {
    const auto c = static_cast<std::size_t>(rng() % 3);
    t += static_cast<Micros>(rng() % (2 * kMicrosPerHour));
    Transaction x = tx(c, t, 100);
    x.lat = i % 97 == 0 ? lat(rng) : homes[c][0];  // mostly the home, now and then elsewhere
    x.lon = homes[c][1];
    x.merch_lat = i % 53 == 0 ? std::numeric_limits<double>::quiet_NaN() : x.lat + off(rng);
    x.merch_lon = x.lon + off(rng);
    x.dob = static_cast<std::int32_t>(-20000 + static_cast<std::int64_t>(rng() % 30000));
    const auto r = one(s, x);
    const double home = haversine_km(x.lat, x.lon, x.merch_lat, x.merch_lon);
    if (std::isnan(home)) {
      CHECK(std::isnan(col(s, r, "km_home_merchant")));
    } else {
      CHECK(col(s, r, "km_home_merchant") == home);
    }
    if (has_prev[c]) {
      const double km = haversine_km(prev[c][0], prev[c][1], x.merch_lat, x.merch_lon);
      if (std::isnan(km)) {
        CHECK(std::isnan(col(s, r, "km_from_prev")));
      } else {
        CHECK(col(s, r, "km_from_prev") == km);
      }
    }
    prev[c][0] = x.merch_lat;
    prev[c][1] = x.merch_lon;
    has_prev[c] = true;
    CHECK(col(s, r, "hour") == hour_of(t));
    CHECK(col(s, r, "weekday") == weekday_of(t));
    const CivilDate now = civil_from_days(floor_div(t, kMicrosPerDay));
    const CivilDate born = civil_from_days(x.dob);
    int age = now.year - born.year;
    if (now.month < born.month || (now.month == born.month && now.day < born.day)) --age;
    CHECK(col(s, r, "age") == age);
  }
}

TEST_CASE("merchant coordinates: 4 bytes when exact, widened when not", "[features]") {
  // Events keep the merchant coordinates of the "since previous" built-ins in 4 bytes (tenths
  // of a microdegree) while every value comes back bit for bit; the first one that would not
  // (more decimals, -0.0, a NaN other than the quiet one) widens them for the whole card group.
  // Late events read an older event's coordinates; a snapshot taken while narrow restores
  // into a store that widens later. Every distance must equal the plain formula throughout.
  const Micros m = kMicrosPerMinute;
  Config cfg;
  cfg.lateness = 10 * m;
  cfg.features = {spec("n", Field::kCcNum, Agg::kCount, std::nullopt, kMicrosPerHour)};
  struct Odd {
    double v;
    bool widens;
  };
  const Odd odd[] = {{12.34567891234, true},
                     {-0.0, true},
                     {std::bit_cast<double>(0x7ff8000000000001ull), true},
                     {214.7483648, true},  // 2^31 tenths of a microdegree
                     {-180.1234567, false}};
  for (std::size_t which = 0; which < std::size(odd); ++which) {
    Dictionary dict;
    FeatureStore s = make(cfg, dict);
    FeatureStore twin = make(cfg, dict);  // the same stream without the odd value
    std::mt19937_64 rng(which);
    std::uniform_real_distribution<double> lat(-89.9, 89.9), lon(-180, 180);
    struct Prev {
      Micros t;
      double lat, lon;
    };
    std::vector<std::vector<Prev>> seen(3);  // per card, in event-time order
    Micros t = kT0;
    for (int i = 0; i < 600; ++i) {
      const auto c = static_cast<std::size_t>(rng() % 3);
      t += static_cast<Micros>(rng() % (5 * m));
      Transaction x = tx(c, t, 100);
      // Six decimals, as every data set gives them, and now and then a missing one.
      x.merch_lat = std::round(lat(rng) * 1e6) / 1e6;
      x.merch_lon =
          i % 41 == 0 ? std::numeric_limits<double>::quiet_NaN() : std::round(lon(rng) * 1e6) / 1e6;
      if (i % 7 == 3 && !seen[c].empty()) {  // late, within lateness: between older events
        x.time = seen[c].back().t - static_cast<Micros>(rng() % (9 * m));
      }
      one(twin, x);
      if (i == 400) x.merch_lon = odd[which].v;
      if (i == 401) {  // the snapshot holds the value's exact bits
        char bits[8];
        std::memcpy(bits, &odd[which].v, 8);
        CHECK(snap(s).find(std::string_view(bits, 8)) != std::string::npos);
      }
      if (i == 300) {  // a snapshot while narrow, restored into a fresh store
        const std::string bytes = snap(s);
        FeatureStore r = make(cfg, dict);
        std::istringstream in(bytes);
        REQUIRE(r.restore(in).ok());
        CHECK(snap(r) == bytes);
        s = std::move(r);
      }
      const auto row = one(s, x);
      auto& v = seen[c];
      const auto at = std::upper_bound(v.begin(), v.end(), x.time,
                                       [](Micros a, const Prev& p) { return a < p.t; });
      INFO("row " << i << " odd value " << odd[which].v);
      if (at == v.begin()) {
        CHECK(std::isnan(col(s, row, "km_from_prev")));
      } else {
        const double km = haversine_km((at - 1)->lat, (at - 1)->lon, x.merch_lat, x.merch_lon);
        const double got = col(s, row, "km_from_prev");
        CHECK(std::bit_cast<std::uint64_t>(got) == std::bit_cast<std::uint64_t>(km));
      }
      v.insert(at, Prev{x.time, x.merch_lat, x.merch_lon});
    }
    // Events are charged their stored size: 16 bytes (time and two 4-byte coordinates) in the
    // twin that never saw the odd value, 20 once the longitude is widened.
    const FeatureStoreStats st = s.stats(), tw = twin.stats();
    REQUIRE(st.events_held == tw.events_held);
    CHECK(st.charged_bytes - tw.charged_bytes == (odd[which].widens ? 4 * st.events_held : 0));
    const std::string bytes = snap(s);
    FeatureStore r = make(cfg, dict);
    std::istringstream in(bytes);
    REQUIRE(r.restore(in).ok());
    CHECK(snap(r) == bytes);
  }
}

TEST_CASE("haversine_km: the cacheable form is the textbook formula", "[features]") {
  // haversine_km_cos with the cosines from haversine_cos_lat is haversine_km, bit for bit, and
  // both stay within 1e-9 (relative) of the textbook formula in long double.
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> lat(-90, 90), lon(-180, 180), small(-1e-4, 1e-4);
  for (int i = 0; i < 20000; ++i) {
    const double a1 = lat(rng), o1 = lon(rng);
    const double a2 = i % 2 ? lat(rng) : std::clamp(a1 + small(rng), -90.0, 90.0);
    const double o2 = i % 2 ? lon(rng) : o1 + small(rng);
    const double d = haversine_km(a1, o1, a2, o2);
    CHECK(haversine_km_cos(a1, o1, haversine_cos_lat(a1), a2, o2, haversine_cos_lat(a2)) == d);
    const long double r = 3.14159265358979323846264338327950288L / 180;
    const long double sa = std::sin((a2 - a1) * r / 2), so = std::sin((o2 - o1) * r / 2);
    const long double h = sa * sa + std::cos(a1 * r) * std::cos(a2 * r) * so * so;
    const long double want = 2 * 6371.0088L * std::asin(std::sqrt(std::min(h, 1.0L)));
    CHECK(std::fabs(static_cast<long double>(d) - want) <= 1e-9L * std::max(want, 1e-3L));
  }
  CHECK(std::isnan(haversine_km(std::numeric_limits<double>::quiet_NaN(), 0, 0, 0)));
  CHECK(std::isnan(haversine_km(0, 0, 0, std::numeric_limits<double>::quiet_NaN())));
}

TEST_CASE("window edges, ties and a window holding only t", "[features]") {
  Dictionary dict;
  Config cfg;
  const Micros w = 90 * kMicrosPerSecond;
  cfg.features = {spec("n", Field::kCcNum, Agg::kCount, std::nullopt, w),
                  spec("sum", Field::kCcNum, Agg::kSum, Field::kAmt, w),
                  spec("avg", Field::kCcNum, Agg::kAvg, Field::kAmt, w),
                  spec("std", Field::kCcNum, Agg::kStd, Field::kAmt, w),
                  spec("min", Field::kCcNum, Agg::kMin, Field::kAmt, w),
                  spec("max", Field::kCcNum, Agg::kMax, Field::kAmt, w),
                  spec("merchants", Field::kCcNum, Agg::kDistinct, Field::kMerchant, w),
                  spec("pop", Field::kCcNum, Agg::kAvg, Field::kCityPop, w)};
  FeatureStore s = make(cfg, dict);
  const auto r1 = one(s, tx(7, kT0, 1000, 5));
  CHECK(col(s, r1, "n") == 1);
  CHECK(col(s, r1, "sum") == 10);
  CHECK(col(s, r1, "avg") == 10);
  CHECK(col(s, r1, "std") == 0);
  CHECK(col(s, r1, "min") == 10);
  CHECK(col(s, r1, "max") == 10);
  CHECK(col(s, r1, "merchants") == 1);
  Transaction b = tx(7, kT0 + 30 * kMicrosPerSecond, 3000, 6);
  b.city_pop = 0;  // missing: skipped by avg, still counted by count
  const auto r2 = one(s, b);
  CHECK(col(s, r2, "n") == 2);
  CHECK(col(s, r2, "avg") == 20);
  CHECK(col(s, r2, "std") == 10);
  CHECK(col(s, r2, "merchants") == 2);
  CHECK(col(s, r2, "pop") == 1000);
  // Exactly W after the first: (t - W, t] excludes it.
  const auto r3 = one(s, tx(7, kT0 + w, 2000, 5));
  CHECK(col(s, r3, "n") == 2);
  CHECK(col(s, r3, "sum") == 50);
  CHECK(col(s, r3, "min") == 20);
  CHECK(col(s, r3, "max") == 30);
  CHECK(col(s, r3, "merchants") == 2);
  // A tie: sees the earlier arrival with the same time, and itself.
  const auto r4 = one(s, tx(7, kT0 + w, 500, 9));
  CHECK(col(s, r4, "n") == 3);
  CHECK(col(s, r4, "min") == 5);
  CHECK(col(s, r4, "merchants") == 3);
}

TEST_CASE("late events: in order within lateness, policies beyond", "[features]") {
  const Micros h = kMicrosPerHour, m = kMicrosPerMinute;
  for (const LatePolicy policy : {LatePolicy::kDeadLetter, LatePolicy::kAcceptAsArrival}) {
    Dictionary dict;
    Config cfg;
    cfg.lateness = 10 * m;
    cfg.late_policy = policy;
    cfg.features = {spec("n", Field::kCcNum, Agg::kCount, std::nullopt, h),
                    spec("max", Field::kCcNum, Agg::kMax, Field::kAmt, h)};
    FeatureStore s = make(cfg, dict);
    one(s, tx(1, kT0, 100));
    one(s, tx(1, kT0 + 20 * m, 200));
    // 5 minutes late: placed between the two, sees only the first.
    const auto late = one(s, tx(1, kT0 + 15 * m, 900));
    CHECK(col(s, late, "n") == 2);
    CHECK(col(s, late, "max") == 9);
    CHECK(col(s, late, "secs_since_prev") == 15 * 60);
    // 30 minutes late: beyond lateness.
    bool rejected = false;
    const auto too_late = one(s, tx(1, kT0 - 10 * m, 5000), &rejected);
    const auto next = one(s, tx(1, kT0 + 21 * m, 100));
    const FeatureStoreStats st = s.stats();
    CHECK(st.late_in_order == 1);
    if (policy == LatePolicy::kDeadLetter) {
      CHECK(rejected);
      CHECK(std::isnan(col(s, too_late, "n")));
      CHECK(std::isnan(col(s, too_late, "secs_since_prev")));
      CHECK(col(s, too_late, "amt") == 50);  // per-transaction built-ins still computed
      CHECK(col(s, next, "n") == 4);
      CHECK(st.late_rejected == 1);
    } else {
      CHECK_FALSE(rejected);
      CHECK(col(s, too_late, "n") == 4);  // as if at the card's newest time
      CHECK(col(s, too_late, "max") == 50);
      CHECK(col(s, next, "n") == 5);
      CHECK(st.late_as_arrival == 1);
    }
  }
}

TEST_CASE("status changes count on the original transaction's keys", "[features]") {
  Dictionary dict;
  Config cfg;
  cfg.limits.status_index_size = 3;
  cfg.features = {spec("m_disputes_30d", Field::kMerchant, Agg::kCount, std::nullopt,
                       30 * kMicrosPerDay, 0, "status:disputed"),
                  spec("c_disputes_1d", Field::kCcNum, Agg::kCount, std::nullopt, kMicrosPerDay, 0,
                       "status:disputed")};
  FeatureStore s = make(cfg, dict);
  const StrId disputed = *dict.find("disputed");
  const StrId refunded = dict.intern("refunded");
  Transaction a = tx(1, kT0, 100, 77);
  a.trans_num = *TransId::from("a");
  one(s, a);
  auto status = [&](std::string_view tn, Micros t, StrId st) {
    StatusChange c;
    c.trans_num = *TransId::from(tn);
    c.time = t;
    c.status = st;
    s.on_status(c);
  };
  status("a", kT0 + kMicrosPerHour, disputed);
  status("a", kT0 + kMicrosPerHour, refunded);    // not counted by a disputed feature
  status("zzz", kT0 + kMicrosPerHour, disputed);  // unknown
  const auto r = one(s, tx(2, kT0 + 2 * kMicrosPerHour, 100, 77));
  CHECK(col(s, r, "m_disputes_30d") == 1);
  CHECK(col(s, r, "c_disputes_1d") == 0);  // another card
  const auto r_card = one(s, tx(1, kT0 + 3 * kMicrosPerHour, 100, 78));
  CHECK(col(s, r_card, "c_disputes_1d") == 1);
  CHECK(col(s, r_card, "m_disputes_30d") == 0);  // another merchant
  const auto later = one(s, tx(2, kT0 + 31 * kMicrosPerDay, 100, 77));
  CHECK(col(s, later, "m_disputes_30d") == 0);
  CHECK(s.stats().status_applied == 2);
  CHECK(s.stats().status_unknown == 1);
  // Rows without a trans_num are not indexed; "b", "c", "d" push "a" out of the 3-entry FIFO.
  for (const char* id : {"b", "c", "d"}) {
    Transaction t = tx(3, kT0 + 31 * kMicrosPerDay, 100, 79);
    t.trans_num = *TransId::from(id);
    one(s, t);
  }
  CHECK(s.stats().status_index_entries == 3);
  status("a", kT0 + 31 * kMicrosPerDay, disputed);
  CHECK(s.stats().status_unknown == 2);
  status("b", kT0 + 31 * kMicrosPerDay, disputed);
  CHECK(s.stats().status_applied == 3);
}

TEST_CASE("a version 2 snapshot keeps its status index usable", "[features]") {
  // Written by the store of 5b42888 (trans_num hashes by FNV-1a): "a" on merchant 77 and "b"
  // on merchant 78 indexed. Restored, the store must keep finding them, and keep hashing new
  // trans_nums the same way, also across a snapshot of its own.
  static constexpr char kV2[] =
      "\x56\x47\x46\x53\x02\x00\x00\x00\xe4\x00\x00\x00\x00\x00\x00\x00\x77\x6c\x61\x74"
      "\x65\x6e\x65\x73\x73\x3d\x36\x30\x30\x30\x30\x30\x30\x30\x30\x3b\x70\x6f\x6c\x69"
      "\x63\x79\x3d\x30\x3b\x74\x74\x6c\x3d\x32\x35\x39\x32\x36\x30\x30\x30\x30\x30\x30"
      "\x30\x30\x3b\x62\x75\x64\x67\x65\x74\x3d\x30\x3b\x69\x6e\x64\x65\x78\x3d\x33\x3b"
      "\x6d\x5f\x64\x69\x73\x70\x75\x74\x65\x73\x5f\x33\x30\x64\x7c\x32\x7c\x30\x7c\x2d"
      "\x31\x7c\x32\x35\x39\x32\x30\x30\x30\x30\x30\x30\x30\x30\x30\x7c\x30\x7c\x73\x74"
      "\x61\x74\x75\x73\x3a\x64\x69\x73\x70\x75\x74\x65\x64\x7c\x31\x3b\x80\xd8\x82\x8b"
      "\x8b\xa6\xd4\x05\x80\xc2\xe7\xdd\xe7\xcb\xd4\x05\x00\x00\x00\x00\x00\x00\x00\x02"
      "\x01\x80\xbc\xe6\xd1\x8a\xa6\xd4\x05\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0\x3f\x02\x80\xd8\x82\x8b\x8b\xa6\xd4\x05"
      "\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\xf0\x3f\x00\x00\x02\x00\xf8\x20\x14\x48\xbf\xbd\xc0\x02\x4d\x05\x64\x9b\xfb\x1b"
      "\xb2\x35\x3e\x4e\x7a\x11\x2c\xf3";
  Config cfg;
  cfg.limits.status_index_size = 3;
  cfg.features = {spec("m_disputes_30d", Field::kMerchant, Agg::kCount, std::nullopt,
                       30 * kMicrosPerDay, 0, "status:disputed")};
  Dictionary dict;
  FeatureStore s = make(cfg, dict);
  std::istringstream in(std::string(kV2, sizeof kV2 - 1));
  REQUIRE(s.restore(in).ok());
  const StrId disputed = *dict.find("disputed");
  auto status = [&](FeatureStore& st, std::string_view tn, Micros t) {
    StatusChange c;
    c.trans_num = *TransId::from(tn);
    c.time = t;
    c.status = disputed;
    st.on_status(c);
  };
  status(s, "a", kT0 + kMicrosPerHour);
  CHECK(s.stats().status_applied == 1);
  CHECK(col(s, one(s, tx(5, kT0 + 2 * kMicrosPerHour, 100, 77)), "m_disputes_30d") == 1);
  Transaction c = tx(6, kT0 + 3 * kMicrosPerHour, 100, 79);
  c.trans_num = *TransId::from("c");
  one(s, c);
  Dictionary dict2;
  FeatureStore s2 = make(cfg, dict2);
  std::istringstream in2(snap(s));
  REQUIRE(s2.restore(in2).ok());
  for (FeatureStore* st : {&s, &s2}) {
    status(*st, "b", kT0 + 4 * kMicrosPerHour);
    status(*st, "c", kT0 + 4 * kMicrosPerHour);
    status(*st, "zzz", kT0 + 4 * kMicrosPerHour);
    CHECK(col(*st, one(*st, tx(7, kT0 + 5 * kMicrosPerHour, 100, 78)), "m_disputes_30d") == 1);
    CHECK(col(*st, one(*st, tx(7, kT0 + 5 * kMicrosPerHour, 100, 79)), "m_disputes_30d") == 1);
  }
  CHECK(s.stats().status_applied == 3);
  CHECK(s.stats().status_unknown == 1);
}

TEST_CASE("idle keys are evicted after the TTL", "[features]") {
  Dictionary dict;
  Config cfg;
  cfg.limits.idle_ttl = kMicrosPerDay;
  cfg.features = {spec("n", Field::kCcNum, Agg::kCount, std::nullopt, kMicrosPerHour)};
  FeatureStore s = make(cfg, dict);
  for (std::uint64_t c = 0; c < 1000; ++c) one(s, tx(c, kT0 + static_cast<Micros>(c), 100));
  CHECK(s.stats().keys == 1000);
  // Two days later: one card active, the rest swept.
  const auto r = one(s, tx(5, kT0 + 2 * kMicrosPerDay, 100));
  CHECK(std::isnan(col(s, r, "secs_since_prev")));  // its own state expired too
  const auto st = s.stats();
  CHECK(st.keys == 1);
  CHECK(st.evicted_keys == 1000);
  CHECK(st.events_held == 1);
}

TEST_CASE("the TTL sweep runs a few slots per row and is invisible", "[features]") {
  // A sweep starts at the row crossing its time and then visits a few record slots per row;
  // until it reaches them, idle keys are dead in place. A store restored from a snapshot taken
  // mid-sweep (which holds the swept state) must then behave exactly like the original.
  Dictionary dict;
  Config cfg;
  cfg.limits.idle_ttl = kMicrosPerHour;
  cfg.features = {spec("n", Field::kCcNum, Agg::kCount, std::nullopt, kMicrosPerHour),
                  spec("m", Field::kMerchant, Agg::kDistinct, Field::kCcNum, kMicrosPerHour)};
  FeatureStore a = make(cfg, dict);
  for (std::uint64_t c = 0; c < 3000; ++c) {
    one(a, tx(c, kT0 + static_cast<Micros>(c) * 1000, 100, static_cast<StrId>(1 + c % 50)));
  }
  // Cards 0..999 stay active; the others go idle for more than the TTL.
  Micros t = kT0 + 50 * kMicrosPerMinute;
  for (std::uint64_t c = 0; c < 1000; ++c) one(a, tx(c, t + static_cast<Micros>(c), 100));
  t = kT0 + 100 * kMicrosPerMinute;
  one(a, tx(0, t, 100));  // starts a sweep: 2000 cards and 49 merchants go
  CHECK(a.stats().keys == 1000 + 1);
  CHECK(a.stats().evicted_keys == 2049);
  std::ostringstream os;
  REQUIRE(a.snapshot(os).ok());
  FeatureStore b = make(cfg, dict);
  std::istringstream is(os.str());
  REQUIRE(b.restore(is).ok());
  for (int i = 1; i < 400; ++i) {
    // Revisit swept cards (dead in place in a, absent in b) and live ones.
    const std::uint64_t c = static_cast<std::uint64_t>(i * 7919) % 3000;
    const Transaction x = tx(c, t + i * kMicrosPerSecond, 100 + i, static_cast<StrId>(1 + i % 60));
    const auto ra = one(a, x), rb = one(b, x);
    CHECK(std::memcmp(ra.data(), rb.data(), ra.size() * sizeof(double)) == 0);  // NaNs too
    if (i % 50 == 0) {
      CHECK(snap(a) == snap(b));
      CHECK(a.stats().keys == b.stats().keys);
      CHECK(a.stats().evicted_keys == b.stats().evicted_keys);
      CHECK(a.stats().charged_bytes == b.stats().charged_bytes);
    }
  }
  CHECK(a.stats().key_bytes > 0);
}

TEST_CASE("memory budget bounds the state", "[features]") {
  Dictionary dict;
  Config cfg;
  cfg.limits.memory_budget = 200'000;
  cfg.features = {spec("n", Field::kCcNum, Agg::kCount, std::nullopt, kMicrosPerHour),
                  spec("avg", Field::kCcNum, Agg::kAvg, Field::kAmt, kMicrosPerHour)};
  FeatureStore s = make(cfg, dict);
  for (std::uint64_t c = 0; c < 10000; ++c) {
    one(s, tx(c, kT0 + static_cast<Micros>(c) * kMicrosPerSecond, 100));
    REQUIRE(s.stats().charged_bytes <= cfg.limits.memory_budget);
  }
  CHECK(s.stats().evicted_keys > 0);
  CHECK(s.stats().keys < 10000);
}

TEST_CASE("memory per key and per held event", "[features]") {
  Dictionary dict;
  Config cfg;
  const Micros d = kMicrosPerDay;
  cfg.features = {spec("n1h", Field::kCcNum, Agg::kCount, std::nullopt, kMicrosPerHour),
                  spec("s24h", Field::kCcNum, Agg::kSum, Field::kAmt, d),
                  spec("a7d", Field::kCcNum, Agg::kAvg, Field::kAmt, 7 * d)};
  FeatureStore s = make(cfg, dict);
  const std::uint64_t cards = 20000;
  for (std::uint64_t c = 0; c < cards; ++c) one(s, tx(c, kT0 + static_cast<Micros>(c), 100));
  const auto st1 = s.stats();
  for (std::uint64_t c = 0; c < cards; ++c) {
    for (int k = 1; k <= 9; ++k)
      one(s, tx(c, kT0 + k * kMicrosPerHour + static_cast<Micros>(c), 100));
  }
  const auto st2 = s.stats();
  CHECK(st2.events_held == 10 * cards);
  const double per_key = static_cast<double>(st1.key_bytes) / cards;
  const double per_event =
      static_cast<double>(st2.event_bytes) / static_cast<double>(st2.events_held);
  INFO("bytes per key " << per_key << ", per event " << per_event);
  // A 72-byte record (head, 3 cursors, 2 sums) + ~10 B of hash table + the last page's slack.
  CHECK(per_key <= 92);
  // 20 B of event (time, 4-byte cents, two 4-byte merchant coordinates) in a ring grown by
  // half.
  CHECK(per_event <= 26);
}

TEST_CASE("running sums do not drift", "[features]") {
  Dictionary dict;
  Config cfg;
  const Micros w = kMicrosPerMinute;
  cfg.features = {spec("sum", Field::kCcNum, Agg::kSum, Field::kAmt, w),
                  spec("std", Field::kCcNum, Agg::kStd, Field::kAmt, w),
                  spec("lat", Field::kCcNum, Agg::kAvg, Field::kMerchLat, w)};
  FeatureStore s = make(cfg, dict);
  std::vector<double> row;
  for (int i = 0; i < 200000; ++i) {
    // Huge and tiny amounts alternate: a double running sum would lose the cents.
    Transaction t = tx(1, kT0 + i * kMicrosPerSecond, i % 2 ? 99'999'999'999 : 1);
    t.merch_lat = 0.1 * (i % 7);
    row = one(s, t);
  }
  // The last 60 seconds: 30 of each amount.
  CHECK(col(s, row, "sum") == 30 * 999'999'999.99 + 30 * 0.01);
  CHECK(col(s, row, "std") == Approx((999'999'999.99 - 0.01) / 2).epsilon(1e-12));
  double lat = 0;
  for (int i = 200000 - 60; i < 200000; ++i) lat += 0.1 * (i % 7);
  CHECK(col(s, row, "lat") == Approx(lat / 60).epsilon(1e-12));
}

TEST_CASE("snapshots are byte-stable and damaged ones are refused", "[features]") {
  Config cfg;
  cfg.lateness = 10 * kMicrosPerMinute;
  cfg.features = {
      spec("n", Field::kCcNum, Agg::kCount, std::nullopt, kMicrosPerHour),
      spec("std", Field::kCcNum, Agg::kStd, Field::kAmt, kMicrosPerHour),
      spec("mx", Field::kMerchant, Agg::kMax, Field::kAmt, kMicrosPerHour),
      spec("dm", Field::kMerchant, Agg::kDistinct, Field::kCcNum, kMicrosPerHour),
      spec("b", Field::kMerchant, Agg::kAvg, Field::kAmt, kMicrosPerHour, kMicrosPerMinute),
      spec("disp", Field::kMerchant, Agg::kCount, std::nullopt, kMicrosPerDay, 0,
           "status:disputed")};
  StreamOptions o;
  o.events = 3000;
  const auto txs = make_stream(o);
  Dictionary d1, d2;
  FeatureStore a = make(cfg, d1);
  FeatureStore b = make(cfg, d2);
  const StrId disputed = *d1.find("disputed");
  // b sees the same events in batches, a one at a time: same state, same bytes.
  FeatureMatrix m;
  TransactionBatch batch(64);
  for (std::size_t i = 0; i < txs.size(); ++i) {
    one(a, txs[i]);
    batch.push_back(txs[i]);
    if (batch.full() || i + 1 == txs.size()) {
      REQUIRE(b.process(batch, m).ok());
      batch.clear();
    }
    if (i % 10 == 0) {
      if (!batch.empty()) {  // b must see the same order of events
        REQUIRE(b.process(batch, m).ok());
        batch.clear();
      }
      StatusChange c;
      c.trans_num = txs[i / 2].trans_num;
      c.time = txs[i].time;
      c.status = disputed;
      a.on_status(c);
      b.on_status(c);
    }
  }
  const std::string bytes = snap(a);
  CHECK(snap(b) == bytes);
  CHECK(snap(a) == bytes);

  Dictionary d3;
  FeatureStore c = make(cfg, d3);
  one(c, txs[0]);
  const std::string before = snap(c);
  // Every truncation, and a byte flip at many offsets, is refused and leaves c unchanged.
  for (std::size_t len = 0; len < bytes.size(); len += 1 + len / 8) {
    std::istringstream is(bytes.substr(0, len));
    const Status st = c.restore(is);
    REQUIRE_FALSE(st.ok());
    CHECK(st.code() == ErrorCode::kCorrupt);
  }
  for (std::size_t pos = 0; pos < bytes.size(); pos += 1 + pos / 16) {
    std::string bad = bytes;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x20);
    std::istringstream is(bad);
    REQUIRE_FALSE(c.restore(is).ok());
  }
  CHECK(snap(c) == before);
  // A different configuration is refused with a clear message.
  Config other = cfg;
  other.features.pop_back();
  Dictionary d4;
  FeatureStore e = make(other, d4);
  std::istringstream is(bytes);
  const Status st = e.restore(is);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.message(), Catch::Contains("different feature configuration"));
  // And a good one restores, and continues exactly like the original.
  std::istringstream good(bytes);
  REQUIRE(c.restore(good).ok());
  CHECK(snap(c) == bytes);
  Transaction next = txs.back();
  next.time += kMicrosPerMinute;
  const auto ra = one(a, next);
  const auto rc = one(c, next);
  CHECK(std::memcmp(ra.data(), rc.data(), ra.size() * sizeof(double)) == 0);
}

}  // namespace vigil::test
