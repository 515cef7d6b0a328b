// The feature store: configuration checks, the per-event update of exact, bucketed and
// status windows, eviction, and the public FeatureStore façade.
//
// Per key and exact window the store keeps a cursor (the sequence number of the window's
// oldest event in the key's ring) and running integer sums; an in-order event advances each
// cursor past the events that left the window (subtracting them) and adds itself: O(1)
// amortized. min / max come from monotonic queues of sequence numbers, distinct from a
// value -> multiplicity map. A late event (within `lateness`) is inserted at its place in
// the ring; the running sums take it if it falls inside the current window, the queues are
// rebuilt, and its own features are computed by scanning its window once: late events are
// rare, so that O(window) path is off the hot path.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>

#include "absl/strings/str_format.h"
#include "features/store_impl.h"

namespace vigil {

using features_detail::Bucket;
using features_detail::BucketDef;
using features_detail::i128;
using features_detail::kMissing;
using features_detail::kNever;
using features_detail::OutDef;
using features_detail::sat_sub;
using features_detail::SlotDef;
using features_detail::SlotKind;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::array<std::string_view, kBuiltinFeatureCount> kBuiltinNames = {"amt",
                                                                              "hour",
                                                                              "weekday",
                                                                              "age",
                                                                              "city_pop",
                                                                              "km_home_merchant",
                                                                              "secs_since_prev",
                                                                              "km_from_prev",
                                                                              "kmh_from_prev"};

constexpr Micros kDefaultMinTtl = 7 * kMicrosPerDay;

enum Class : std::int8_t { kFresh, kExpired, kInOrder, kLate, kTooLate };

// Nanodegrees: coordinates aggregate as exact integers (0.1 mm), so sums never drift.
constexpr double kCoordScale = 1e9;

bool is_numeric_field(Field f) {
  switch (f) {
    case Field::kAmt:
    case Field::kLat:
    case Field::kLong:
    case Field::kMerchLat:
    case Field::kMerchLong:
    case Field::kCityPop:
    case Field::kDob:
    case Field::kUnixTime:
    case Field::kIsFraud: return true;
    default: return false;
  }
}

double field_denom(Field f) {
  switch (f) {
    case Field::kAmt: return 100.0;
    case Field::kLat:
    case Field::kLong:
    case Field::kMerchLat:
    case Field::kMerchLong: return kCoordScale;
    default: return 1.0;
  }
}

std::int64_t nano(double v) {
  // Out-of-range coordinates (never valid after ingest) count as missing rather than overflow.
  if (!(std::fabs(v) < 1e9)) return kMissing;
  return std::llround(v * kCoordScale);
}

std::uint64_t double_bits(double v) { return std::bit_cast<std::uint64_t>(v); }
double bits_double(std::uint64_t v) { return std::bit_cast<double>(v); }

// A stable 64-bit hash of a trans_num (FNV-1a, then a splitmix finalizer): snapshots carry
// it, so it must not depend on the process (absl::Hash is seeded per process).
std::uint64_t trans_hash(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

double age_years(Micros t, std::int32_t dob) {
  if (dob == kNoDate) return kNaN;
  const CivilDate now = civil_from_days(floor_div(t, kMicrosPerDay));
  const CivilDate born = civil_from_days(dob);
  int years = now.year - born.year;
  if (now.month < born.month || (now.month == born.month && now.day < born.day)) --years;
  return years;
}

// Row accessors: the same per-row code reads a batch column or a single record.
struct BatchRow {
  const TransactionBatch& b;
  std::size_t i;
  Micros time() const { return b.time[i]; }
  std::int64_t amt_cents() const { return b.amt_cents[i]; }
  double lat() const { return b.lat[i]; }
  double lon() const { return b.lon[i]; }
  double merch_lat() const { return b.merch_lat[i]; }
  double merch_lon() const { return b.merch_lon[i]; }
  std::uint32_t city_pop() const { return b.city_pop[i]; }
  std::int32_t dob() const { return b.dob[i]; }
  std::int64_t unix_time() const { return b.unix_time[i]; }
  std::int8_t is_fraud() const { return b.is_fraud[i]; }
  std::string_view trans_num() const { return b.trans_num[i].view(); }
  std::uint64_t key(Field f) const { return b.key(f, i); }
};

struct TxRow {
  const Transaction& t;
  Micros time() const { return t.time; }
  std::int64_t amt_cents() const { return t.amt_cents; }
  double lat() const { return t.lat; }
  double lon() const { return t.lon; }
  double merch_lat() const { return t.merch_lat; }
  double merch_lon() const { return t.merch_lon; }
  std::uint32_t city_pop() const { return t.city_pop; }
  std::int32_t dob() const { return t.dob; }
  std::int64_t unix_time() const { return t.unix_time; }
  std::int8_t is_fraud() const { return t.is_fraud; }
  std::string_view trans_num() const { return t.trans_num.view(); }
  std::uint64_t key(Field f) const {
    switch (f) {
      case Field::kCcNum: return t.cc_num;
      case Field::kMerchant: return t.merchant;
      case Field::kCategory: return t.category;
      case Field::kFirst: return t.first;
      case Field::kLast: return t.last;
      case Field::kStreet: return t.street;
      case Field::kCity: return t.city;
      case Field::kState: return t.state;
      case Field::kJob: return t.job;
      case Field::kZip: return t.zip;
      case Field::kGender: return static_cast<unsigned char>(t.gender);
      default: return 0;
    }
  }
};

template <class Row>
std::uint64_t slot_value(const Row& r, const SlotDef& s) {
  if (s.kind == SlotKind::kKey) return r.key(s.field);
  if (s.kind == SlotKind::kRaw) {
    return double_bits(s.field == Field::kMerchLat ? r.merch_lat() : r.merch_lon());
  }
  std::int64_t v = kMissing;
  switch (s.field) {
    case Field::kAmt: v = r.amt_cents(); break;
    case Field::kLat: v = nano(r.lat()); break;
    case Field::kLong: v = nano(r.lon()); break;
    case Field::kMerchLat: v = nano(r.merch_lat()); break;
    case Field::kMerchLong: v = nano(r.merch_lon()); break;
    case Field::kCityPop: v = r.city_pop() == 0 ? kMissing : r.city_pop(); break;
    case Field::kDob: v = r.dob() == kNoDate ? kMissing : r.dob(); break;
    case Field::kUnixTime: v = r.unix_time(); break;  // kNoUnixTime == kMissing
    case Field::kIsFraud: v = r.is_fraud() == kUnlabelled ? kMissing : r.is_fraud(); break;
    default: break;
  }
  return static_cast<std::uint64_t>(v);
}

// Is a stored word "missing" for an aggregation? Key values of 0 are missing too (kNoStr,
// zip 0, no gender, cc_num 0).
inline bool missing(std::uint64_t w, bool key_slot) {
  return key_slot ? w == 0 : static_cast<std::int64_t>(w) == kMissing;
}

double view_value(const OutDef& o, const features_detail::View& v) {
  switch (o.agg) {
    case Agg::kCount: return static_cast<double>(v.count);
    case Agg::kSum: return v.n ? static_cast<double>(v.sum) / o.denom : kNaN;
    case Agg::kAvg:
      return v.n ? static_cast<double>(v.sum) / o.denom / static_cast<double>(v.n) : kNaN;
    case Agg::kMin: return v.n ? static_cast<double>(v.mn) / o.denom : kNaN;
    case Agg::kMax: return v.n ? static_cast<double>(v.mx) / o.denom : kNaN;
    case Agg::kStd: {
      if (!v.n) return kNaN;
      // n²·var = n·Σx² − (Σx)², exact in 128 bits: no cancellation, no drift.
      const i128 num = static_cast<i128>(v.n) * v.sq - static_cast<i128>(v.sum) * v.sum;
      return std::sqrt(static_cast<double>(num)) / static_cast<double>(v.n) / o.denom;
    }
    case Agg::kDistinct: return static_cast<double>(v.distinct);
  }
  return kNaN;
}

inline std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a - floor_div(a, b) * b; }

Status spec_error(const FeatureSpec& f, std::string_view what) {
  return {ErrorCode::kInvalidArgument,
          absl::StrFormat("feature '%s' (line %u, column %u): %s", f.name, f.line, f.column, what)};
}

}  // namespace

