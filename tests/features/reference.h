// Test helpers: a randomized transaction stream, and a brute-force reference feature store
// that rescans every key's whole history for every transaction. Deliberately naive (vectors,
// doubles, long double for std): it shares no code with lib/features beyond the public model.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "vigil/config.h"
#include "vigil/features.h"
#include "vigil/model.h"

namespace vigil::test {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline FeatureSpec spec(std::string name, Field key, Agg agg, std::optional<Field> field,
                        Micros window, Micros granularity = 0, std::string events = "") {
  FeatureSpec f;
  f.name = std::move(name);
  f.key = key;
  f.agg = agg;
  f.field = field;
  f.window = window;
  f.granularity = granularity;
  f.events = std::move(events);
  return f;
}

inline std::uint64_t key_of(const Transaction& t, Field f) {
  TransactionBatch b(16);
  b.push_back(t);
  return b.key(f, 0);
}

/// Random stream: `cards` cards over `merchants` merchants; times advance by random gaps with
/// ties; a fraction of events are late by up to `max_late`.
struct StreamOptions {
  std::size_t events = 5000;
  std::size_t cards = 40;
  std::size_t merchants = 15;
  Micros mean_gap = 20 * kMicrosPerSecond;
  double tie_rate = 0.1;
  double late_rate = 0.05;
  Micros max_late = 20 * kMicrosPerMinute;
  double nan_rate = 0.05;
  /// Times are multiples of this, so events land exactly on window boundaries.
  Micros quantum = 15 * kMicrosPerSecond;
  std::uint64_t seed = 1;
};

inline std::vector<Transaction> make_stream(const StreamOptions& o) {
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::exponential_distribution<double> gap(1.0 / static_cast<double>(o.mean_gap));
  std::vector<Transaction> out;
  Micros now = 1'600'000'000LL * kMicrosPerSecond;
  Micros newest = now;
  for (std::size_t i = 0; i < o.events; ++i) {
    Transaction t;
    if (u(rng) >= o.tie_rate) now += static_cast<Micros>(gap(rng)) + 1;
    newest = std::max(newest, now);
    t.time = now;
    if (u(rng) < o.late_rate) {
      t.time = newest - static_cast<Micros>(u(rng) * static_cast<double>(o.max_late));
    }
    if (o.quantum > 0) t.time = floor_div(t.time, o.quantum) * o.quantum;
    t.unix_time = t.time / kMicrosPerSecond;
    // Skewed card activity: a few busy cards.
    const double x = u(rng);
    t.cc_num =
        4000'0000'0000'0000ull + static_cast<std::uint64_t>(x * x * static_cast<double>(o.cards));
    t.merchant = 1 + static_cast<StrId>(rng() % o.merchants);
    t.category = 100 + static_cast<StrId>(rng() % 5);
    t.state = 200 + static_cast<StrId>(rng() % 3);
    t.amt_cents = static_cast<std::int64_t>(rng() % 50000) + (u(rng) < 0.02 ? 10'000'000 : 0);
    t.lat = 30 + u(rng) * 10;
    t.lon = -100 + u(rng) * 10;
    t.merch_lat = u(rng) < o.nan_rate ? kNaN : t.lat + u(rng) - 0.5;
    t.merch_lon = t.lon + u(rng) - 0.5;
    t.city_pop = u(rng) < o.nan_rate ? 0 : static_cast<std::uint32_t>(rng() % 1'000'000);
    t.dob = u(rng) < o.nan_rate ? kNoDate : static_cast<std::int32_t>(rng() % 20000) - 5000;
    const std::string tn = "t" + std::to_string(i);
    t.trans_num = *TransId::from(tn);
    out.push_back(t);
  }
  return out;
}

/// The brute-force reference: every transaction of every key is kept (until the idle TTL) and
/// every feature is recomputed from scratch over them.
class Reference {
 public:
  Reference(const Config& cfg, Micros ttl) : cfg_(cfg), ttl_(ttl) {
    key_fields_.push_back(Field::kCcNum);
    for (const auto& f : cfg.features) {
      if (std::find(key_fields_.begin(), key_fields_.end(), f.key) == key_fields_.end()) {
        key_fields_.push_back(f.key);
      }
    }
  }