std::span<const std::string_view> builtin_feature_names() noexcept { return kBuiltinNames; }

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

std::unique_ptr<FeatureStore::Impl> FeatureStore::Impl::build(const Config& config,
                                                              const std::vector<StrId>& ids) {
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.config.features = config.features;
  s.config.lateness = config.lateness;
  s.config.late_policy = config.late_policy;
  s.config.limits = config.limits;
  s.status_ids = ids;
  s.lateness = std::max<Micros>(config.lateness, 0);
  s.policy = config.late_policy;
  s.budget = config.limits.memory_budget;
  s.index_limit = config.limits.status_index_size;

  for (const std::string_view n : kBuiltinNames) s.names.emplace_back(n);

  Group card;
  card.key = Field::kCcNum;
  card.is_card = true;
  card.ring = true;
  s.groups.push_back(std::move(card));
  // Transaction groups in order of first appearance, then status groups likewise.
  auto group_of = [&](Field key, StrId status) -> std::size_t {
    for (std::size_t g = 0; g < s.groups.size(); ++g) {
      if (s.groups[g].key == key && s.groups[g].status == status) return g;
    }
    Group g;
    g.key = key;
    g.status = status;
    s.groups.push_back(std::move(g));
    return s.groups.size() - 1;
  };
  for (std::size_t i = 0; i < config.features.size(); ++i) {
    if (ids[i] == kNoStr) group_of(config.features[i].key, kNoStr);
  }
  s.n_txn_groups = s.groups.size();
  for (std::size_t i = 0; i < config.features.size(); ++i) {
    if (ids[i] != kNoStr) group_of(config.features[i].key, ids[i]);
  }

  auto slot_of = [](Group& g, Field f, SlotKind k) -> std::uint8_t {
    for (std::size_t i = 0; i < g.slots.size(); ++i) {
      if (g.slots[i].field == f && g.slots[i].kind == k) return static_cast<std::uint8_t>(i);
    }
    g.slots.push_back({f, k});
    return static_cast<std::uint8_t>(g.slots.size() - 1);
  };
  s.groups[0].mlat_slot = slot_of(s.groups[0], Field::kMerchLat, SlotKind::kRaw);
  s.groups[0].mlon_slot = slot_of(s.groups[0], Field::kMerchLong, SlotKind::kRaw);

  // Windows first (so window indices are sorted), then accumulators.
  Micros longest = 0;
  for (std::size_t i = 0; i < config.features.size(); ++i) {
    const FeatureSpec& f = config.features[i];
    Group& g = s.groups[group_of(f.key, ids[i])];
    longest = std::max(longest, f.window);
    if (f.granularity == 0 &&
        std::find(g.windows.begin(), g.windows.end(), f.window) == g.windows.end()) {
      g.windows.push_back(f.window);
    }
  }
  for (Group& g : s.groups) {
    std::sort(g.windows.begin(), g.windows.end());
    g.accs_by_window.resize(g.windows.size());
  }
  for (std::size_t i = 0; i < config.features.size(); ++i) {
    const FeatureSpec& f = config.features[i];
    const std::size_t gi = group_of(f.key, ids[i]);
    Group& g = s.groups[gi];
    OutDef o;
    o.agg = f.agg;
    o.group = static_cast<std::uint16_t>(gi);
    o.denom = f.field ? field_denom(*f.field) : 1.0;
    if (ids[i] != kNoStr) {
      o.src = OutDef::Src::kStatus;
      o.length = f.window;
    } else if (f.granularity > 0) {
      o.src = OutDef::Src::kBucket;
      BucketDef b;
      b.width = f.granularity;
      b.count = static_cast<std::uint32_t>(f.window / f.granularity);
      if (f.agg != Agg::kCount) b.slot = slot_of(g, *f.field, SlotKind::kScaled);
      o.window = static_cast<std::uint16_t>(g.buckets.size());
      g.buckets.push_back(b);
    } else {
      o.src = OutDef::Src::kWindow;
      const auto w = static_cast<std::uint8_t>(
          std::find(g.windows.begin(), g.windows.end(), f.window) - g.windows.begin());
      o.window = w;
      if (f.agg != Agg::kCount) {
        const SlotKind kind = f.agg == Agg::kDistinct ? SlotKind::kKey : SlotKind::kScaled;
        const std::uint8_t slot = slot_of(g, *f.field, kind);
        std::int32_t a = -1;
        for (std::size_t k = 0; k < g.accs.size(); ++k) {
          if (g.accs[k].window == w && g.accs[k].slot == slot) a = static_cast<std::int32_t>(k);
        }
        if (a < 0) {
          features_detail::AccDef d;
          d.window = w;
          d.slot = slot;
          g.accs.push_back(d);
          a = static_cast<std::int32_t>(g.accs.size() - 1);
          g.accs_by_window[w].push_back(static_cast<std::uint16_t>(a));
        }
        features_detail::AccDef& d = g.accs[static_cast<std::size_t>(a)];
        if (f.agg == Agg::kStd) d.sq = true;
        if (f.agg == Agg::kMin && d.min_q < 0) d.min_q = static_cast<std::int32_t>(g.n_mono++);
        if (f.agg == Agg::kMax && d.max_q < 0) d.max_q = static_cast<std::int32_t>(g.n_mono++);
        if (f.agg == Agg::kDistinct && d.distinct < 0) {
          d.distinct = static_cast<std::int32_t>(g.n_distinct++);
        }
        o.acc = a;
      }
    }
    s.outs.push_back(o);
    s.names.push_back(f.name);
  }

  // Default: the longest window plus lateness (windows stay exact), but at least a week, so
  // that secs_since_prev / km_from_prev still see a card's previous transaction after a quiet
  // week (Sparkov cards transact every few days).
  s.ttl = config.limits.idle_ttl > 0 ? config.limits.idle_ttl
                                     : std::max(longest, kDefaultMinTtl) + s.lateness;
  // Sweeping every quarter TTL bounds idle memory to ~1.25 TTL of keys, at O(keys) per sweep.
  s.sweep_every = std::max<Micros>(s.ttl / 4, kMicrosPerSecond);

  for (std::size_t gi = 0; gi < s.groups.size(); ++gi) {
    Group& g = s.groups[gi];
    const Micros wmax = g.windows.empty() ? 0 : g.windows.back();
    g.retention = wmax + s.lateness;
    if (g.status != kNoStr) {
      g.ring = true;
      g.slots.clear();
    } else {
      g.ring = g.is_card || !g.windows.empty();
    }
    g.stride = static_cast<std::uint32_t>(1 + g.slots.size());
    std::uint32_t word = static_cast<std::uint32_t>(g.windows.size());
    for (auto& a : g.accs) {
      a.word = word;
      word += a.sq ? 4 : 2;
    }
    g.pool_stride = word;
    g.ev.resize(g.stride);
    g.acc_view.resize(g.accs.size());
    g.win_count.resize(g.windows.size());
    g.bucket_view.resize(g.buckets.size());
    std::uint64_t bucket_bytes = 0;
    for (const auto& b : g.buckets) bucket_bytes += (b.count + 1) * sizeof(Bucket);
    g.key_charge = sizeof(std::pair<std::uint64_t, std::uint32_t>) + sizeof(KeyState) +
                   g.pool_stride * 8ull + g.n_mono * sizeof(features_detail::SeqQueue) +
                   g.n_distinct * 8ull + (g.buckets.empty() ? 0 : 8 + bucket_bytes);
    if (g.status != kNoStr &&
        std::find(s.index_fields.begin(), s.index_fields.end(), g.key) == s.index_fields.end()) {
      s.index_fields.push_back(g.key);
    }
  }
  s.index_stride = static_cast<std::uint32_t>(1 + s.index_fields.size());

  // The configuration as bytes: a snapshot only restores into a store built the same way.
  std::string& fp = s.fingerprint;
  fp = absl::StrFormat("lateness=%d;policy=%d;ttl=%d;budget=%u;index=%u;", s.lateness,
                       static_cast<int>(s.policy), s.ttl, s.budget, s.index_limit);
  for (std::size_t i = 0; i < config.features.size(); ++i) {
    const FeatureSpec& f = config.features[i];
    fp += absl::StrFormat("%s|%d|%d|%d|%d|%d|%s|%u;", f.name, static_cast<int>(f.key),
                          static_cast<int>(f.agg), f.field ? static_cast<int>(*f.field) : -1,
                          f.window, f.granularity, f.events, ids[i]);
  }
  s.cols.resize(s.names.size());
  s.cls.resize(s.groups.size());
  s.slot_of.resize(s.groups.size());
  return impl;
}

// ---------------------------------------------------------------------------------------------
// Key slots
// ---------------------------------------------------------------------------------------------

std::uint32_t FeatureStore::Impl::new_key(Group& g, std::uint64_t key) {
  std::uint32_t slot;
  if (!g.free_slots.empty()) {
    slot = g.free_slots.back();
    g.free_slots.pop_back();
  } else {
    slot = static_cast<std::uint32_t>(g.states.size());
    g.states.emplace_back();
    g.pool.resize(g.pool.size() + g.pool_stride);
    g.mono.resize(g.mono.size() + g.n_mono);
    g.distinct.resize(g.distinct.size() + g.n_distinct);
    if (!g.buckets.empty()) g.bucket_data.resize(g.states.size());
  }
  KeyState& s = g.states[slot];
  s.newest = kNever;
  s.base = 0;
  std::fill_n(g.pool.data() + std::size_t{slot} * g.pool_stride, g.pool_stride, 0);
  if (!g.buckets.empty()) {
    std::size_t total = 0;
    for (const auto& b : g.buckets) total += b.count + 1;
    g.bucket_data[slot].reset(new Bucket[total]);
  }
  g.index.emplace(key, slot);
  charged += g.key_charge;
  return slot;
}

// Forgets a key's contents, keeping its slot (an expired key seen again).
void FeatureStore::Impl::clear_key(Group& g, std::uint32_t slot) {
  KeyState& s = g.states[slot];
  charged -= s.ring.size() * 8ull;
  s.ring.clear();
  if (s.ring.capacity() > 4ull * g.stride) s.ring.set_capacity(0);
  s.newest = kNever;
  s.base = 0;
  std::fill_n(g.pool.data() + std::size_t{slot} * g.pool_stride, g.pool_stride, 0);
  for (std::uint32_t q = 0; q < g.n_mono; ++q) g.mono[std::size_t{slot} * g.n_mono + q].release();
  for (std::uint32_t d = 0; d < g.n_distinct; ++d) {
    auto& m = g.distinct[std::size_t{slot} * g.n_distinct + d];
    if (m) charged -= m->size() * 16ull;
    m.reset();
  }
  if (!g.buckets.empty()) {
    std::size_t total = 0;
    for (const auto& b : g.buckets) total += b.count + 1;
    std::fill_n(g.bucket_data[slot].get(), total, Bucket{});
  }
}

void FeatureStore::Impl::erase_key(Group& g, std::uint64_t key, std::uint32_t slot) {
  clear_key(g, slot);
  g.states[slot].ring.set_capacity(0);
  if (!g.buckets.empty()) g.bucket_data[slot].reset();
  charged -= g.key_charge;
  g.index.erase(key);
  g.free_slots.push_back(slot);
  ++counters.evicted_keys;
}

// ---------------------------------------------------------------------------------------------
// Exact windows
// ---------------------------------------------------------------------------------------------