  /// Features of `tx` (column order of FeatureStore); `*dead` says rejected as too late.
  std::vector<double> process(const Transaction& tx, bool* dead) {
    wm_ = std::max(wm_, tx.time);
    std::vector<double> row(kBuiltinFeatureCount + cfg_.features.size(), kNaN);
    row[0] = static_cast<double>(tx.amt_cents) / 100.0;
    row[1] = hour_of(tx.time);
    row[2] = weekday_of(tx.time);
    row[3] = age(tx);
    row[4] = tx.city_pop == 0 ? kNaN : tx.city_pop;
    row[5] = haversine_km(tx.lat, tx.lon, tx.merch_lat, tx.merch_lon);
    // Expire idle keys, classify lateness per key field.
    bool too_late = false;
    for (Field kf : key_fields_) {
      auto& hist = hist_[{kf, key_of(tx, kf)}];
      if (!hist.empty() && newest(hist) < sat(wm_ - ttl_)) hist.clear();
      if (!hist.empty() && tx.time < newest(hist) - cfg_.lateness) too_late = true;
    }
    *dead = too_late && cfg_.late_policy == LatePolicy::kDeadLetter;
    if (*dead) return row;
    for (Field kf : key_fields_) {
      auto& hist = hist_[{kf, key_of(tx, kf)}];
      Ev e{tx.time, seq_++, tx};
      if (!hist.empty() && tx.time < newest(hist) - cfg_.lateness) e.t = newest(hist);
      // Insert after every event with time <= e.t (arrival order among ties).
      auto pos = std::upper_bound(hist.begin(), hist.end(), e.t,
                                  [](Micros t, const Ev& x) { return t < x.t; });
      pos = hist.insert(pos, e);
      const std::size_t p = static_cast<std::size_t>(pos - hist.begin());
      if (kf == Field::kCcNum) {
        if (p > 0) {
          const Ev& prev = hist[p - 1];
          const double secs = static_cast<double>(e.t - prev.t) / 1e6;
          const double km =
              haversine_km(prev.tx.merch_lat, prev.tx.merch_lon, tx.merch_lat, tx.merch_lon);
          row[6] = secs;
          row[7] = km;
          row[8] = km / (std::max(secs, 1.0) / 3600.0);
        }
      }
      for (std::size_t j = 0; j < cfg_.features.size(); ++j) {
        const FeatureSpec& f = cfg_.features[j];
        if (f.key != kf || !f.events.empty()) continue;
        row[kBuiltinFeatureCount + j] = compute(f, hist, p, e.t);
      }
    }
    return row;
  }

 private:
  struct Ev {
    Micros t;
    std::uint64_t seq;
    Transaction tx;
  };
  static Micros sat(Micros v) { return v; }
  static Micros newest(const std::vector<Ev>& h) {
    Micros m = std::numeric_limits<Micros>::min();
    for (const auto& e : h) m = std::max(m, e.t);
    return m;
  }
  static double age(const Transaction& tx) {
    if (tx.dob == kNoDate) return kNaN;
    const CivilDate a = civil_from_days(floor_div(tx.time, kMicrosPerDay));
    const CivilDate b = civil_from_days(tx.dob);
    int y = a.year - b.year;
    if (a.month < b.month || (a.month == b.month && a.day < b.day)) --y;
    return y;
  }
  static double value(const Transaction& tx, Field f) {
    switch (f) {
      case Field::kAmt: return static_cast<double>(tx.amt_cents) / 100.0;
      case Field::kMerchLat: return tx.merch_lat;
      case Field::kMerchLong: return tx.merch_lon;
      case Field::kLat: return tx.lat;
      case Field::kLong: return tx.lon;
      case Field::kCityPop: return tx.city_pop == 0 ? kNaN : tx.city_pop;
      case Field::kDob: return tx.dob == kNoDate ? kNaN : tx.dob;
      default: return kNaN;
    }
  }
  double compute(const FeatureSpec& f, const std::vector<Ev>& hist, std::size_t p, Micros t) const {
    // Window (t - W, t] over events up to and including index p (arrived before, or self).
    std::vector<double> xs;
    std::set<std::uint64_t> distinct;
    std::size_t count = 0;
    for (std::size_t i = 0; i <= p; ++i) {
      const Ev& e = hist[i];
      if (e.t <= t - f.window || e.t > t) continue;
      if (f.granularity > 0) {
        const Micros first =
            (floor_div(t, f.granularity) - f.window / f.granularity + 1) * f.granularity;
        if (e.t < first) continue;
      }
      ++count;
      if (f.agg == Agg::kDistinct) {
        const std::uint64_t k = key_of(e.tx, *f.field);
        if (k != 0) distinct.insert(k);
      } else if (f.field) {
        const double v = value(e.tx, *f.field);
        if (!std::isnan(v)) xs.push_back(v);
      }
    }
    switch (f.agg) {
      case Agg::kCount: return static_cast<double>(count);
      case Agg::kDistinct: return static_cast<double>(distinct.size());
      default: break;
    }
    if (xs.empty()) return kNaN;
    long double sum = 0;
    for (double x : xs) sum += x;
    const long double n = static_cast<long double>(xs.size());
    switch (f.agg) {
      case Agg::kSum: return static_cast<double>(sum);
      case Agg::kAvg: return static_cast<double>(sum / n);
      case Agg::kMin: return *std::min_element(xs.begin(), xs.end());
      case Agg::kMax: return *std::max_element(xs.begin(), xs.end());
      case Agg::kStd: {
        const long double mean = sum / n;
        long double ss = 0;
        for (double x : xs) ss += (x - mean) * (x - mean);
        return static_cast<double>(std::sqrt(ss / n));
      }
      default: return kNaN;
    }
  }

  Config cfg_;
  Micros ttl_;
  Micros wm_ = std::numeric_limits<Micros>::min();
  std::uint64_t seq_ = 0;
  std::vector<Field> key_fields_;
  std::map<std::pair<Field, std::uint64_t>, std::vector<Ev>> hist_;
};

}  // namespace vigil::test