namespace {

inline Micros ev_time(const boost::circular_buffer<std::uint64_t>& ring, std::uint32_t stride,
                      std::uint32_t idx) {
  return static_cast<Micros>(ring[std::size_t{idx} * stride]);
}
inline std::uint64_t ev_word(const boost::circular_buffer<std::uint64_t>& ring,
                             std::uint32_t stride, std::uint32_t idx, std::uint32_t slot) {
  return ring[std::size_t{idx} * stride + 1 + slot];
}
inline i128 load_sq(const std::uint64_t* p) {
  i128 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_sq(std::uint64_t* p, i128 v) { std::memcpy(p, &v, sizeof v); }

void grow_ring(boost::circular_buffer<std::uint64_t>& ring, std::uint32_t stride) {
  ring.set_capacity(std::max<std::size_t>(ring.capacity() * 2, std::size_t{stride} * 2));
}

}  // namespace

void FeatureStore::Impl::push_in_order(Group& g, std::uint32_t slot) {
  KeyState& s = g.states[slot];
  const std::uint64_t* ev = g.ev.data();
  const auto t = static_cast<Micros>(ev[0]);
  s.newest = t;
  if (!g.ring) return;
  if (s.ring.capacity() - s.ring.size() < g.stride) grow_ring(s.ring, g.stride);
  s.ring.insert(s.ring.end(), ev, ev + g.stride);
  charged += g.stride * 8ull;
  const auto n = static_cast<std::uint32_t>(s.ring.size() / g.stride);
  const std::uint32_t seq_new = s.base + n - 1;
  std::uint64_t* blk = g.pool.data() + std::size_t{slot} * g.pool_stride;

  for (std::size_t w = 0; w < g.windows.size(); ++w) {
    const Micros lo = sat_sub(t, g.windows[w]);
    const auto& accs = g.accs_by_window[w];
    std::uint32_t idx = static_cast<std::uint32_t>(blk[w]) - s.base;
    // The new event (time t > lo) stops the loop.
    while (ev_time(s.ring, g.stride, idx) <= lo) {
      for (const std::uint16_t ai : accs) {
        const auto& a = g.accs[ai];
        const std::uint64_t v = ev_word(s.ring, g.stride, idx, a.slot);
        const bool key_slot = g.slots[a.slot].kind == SlotKind::kKey;
        if (missing(v, key_slot)) continue;
        std::uint64_t* acc = blk + a.word;
        acc[1] -= 1;
        if (a.distinct >= 0) {
          auto& m = *g.distinct[std::size_t{slot} * g.n_distinct + a.distinct];
          auto it = m.find(v);
          if (--it->second == 0) {
            m.erase(it);
            charged -= 16;
          }
        } else {
          acc[0] -= v;  // two's complement: exact int64 arithmetic on the stored value
          if (a.sq) {
            const auto x = static_cast<std::int64_t>(v);
            store_sq(acc + 2, load_sq(acc + 2) - static_cast<i128>(x) * x);
          }
        }
      }
      ++idx;
    }
    blk[w] = s.base + idx;
    g.win_count[w] = n - idx;
    for (const std::uint16_t ai : accs) {
      const auto& a = g.accs[ai];
      std::uint64_t* acc = blk + a.word;
      const std::uint64_t v = ev[1 + a.slot];
      auto& view = g.acc_view[ai];
      if (a.distinct >= 0) {
        auto& m = g.distinct[std::size_t{slot} * g.n_distinct + a.distinct];
        if (v != 0) {
          if (!m) m = std::make_unique<features_detail::DistinctMap>();
          auto [it, inserted] = m->try_emplace(v, 0);
          ++it->second;
          if (inserted) charged += 16;
          acc[1] += 1;
        }
        view.distinct = m ? m->size() : 0;
        view.n = acc[1];
        continue;
      }
      if (!missing(v, false)) {
        const auto x = static_cast<std::int64_t>(v);
        acc[0] += v;
        acc[1] += 1;
        if (a.sq) store_sq(acc + 2, load_sq(acc + 2) + static_cast<i128>(x) * x);
        if (a.min_q >= 0) {
          auto& q = g.mono[std::size_t{slot} * g.n_mono + a.min_q];
          while (!q.empty() && static_cast<std::int64_t>(
                                   ev_word(s.ring, g.stride, q.back() - s.base, a.slot)) >= x) {
            q.pop_back();
          }
          q.push_back(seq_new);
        }
        if (a.max_q >= 0) {
          auto& q = g.mono[std::size_t{slot} * g.n_mono + a.max_q];
          while (!q.empty() && static_cast<std::int64_t>(
                                   ev_word(s.ring, g.stride, q.back() - s.base, a.slot)) <= x) {
            q.pop_back();
          }
          q.push_back(seq_new);
        }
      }
      view.n = acc[1];
      view.sum = static_cast<std::int64_t>(acc[0]);
      if (a.sq) view.sq = load_sq(acc + 2);
      if (a.min_q >= 0) {
        auto& q = g.mono[std::size_t{slot} * g.n_mono + a.min_q];
        while (!q.empty() && q.front() - s.base < idx) q.pop_front();
        if (!q.empty()) {
          view.mn =
              static_cast<std::int64_t>(ev_word(s.ring, g.stride, q.front() - s.base, a.slot));
        }
      }
      if (a.max_q >= 0) {
        auto& q = g.mono[std::size_t{slot} * g.n_mono + a.max_q];
        while (!q.empty() && q.front() - s.base < idx) q.pop_front();
        if (!q.empty()) {
          view.mx =
              static_cast<std::int64_t>(ev_word(s.ring, g.stride, q.front() - s.base, a.slot));
        }
      }
    }
  }
  evict_front(g, s);
}

void FeatureStore::Impl::evict_front(Group& g, KeyState& s) {
  const Micros horizon = sat_sub(s.newest, g.retention);
  const auto n = static_cast<std::uint32_t>(s.ring.size() / g.stride);
  std::uint32_t drop = 0;
  if (g.is_card) {
    // Keep the newest event at or before the horizon: it is the "previous transaction" of
    // any late transaction that can still arrive.
    while (n - drop >= 2 && ev_time(s.ring, g.stride, drop + 1) <= horizon) ++drop;
  } else {
    while (drop < n && ev_time(s.ring, g.stride, drop) <= horizon) ++drop;
  }
  if (drop == 0) return;
  s.ring.erase_begin(std::size_t{drop} * g.stride);
  s.base += drop;
  charged -= std::uint64_t{drop} * g.stride * 8;
  // Give memory back once a burst has left the window (hysteresis: shrink at 1/4 full).
  if (s.ring.capacity() >= 16ull * g.stride && s.ring.size() * 4 <= s.ring.capacity()) {
    s.ring.set_capacity(s.ring.capacity() / 2);
  }
}

void FeatureStore::Impl::rebuild_mono(Group& g, std::uint32_t slot) {
  KeyState& s = g.states[slot];
  const std::uint64_t* blk = g.pool.data() + std::size_t{slot} * g.pool_stride;
  const auto n = static_cast<std::uint32_t>(s.ring.size() / g.stride);
  for (const auto& a : g.accs) {
    for (const std::int32_t qi : {a.min_q, a.max_q}) {
      if (qi < 0) continue;
      const bool is_min = qi == a.min_q;
      auto& q = g.mono[std::size_t{slot} * g.n_mono + qi];
      q.clear();
      for (std::uint32_t idx = static_cast<std::uint32_t>(blk[a.window]) - s.base; idx < n; ++idx) {
        const auto x = static_cast<std::int64_t>(ev_word(s.ring, g.stride, idx, a.slot));
        if (x == kMissing) continue;
        while (!q.empty()) {
          const auto b =
              static_cast<std::int64_t>(ev_word(s.ring, g.stride, q.back() - s.base, a.slot));
          if (is_min ? b >= x : b <= x) {
            q.pop_back();
          } else {
            break;
          }
        }
        q.push_back(s.base + idx);
      }
    }
  }
}

// Recomputes cursors, sums, distinct maps and queues of a key from its ring (restore).
void FeatureStore::Impl::rebuild_sums(Group& g, std::uint32_t slot) {
  KeyState& s = g.states[slot];
  std::uint64_t* blk = g.pool.data() + std::size_t{slot} * g.pool_stride;
  std::fill_n(blk, g.pool_stride, 0);
  const auto n = static_cast<std::uint32_t>(s.ring.size() / g.stride);
  for (std::size_t w = 0; w < g.windows.size(); ++w) {
    const Micros lo = sat_sub(s.newest, g.windows[w]);
    std::uint32_t idx = 0;
    while (idx < n && ev_time(s.ring, g.stride, idx) <= lo) ++idx;
    blk[w] = s.base + idx;
    for (const std::uint16_t ai : g.accs_by_window[w]) {
      const auto& a = g.accs[ai];
      std::uint64_t* acc = blk + a.word;
      const bool key_slot = g.slots[a.slot].kind == SlotKind::kKey;
      for (std::uint32_t k = idx; k < n; ++k) {
        const std::uint64_t v = ev_word(s.ring, g.stride, k, a.slot);
        if (missing(v, key_slot)) continue;
        acc[1] += 1;
        if (a.distinct >= 0) {
          auto& m = g.distinct[std::size_t{slot} * g.n_distinct + a.distinct];
          if (!m) m = std::make_unique<features_detail::DistinctMap>();
          auto [it, inserted] = m->try_emplace(v, 0);
          ++it->second;
          if (inserted) charged += 16;
        } else {
          acc[0] += v;
          const auto x = static_cast<std::int64_t>(v);
          if (a.sq) store_sq(acc + 2, load_sq(acc + 2) + static_cast<i128>(x) * x);
        }
      }
    }
  }
  rebuild_mono(g, slot);
}

std::uint32_t FeatureStore::Impl::insert_late(Group& g, std::uint32_t slot) {
  KeyState& s = g.states[slot];
  const std::uint64_t* ev = g.ev.data();
  const auto t = static_cast<Micros>(ev[0]);
  if (!g.ring) return 0;
  const auto n = static_cast<std::uint32_t>(s.ring.size() / g.stride);
  // First event later than t: equal times keep arrival order.
  std::uint32_t lo_i = 0, hi_i = n;
  while (lo_i < hi_i) {
    const std::uint32_t mid = lo_i + (hi_i - lo_i) / 2;
    if (ev_time(s.ring, g.stride, mid) <= t) {
      lo_i = mid + 1;
    } else {
      hi_i = mid;
    }
  }
  const std::uint32_t p = lo_i;
  if (s.ring.capacity() - s.ring.size() < g.stride) grow_ring(s.ring, g.stride);
  s.ring.insert(s.ring.begin() + static_cast<std::ptrdiff_t>(std::size_t{p} * g.stride), ev,
                ev + g.stride);
  charged += g.stride * 8ull;
  std::uint64_t* blk = g.pool.data() + std::size_t{slot} * g.pool_stride;
  for (std::size_t w = 0; w < g.windows.size(); ++w) {
    if (t <= sat_sub(s.newest, g.windows[w])) {
      blk[w] += 1;  // inserted before the window: the cursor's event moved up one place
      continue;
    }
    for (const std::uint16_t ai : g.accs_by_window[w]) {
      const auto& a = g.accs[ai];
      const std::uint64_t v = ev[1 + a.slot];
      const bool key_slot = g.slots[a.slot].kind == SlotKind::kKey;
      if (missing(v, key_slot)) continue;
      std::uint64_t* acc = blk + a.word;
      acc[1] += 1;
      if (a.distinct >= 0) {
        auto& m = g.distinct[std::size_t{slot} * g.n_distinct + a.distinct];
        if (!m) m = std::make_unique<features_detail::DistinctMap>();
        auto [it, inserted] = m->try_emplace(v, 0);
        ++it->second;
        if (inserted) charged += 16;
      } else {
        acc[0] += v;
        const auto x = static_cast<std::int64_t>(v);
        if (a.sq) store_sq(acc + 2, load_sq(acc + 2) + static_cast<i128>(x) * x);
      }
    }
  }
  if (g.n_mono > 0) rebuild_mono(g, slot);
  for (std::size_t w = 0; w < g.windows.size(); ++w) scan_view(g, s, p, t, w);
  return p;
}

// The window (t - W, t] ending at ring index p, by scanning (late events only).
void FeatureStore::Impl::scan_view(Group& g, const KeyState& s, std::uint32_t p, Micros t,
                                   std::size_t w) {
  const Micros lo = sat_sub(t, g.windows[w]);
  std::uint64_t count = 0;
  for (const std::uint16_t ai : g.accs_by_window[w]) {
    auto& v = g.acc_view[ai];
    v = View{};
    v.mn = std::numeric_limits<std::int64_t>::max();
    v.mx = std::numeric_limits<std::int64_t>::min();
  }
  std::uint32_t first = p + 1;
  while (first > 0 && ev_time(s.ring, g.stride, first - 1) > lo) --first;
  count = p + 1 - first;
  g.win_count[w] = count;
  for (const std::uint16_t ai : g.accs_by_window[w]) {
    const auto& a = g.accs[ai];
    auto& view = g.acc_view[ai];
    const bool key_slot = g.slots[a.slot].kind == SlotKind::kKey;
    distinct_scratch.clear();
    for (std::uint32_t k = first; k <= p; ++k) {
      const std::uint64_t v = ev_word(s.ring, g.stride, k, a.slot);
      if (missing(v, key_slot)) continue;
      ++view.n;
      if (a.distinct >= 0) {
        distinct_scratch.push_back(v);
        continue;
      }
      const auto x = static_cast<std::int64_t>(v);
      view.sum += x;
      view.sq += static_cast<i128>(x) * x;
      view.mn = std::min(view.mn, x);
      view.mx = std::max(view.mx, x);
    }
    if (a.distinct >= 0) {
      std::sort(distinct_scratch.begin(), distinct_scratch.end());
      view.distinct = static_cast<std::uint64_t>(
          std::unique(distinct_scratch.begin(), distinct_scratch.end()) - distinct_scratch.begin());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bucketed windows: `count` buckets of `width` cover [t - W + width - t mod width, t]
// ---------------------------------------------------------------------------------------------

bool FeatureStore::Impl::bucket_add(Group& g, std::uint32_t slot, std::size_t j, Micros t,
                                    std::int64_t v) {
  const BucketDef& d = g.buckets[j];
  std::size_t off = 0;
  for (std::size_t k = 0; k < j; ++k) off += g.buckets[k].count + 1;
  Bucket* bk = g.bucket_data[slot].get() + off;
  Bucket& tot = bk[d.count];
  const std::int64_t b = floor_div(t, d.width);
  const auto cnt = static_cast<std::int64_t>(d.count);
  auto take_out = [&](Bucket& x) {
    tot.n -= x.n;
    tot.nv -= x.nv;
    tot.sum -= x.sum;
    tot.sq -= x.sq;
  };
  if (tot.id == kNever || b > tot.id) {
    const std::int64_t start = (tot.id == kNever || b - tot.id >= cnt) ? b - cnt + 1 : tot.id + 1;
    for (std::int64_t id = start; id <= b; ++id) {
      Bucket& x = bk[floor_mod(id, cnt)];
      if (x.id != kNever) take_out(x);
      x = Bucket{};
      x.id = id;
    }
    tot.id = b;
  }
  if (b <= tot.id - cnt) return false;  // its bucket has left every window
  Bucket& x = bk[floor_mod(b, cnt)];
  if (x.id != b) {
    if (x.id != kNever) take_out(x);
    x = Bucket{};
    x.id = b;
  }
  ++x.n;
  ++tot.n;
  if (d.slot >= 0 && v != kMissing) {
    ++x.nv;
    ++tot.nv;
    x.sum += v;
    tot.sum += v;
    const i128 sq = static_cast<i128>(v) * v;
    x.sq += sq;
    tot.sq += sq;
    x.mn = std::min(x.mn, v);
    x.mx = std::max(x.mx, v);
  }
  return true;
}

void FeatureStore::Impl::bucket_view(Group& g, std::uint32_t slot, std::size_t j, Micros t,
                                     bool current) {
  const BucketDef& d = g.buckets[j];
  std::size_t off = 0;
  for (std::size_t k = 0; k < j; ++k) off += g.buckets[k].count + 1;
  const Bucket* bk = g.bucket_data[slot].get() + off;
  const Bucket& tot = bk[d.count];
  View& v = g.bucket_view[j];
  v = View{};
  v.mn = std::numeric_limits<std::int64_t>::max();
  v.mx = std::numeric_limits<std::int64_t>::min();
  const std::int64_t b = floor_div(t, d.width);
  const auto cnt = static_cast<std::int64_t>(d.count);
  if (current) {
    v.count = tot.n;
    v.n = tot.nv;
    v.sum = tot.sum;
    v.sq = tot.sq;
  }
  // min / max (and, for a late event, everything) from the buckets in (b - cnt, b].
  for (std::int64_t k = 0; k < cnt; ++k) {
    const Bucket& x = bk[k];
    if (x.id == kNever || x.id > b || x.id <= b - cnt) continue;
    if (!current) {
      v.count += x.n;
      v.n += x.nv;
      v.sum += x.sum;
      v.sq += x.sq;
    }
    v.mn = std::min(v.mn, x.mn);
    v.mx = std::max(v.mx, x.mx);
  }
}

// ---------------------------------------------------------------------------------------------
// Status-change windows: events are rare per key, so the ring holds times only and a read
// is two binary searches, at any transaction time.
// ---------------------------------------------------------------------------------------------

void FeatureStore::Impl::add_status(Group& g, std::uint64_t key, Micros t) {
  auto it = g.index.find(key);
  std::uint32_t slot;
  if (it == g.index.end()) {
    slot = new_key(g, key);
  } else {
    slot = it->second;
    if (g.states[slot].newest < sat_sub(watermark, ttl)) {
      clear_key(g, slot);
      ++counters.evicted_keys;
    }
  }
  KeyState& s = g.states[slot];
  if (s.newest != kNever && t < sat_sub(s.newest, lateness)) {
    if (policy == LatePolicy::kDeadLetter) {
      ++counters.late_rejected;
      return;
    }
    ++counters.late_as_arrival;
    t = s.newest;
  } else if (s.newest != kNever && t < s.newest) {
    ++counters.late_in_order;
  }
  if (s.ring.full()) grow_ring(s.ring, 1);
  auto pos = std::upper_bound(s.ring.begin(), s.ring.end(), static_cast<std::uint64_t>(t),
                              [](std::uint64_t a, std::uint64_t b) {
                                return static_cast<Micros>(a) < static_cast<Micros>(b);
                              });
  s.ring.insert(pos, static_cast<std::uint64_t>(t));
  charged += 8;
  s.newest = std::max(s.newest, t);
  // Reads come from transactions up to `lateness` behind the stream: keep W + lateness.
  const Micros horizon = sat_sub(std::max(watermark, s.newest), g.retention);
  std::size_t drop = 0;
  while (drop < s.ring.size() && static_cast<Micros>(s.ring[drop]) <= horizon) ++drop;
  if (drop) {
    s.ring.erase_begin(drop);
    charged -= drop * 8;
  }
}

std::uint64_t FeatureStore::Impl::status_count(const Group& g, std::uint64_t key, Micros t,
                                               Micros w) const {
  auto it = g.index.find(key);
  if (it == g.index.end()) return 0;
  const KeyState& s = g.states[it->second];
  if (s.newest < sat_sub(watermark, ttl)) return 0;
  auto cmp = [](Micros a, std::uint64_t b) { return a < static_cast<Micros>(b); };
  const auto hi = std::upper_bound(s.ring.begin(), s.ring.end(), t, cmp);
  const auto lo = std::upper_bound(s.ring.begin(), s.ring.end(), sat_sub(t, w), cmp);
  return static_cast<std::uint64_t>(hi - lo);
}

void FeatureStore::Impl::index_push(std::uint64_t hash, const std::uint64_t* keys) {
  if (index_limit == 0) return;
  const std::uint64_t entries = index_ring.size() / index_stride;
  if (entries >= index_limit) {
    const std::uint64_t old = index_ring[0];
    auto it = index_map.find(old);
    if (it != index_map.end() && it->second == index_front) index_map.erase(it);
    index_ring.erase_begin(index_stride);
    ++index_front;
    charged -= index_stride * 8ull + 16;
  }
  if (index_ring.capacity() - index_ring.size() < index_stride) {
    const std::size_t limit = static_cast<std::size_t>(index_limit) * index_stride;
    index_ring.set_capacity(
        std::min(limit, std::max<std::size_t>(index_ring.capacity() * 2, index_stride * 64ull)));
  }
  index_ring.push_back(hash);
  for (std::uint32_t k = 1; k < index_stride; ++k) index_ring.push_back(keys[k - 1]);
  index_map[hash] = index_front + index_ring.size() / index_stride - 1;
  charged += index_stride * 8ull + 16;
}

void FeatureStore::Impl::on_status(const StatusChange& change) {
  advance(change.time);
  auto it = index_map.find(trans_hash(change.trans_num.view()));
  if (it == index_map.end()) {
    ++counters.status_unknown;
    return;
  }
  ++counters.status_applied;
  const std::size_t base = static_cast<std::size_t>(it->second - index_front) * index_stride;
  for (std::size_t gi = n_txn_groups; gi < groups.size(); ++gi) {
    Group& g = groups[gi];
    if (g.status != change.status) continue;
    const std::size_t f = static_cast<std::size_t>(
        std::find(index_fields.begin(), index_fields.end(), g.key) - index_fields.begin());
    add_status(g, index_ring[base + 1 + f], change.time);
  }
  enforce_budget();
}

// ---------------------------------------------------------------------------------------------
// Time, eviction
// ---------------------------------------------------------------------------------------------

void FeatureStore::Impl::advance(Micros t) {
  if (t <= watermark) return;
  watermark = t;
  if (next_sweep == kNever) {
    next_sweep = sat_sub(watermark, -sweep_every);
  } else if (watermark >= next_sweep) {
    sweep();
  }
}

void FeatureStore::Impl::sweep() {
  const Micros expired_before = sat_sub(watermark, ttl);
  std::vector<std::pair<std::uint64_t, std::uint32_t>> gone;
  for (Group& g : groups) {
    gone.clear();
    for (const auto& [key, slot] : g.index) {
      if (g.states[slot].newest < expired_before) gone.emplace_back(key, slot);
    }
    for (const auto& [key, slot] : gone) erase_key(g, key, slot);
    if (g.status != kNoStr) {
      const Micros horizon = sat_sub(watermark, g.retention);
      for (const auto& [key, slot] : g.index) {
        auto& ring = g.states[slot].ring;
        std::size_t drop = 0;
        while (drop < ring.size() && static_cast<Micros>(ring[drop]) <= horizon) ++drop;
        if (drop) {
          ring.erase_begin(drop);
          charged -= drop * 8;
        }
      }
    }
  }
  next_sweep = sat_sub(watermark, -sweep_every);
}

// Over budget: forget the keys idle longest (ties by group, then key: deterministic) until
// 10% under, so the O(keys log keys) pass runs rarely.
void FeatureStore::Impl::enforce_budget() {
  if (budget == 0 || charged <= budget) return;
  std::vector<std::tuple<Micros, std::uint32_t, std::uint64_t, std::uint32_t>> all;
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    for (const auto& [key, slot] : groups[gi].index) {
      all.emplace_back(groups[gi].states[slot].newest, static_cast<std::uint32_t>(gi), key, slot);
    }
  }
  std::sort(all.begin(), all.end());
  const std::uint64_t target = budget - budget / 10;
  for (const auto& [newest, gi, key, slot] : all) {
    if (charged <= target) break;
    erase_key(groups[gi], key, slot);
  }
}

// ---------------------------------------------------------------------------------------------
// One transaction
// ---------------------------------------------------------------------------------------------

template <class Row>
bool FeatureStore::Impl::process_row(const Row& r, std::size_t row) {
  const Micros t = r.time();
  advance(t);
  auto put = [&](std::size_t col, double v) { cols[col][row] = v; };
  put(0, static_cast<double>(r.amt_cents()) / 100.0);
  put(1, hour_of(t));
  put(2, weekday_of(t));
  put(3, age_years(t, r.dob()));
  put(4, r.city_pop() == 0 ? kNaN : static_cast<double>(r.city_pop()));
  put(5, haversine_km(r.lat(), r.lon(), r.merch_lat(), r.merch_lon()));

  // Classify against every key first: a transaction too late for any of its keys is, under
  // kDeadLetter, added to none (all or nothing keeps the windows mutually consistent).
  const Micros expired_before = sat_sub(watermark, ttl);
  bool dead = false, as_arrival = false;
  for (std::size_t gi = 0; gi < n_txn_groups; ++gi) {
    Group& g = groups[gi];
    auto it = g.index.find(r.key(g.key));
    if (it == g.index.end()) {
      cls[gi] = kFresh;
      continue;
    }
    slot_of[gi] = it->second;
    const Micros newest = g.states[it->second].newest;
    if (newest < expired_before) {
      cls[gi] = kExpired;
    } else if (t >= newest) {
      cls[gi] = kInOrder;
    } else if (t >= sat_sub(newest, lateness)) {
      cls[gi] = kLate;
    } else {
      cls[gi] = kTooLate;
      if (policy == LatePolicy::kDeadLetter) dead = true;
      as_arrival = true;
    }
  }
  if (dead) {
    ++counters.late_rejected;
    for (std::size_t c = 6; c < cols.size(); ++c) put(c, kNaN);
    return true;
  }
  if (as_arrival) ++counters.late_as_arrival;
  bool late = false;

  for (std::size_t gi = 0; gi < n_txn_groups; ++gi) {
    Group& g = groups[gi];
    std::uint32_t slot = slot_of[gi];
    if (cls[gi] == kFresh) {
      slot = new_key(g, r.key(g.key));
      slot_of[gi] = slot;
    } else if (cls[gi] == kExpired) {
      clear_key(g, slot);
      ++counters.evicted_keys;
    }
    KeyState& s = g.states[slot];
    Micros te = t;
    if (cls[gi] == kTooLate) te = s.newest;  // kAcceptAsArrival
    g.ev[0] = static_cast<std::uint64_t>(te);
    for (std::size_t k = 0; k < g.slots.size(); ++k) g.ev[1 + k] = slot_value(r, g.slots[k]);

    const bool in_order = cls[gi] != kLate;
    const auto n_before = static_cast<std::uint32_t>(s.ring.size() / g.stride);
    // The card's previous transaction in event-time order: the event just before this one
    // (the card ring always keeps it, see evict_front()).
    bool has_prev = false;
    Micros pt = 0;
    double plat = 0, plon = 0;
    auto read_prev = [&](std::uint32_t idx) {
      const KeyState& cs = g.states[slot];
      has_prev = true;
      pt = ev_time(cs.ring, g.stride, idx);
      plat = bits_double(ev_word(cs.ring, g.stride, idx, g.mlat_slot));
      plon = bits_double(ev_word(cs.ring, g.stride, idx, g.mlon_slot));
    };
    if (in_order) {
      if (g.is_card && n_before > 0) read_prev(n_before - 1);
      push_in_order(g, slot);
    } else {
      late = true;
      const std::uint32_t p = insert_late(g, slot);
      if (g.is_card && p > 0) read_prev(p - 1);
    }
    if (g.is_card) {
      double secs = kNaN, km = kNaN, kmh = kNaN;
      if (has_prev) {
        secs = static_cast<double>(te - pt) / static_cast<double>(kMicrosPerSecond);
        km = haversine_km(plat, plon, r.merch_lat(), r.merch_lon());
        kmh = km / (std::max(secs, 1.0) / 3600.0);
      }
      put(6, secs);
      put(7, km);
      put(8, kmh);
    }
    for (std::size_t j = 0; j < g.buckets.size(); ++j) {
      const std::int64_t v =
          g.buckets[j].slot >= 0 ? static_cast<std::int64_t>(g.ev[1 + g.buckets[j].slot]) : 0;
      const bool current = bucket_add(g, slot, j, te, v) && in_order;
      bucket_view(g, slot, j, te, current);
    }
  }
  if (late) ++counters.late_in_order;

  for (std::size_t j = 0; j < outs.size(); ++j) {
    const OutDef& o = outs[j];
    Group& g = groups[o.group];
    double v = kNaN;
    switch (o.src) {
      case OutDef::Src::kWindow:
        if (o.acc < 0) {
          v = static_cast<double>(g.win_count[o.window]);
        } else {
          View& view = g.acc_view[static_cast<std::size_t>(o.acc)];
          view.count = g.win_count[o.window];
          v = view_value(o, view);
        }
        break;
      case OutDef::Src::kBucket: v = view_value(o, g.bucket_view[o.window]); break;
      case OutDef::Src::kStatus:
        v = static_cast<double>(status_count(g, r.key(g.key), t, o.length));
        break;
    }
    put(kBuiltinFeatureCount + j, v);
  }

  if (!index_fields.empty() && !r.trans_num().empty()) {
    std::uint64_t keys[kFieldCount];
    for (std::size_t k = 0; k < index_fields.size(); ++k) keys[k] = r.key(index_fields[k]);
    index_push(trans_hash(r.trans_num()), keys);
  }
  enforce_budget();
  return false;
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

FeatureStoreStats FeatureStore::Impl::stats() const {
  FeatureStoreStats st = counters;
  st.charged_bytes = charged;
  for (const Group& g : groups) {
    st.keys += g.index.size();
    st.key_bytes += g.index.capacity() * (sizeof(std::pair<std::uint64_t, std::uint32_t>) + 1) +
                    g.states.capacity() * sizeof(KeyState) + g.pool.capacity() * 8 +
                    g.mono.capacity() * sizeof(features_detail::SeqQueue) +
                    g.distinct.capacity() * 8 + g.bucket_data.capacity() * 8 +
                    g.free_slots.capacity() * 4;
    std::size_t bucket_total = 0;
    for (const auto& b : g.buckets) bucket_total += b.count + 1;
    for (const auto& [key, slot] : g.index) {
      const KeyState& s = g.states[slot];
      st.events_held += s.ring.size() / g.stride;
      st.event_bytes += s.ring.capacity() * 8;
      for (std::uint32_t q = 0; q < g.n_mono; ++q) {
        st.other_bytes += g.mono[std::size_t{slot} * g.n_mono + q].capacity() * 4ull;
      }
      for (std::uint32_t d = 0; d < g.n_distinct; ++d) {
        const auto& m = g.distinct[std::size_t{slot} * g.n_distinct + d];
        if (m)
          st.other_bytes +=
              sizeof(*m) + m->capacity() * (sizeof(std::pair<std::uint64_t, std::uint32_t>) + 1);
      }
      st.other_bytes += bucket_total * sizeof(Bucket);
    }
  }
  st.other_bytes += index_ring.capacity() * 8 +
                    index_map.capacity() * (sizeof(std::pair<std::uint64_t, std::uint64_t>) + 1);
  st.status_index_entries = index_stride ? index_ring.size() / index_stride : 0;
  return st;
}

// ---------------------------------------------------------------------------------------------
// FeatureStore
// ---------------------------------------------------------------------------------------------

Result<FeatureStore> FeatureStore::create(const Config& config, Dictionary& dict) {
  std::vector<StrId> ids;
  std::vector<std::string_view> seen;
  if (config.lateness < 0) {
    return Status{ErrorCode::kInvalidArgument, "lateness must not be negative"};
  }
  if (config.features.size() > 4096) {
    return Status{ErrorCode::kInvalidArgument, "more than 4096 features"};
  }
  for (const FeatureSpec& f : config.features) {
    if (f.name.empty()) return spec_error(f, "empty name");
    for (const std::string_view b : kBuiltinNames) {
      if (f.name == b) return spec_error(f, "name clashes with a built-in feature");
    }
    if (std::find(seen.begin(), seen.end(), f.name) != seen.end()) {
      return spec_error(f, "duplicate feature name");
    }
    seen.push_back(f.name);
    if (!is_key_field(f.key)) {
      return spec_error(f, absl::StrFormat("key '%s' is not a key field", field_name(f.key)));
    }
    if (f.window <= 0) return spec_error(f, "window must be positive");
    if (f.granularity < 0) return spec_error(f, "granularity must not be negative");
    if (f.granularity > 0) {
      if (f.granularity >= f.window || f.window % f.granularity != 0) {
        return spec_error(f, "granularity must divide the window and be smaller than it");
      }
      if (f.window / f.granularity > 100000) {
        return spec_error(f, "more than 100000 buckets per window");
      }
      if (f.agg == Agg::kDistinct) return spec_error(f, "distinct cannot be bucketed");
    }
    if (f.agg == Agg::kCount) {
      if (f.field) return spec_error(f, "count takes no field");
    } else if (!f.field) {
      return spec_error(f, absl::StrFormat("agg '%s' needs a field", agg_name(f.agg)));
    } else if (f.agg == Agg::kDistinct) {
      if (!is_key_field(*f.field)) {
        return spec_error(
            f, absl::StrFormat("distinct needs a key-like field, not '%s'", field_name(*f.field)));
      }
    } else if (!is_numeric_field(*f.field)) {
      return spec_error(f, absl::StrFormat("agg '%s' needs a numeric field, not '%s'",
                                           agg_name(f.agg), field_name(*f.field)));
    }
    StrId id = kNoStr;
    if (!f.events.empty()) {
      constexpr std::string_view kPrefix = "status:";
      const std::string_view e = f.events;
      if (e.substr(0, kPrefix.size()) != kPrefix || e.size() == kPrefix.size()) {
        return spec_error(f, absl::StrFormat("events '%s' is not of the form status:<value>", e));
      }
      if (f.agg != Agg::kCount) return spec_error(f, "events features support agg count only");
      if (f.granularity > 0) return spec_error(f, "events features cannot be bucketed");
      id = dict.intern(e.substr(kPrefix.size()));
    }
    ids.push_back(id);
  }
  std::size_t windows = 0;
  for (const FeatureSpec& f : config.features) windows += f.granularity == 0 ? 1 : 0;
  if (windows > 255) return Status{ErrorCode::kInvalidArgument, "more than 255 exact windows"};
  return FeatureStore(Impl::build(config, ids));
}

FeatureStore::FeatureStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FeatureStore::FeatureStore(FeatureStore&&) noexcept = default;
FeatureStore& FeatureStore::operator=(FeatureStore&&) noexcept = default;
FeatureStore::~FeatureStore() = default;

const std::vector<std::string>& FeatureStore::column_names() const noexcept { return impl_->names; }
std::size_t FeatureStore::column_count() const noexcept { return impl_->names.size(); }
std::ptrdiff_t FeatureStore::column_index(std::string_view name) const noexcept {
  const auto& n = impl_->names;
  const auto it = std::find(n.begin(), n.end(), name);
  return it == n.end() ? -1 : it - n.begin();
}

Status FeatureStore::process(const TransactionBatch& batch, FeatureMatrix& out,
                             std::vector<std::uint32_t>* late_rows) {
  Impl& s = *impl_;
  out.reset(s.names.size(), batch.capacity());
  for (std::size_t c = 0; c < s.names.size(); ++c) s.cols[c] = out.column(c);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (s.process_row(BatchRow{batch, i}, i) && late_rows != nullptr) {
      late_rows->push_back(static_cast<std::uint32_t>(i));
    }
  }
  out.set_rows(batch.size());
  return {};
}

Status FeatureStore::process_one(const Transaction& tx, std::span<double> out, bool* late) {
  Impl& s = *impl_;
  if (out.size() < s.names.size()) {
    return {ErrorCode::kInvalidArgument,
            absl::StrFormat("process_one: output has %u values, the store has %u columns",
                            out.size(), s.names.size())};
  }
  for (std::size_t c = 0; c < s.names.size(); ++c) s.cols[c] = out.data() + c;
  const bool dead = s.process_row(TxRow{tx}, 0);
  if (late != nullptr) *late = dead;
  return {};
}

void FeatureStore::on_status(const StatusChange& change) { impl_->on_status(change); }

Status FeatureStore::snapshot(std::ostream& out) const { return impl_->snapshot(out); }

Status FeatureStore::restore(std::istream& in) {
  std::unique_ptr<Impl> fresh = Impl::build(impl_->config, impl_->status_ids);
  Status st = fresh->restore_into(in);
  if (!st.ok()) return st;
  impl_ = std::move(fresh);
  return {};
}

FeatureStoreStats FeatureStore::stats() const { return impl_->stats(); }

}  // namespace vigil
