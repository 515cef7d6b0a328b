// The feature store: configuration checks, the per-event update of exact, bucketed and
// status windows, eviction, and the public FeatureStore façade.
//
// Per key and exact window the store keeps a cursor (the sequence number of the window's
// oldest event in the key's ring) and running integer sums; an in-order event advances each
// cursor past the events that left the window (subtracting them) and adds itself: O(1)
// amortized. min / max come from monotonic queues of sequence numbers, distinct from a
// value -> multiplicity map — or, while a window holds few events, from a scan of the ring
// lines the row touches anyway (no allocation; see kMonoScanMax, kDistinctScanMax). A late event
// (within `lateness`) is inserted at its place in the ring; the running sums take it if it falls
// inside the current window, the queues are rebuilt, and its own features are computed by scanning
// its window once: late events are rare, so that O(window) path is off the hot path.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <tuple>

#include "absl/strings/str_format.h"
#include "features/store_impl.h"
#include "model/prefetch.h"

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

std::uint64_t splitmix_finish(std::uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

// The trans_num hash of snapshots up to version 2 (FNV-1a, a byte at a time, then the
// splitmix finalizer). A store restored from one keeps hashing this way (its index holds these
// hashes); every other store uses trans_hash_wide.
std::uint64_t trans_hash_fnv(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  return splitmix_finish(h);
}

// A stable 64-bit hash of a trans_num, 16 bytes per multiply (a 32-character Sparkov trans_num
// is two): snapshots carry it, so it must not depend on the process (absl::Hash is seeded per
// process) nor on the byte order of the host (little-endian x86-64 / AArch64 only).
std::uint64_t trans_hash_wide(std::string_view s) {
  // The Dictionary hash's primitives (wyhash's folded multiply), not its function: that one is
  // only promised stable within a process, and snapshots carry this one.
  using detail::dict_load64;
  using detail::dict_mix;
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t h = 0x243f6a8885a308d3ull ^ (static_cast<std::uint64_t>(n) * 0x9e3779b97f4a7c15ull);
  for (; n >= 16; p += 16, n -= 16) {
    h = dict_mix(dict_load64(p) ^ 0xa0761d6478bd642full,
                 dict_load64(p + 8) ^ h ^ 0xe7037ed1a0b428dbull);
  }
  if (n >= 8) {
    h = dict_mix(dict_load64(p) ^ 0x8ebc6af09c88c6e3ull, h ^ 0x589965cc75374cc3ull);
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = dict_mix(w ^ 0x1d8e4e27c47d124full, h ^ 0xa0761d6478bd642full);
  }
  return splitmix_finish(h);
}

}  // namespace

std::uint64_t FeatureStore::Impl::trans_hash(std::string_view s) const noexcept {
  return fnv_trans_hash ? trans_hash_fnv(s) : trans_hash_wide(s);
}

namespace {

// TransactionBatch::key(), inline: the hot loops read a key or two per row and group, and the
// out-of-line call cost more than the load.
inline std::uint64_t batch_key(const TransactionBatch& b, Field f, std::size_t i) {
  switch (f) {
    case Field::kCcNum: return b.cc_num[i];
    case Field::kMerchant: return b.merchant[i];
    case Field::kCategory: return b.category[i];
    case Field::kFirst: return b.first[i];
    case Field::kLast: return b.last[i];
    case Field::kStreet: return b.street[i];
    case Field::kCity: return b.city[i];
    case Field::kState: return b.state[i];
    case Field::kJob: return b.job[i];
    case Field::kZip: return b.zip[i];
    case Field::kGender: return static_cast<unsigned char>(b.gender[i]);
    default: return b.key(f, i);
  }
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
  std::uint64_t key(Field f) const { return batch_key(b, f, i); }
};

// Where field `f`'s values start in a batch, and their width: the columns process_row() reads
// (Impl::row_fields) are prefetched ahead of it.
struct ColumnRef {
  const std::byte* base;
  std::size_t width;
};
ColumnRef batch_column(const TransactionBatch& b, Field f) {
  auto ref = [](const auto& col) {
    return ColumnRef{reinterpret_cast<const std::byte*>(col.data()), sizeof(col[0])};
  };
  switch (f) {
    case Field::kTransDateTransTime: return ref(b.time);
    case Field::kCcNum: return ref(b.cc_num);
    case Field::kMerchant: return ref(b.merchant);
    case Field::kCategory: return ref(b.category);
    case Field::kAmt: return ref(b.amt_cents);
    case Field::kFirst: return ref(b.first);
    case Field::kLast: return ref(b.last);
    case Field::kGender: return ref(b.gender);
    case Field::kStreet: return ref(b.street);
    case Field::kCity: return ref(b.city);
    case Field::kState: return ref(b.state);
    case Field::kZip: return ref(b.zip);
    case Field::kLat: return ref(b.lat);
    case Field::kLong: return ref(b.lon);
    case Field::kCityPop: return ref(b.city_pop);
    case Field::kJob: return ref(b.job);
    case Field::kDob: return ref(b.dob);
    case Field::kTransNum: return ref(b.trans_num);
    case Field::kUnixTime: return ref(b.unix_time);
    case Field::kMerchLat: return ref(b.merch_lat);
    case Field::kMerchLong: return ref(b.merch_lon);
    case Field::kIsFraud: return ref(b.is_fraud);
  }
  return ref(b.time);
}

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

// Aggregations of a window's view, one per kind: agg_value() and process_row()'s output plan
// both read them.
inline double view_sum(const features_detail::View& v, double denom) {
  return v.n ? static_cast<double>(v.sum) / denom : kNaN;
}
inline double view_avg(const features_detail::View& v, double denom) {
  return v.n ? static_cast<double>(v.sum) / denom / static_cast<double>(v.n) : kNaN;
}
inline double view_min(const features_detail::View& v, double denom) {
  return v.n ? static_cast<double>(v.mn) / denom : kNaN;
}
inline double view_max(const features_detail::View& v, double denom) {
  return v.n ? static_cast<double>(v.mx) / denom : kNaN;
}

// The value of an aggregation over a window whose events number `count`.
inline double agg_value(const OutDef& o, const features_detail::View& v, std::uint64_t count) {
  switch (o.agg) {
    case Agg::kCount: return static_cast<double>(count);
    case Agg::kSum: return view_sum(v, o.denom);
    case Agg::kAvg: return view_avg(v, o.denom);
    case Agg::kMin: return view_min(v, o.denom);
    case Agg::kMax: return view_max(v, o.denom);
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

features_detail::Layout make_layout(const std::vector<SlotDef>& slots,
                                    const std::vector<std::uint8_t>& wide);

// Copies each accumulator's event field place from the layout (after any layout change).
void bind_layout(features_detail::Group& g) {
  for (auto& a : g.accs) {
    a.ev_off = g.lay.off[a.slot];
    a.ev_code = g.lay.code[a.slot];
    a.key_slot = g.slots[a.slot].kind == SlotKind::kKey;
    a.plain_sum = a.distinct < 0 && !a.has_n && !a.sq && a.min_q < 0 && a.max_q < 0;
  }
  const std::uint32_t n = g.inl_bytes / g.lay.bytes;
  g.inl_cap = n >= 2 ? n : 0;
  g.narrow_ints.clear();
  g.narrow_coords.clear();
  for (std::size_t k = 0; k < g.slots.size(); ++k) {
    if (g.lay.code[k] == 2) g.narrow_ints.push_back(static_cast<std::uint8_t>(k));
    if (g.lay.code[k] == 3) g.narrow_coords.push_back(static_cast<std::uint8_t>(k));
  }
  g.win_fields.assign(g.windows.size(), 0);
  g.scan_accs.clear();
  for (std::size_t i = 0; i < g.accs.size(); ++i) {
    const auto& a = g.accs[i];
    g.win_fields[a.window] = 1;
    if (a.distinct >= 0 || a.min_q >= 0 || a.max_q >= 0) {
      g.scan_accs.push_back(static_cast<std::uint16_t>(i));
    }
  }
}

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
      b.off = g.bucket_total;
      g.bucket_total += b.count + 1;
      b.compact = b.slot < 0;
      b.at = g.bucket_bytes;
      const std::size_t each = b.compact ? sizeof(features_detail::CountBucket) : sizeof(Bucket);
      g.bucket_bytes += static_cast<std::uint32_t>((sizeof(Bucket) + b.count * each + 63) & ~63ull);
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
  s.cold_after = config.limits.cold_after;

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
    g.coldable = g.status == kNoStr && g.ring && g.buckets.empty();
    // Events: 8-byte time, then 8-byte fields, then 4-byte ones (string ids, zip, gender,
    // integers that usually fit: cents, city_pop, dob, is_fraud, unix_time, and the merchant
    // coordinates of the built-ins, in tenths of a microdegree — widened on the first value
    // that does not).
    g.wide.assign(g.slots.size(), 1);
    for (std::size_t k = 0; k < g.slots.size(); ++k) {
      const SlotDef& d = g.slots[k];
      if (d.kind == SlotKind::kRaw) {
        g.wide[k] = 0;
      } else if (d.kind == SlotKind::kKey) {
        g.wide[k] = d.field == Field::kCcNum;
      } else if (d.kind == SlotKind::kScaled) {
        g.wide[k] =
            !(d.field == Field::kAmt || d.field == Field::kCityPop || d.field == Field::kDob ||
              d.field == Field::kIsFraud || d.field == Field::kUnixTime);
      }
    }
    g.lay = make_layout(g.slots, g.wide);
    bind_layout(g);
    // Record: head, cursors, then per accumulator Σx (or the distinct word), n if the field
    // can be missing (amounts never are: n is the window's count), Σx², min / max queues.
    std::uint32_t off =
        static_cast<std::uint32_t>(sizeof(features_detail::RecHead) + 4 * g.windows.size());
    off = (off + 7) & ~7u;
    for (auto& a : g.accs) {
      a.has_n = a.distinct < 0 && g.slots[a.slot].field != Field::kAmt;
      a.narrow = a.distinct >= 0 && g.lay.code[a.slot] == 1;
      a.off = off;
      off += 8 + (a.has_n ? 8 : 0) + (a.sq ? 16 : 0);
      if (a.min_q >= 0) {
        a.min_off = off;
        off += 16;
      }
      if (a.max_q >= 0) {
        a.max_off = off;
        off += 16;
      }
    }
    g.rec_bytes = off;
    bind_layout(g);  // (again: has_n is known now)
    // Logical bytes: the record, ~10 bytes of hash table, the bucket array (the inline ring
    // below only fills the record's last line, and events are charged as events).
    g.key_charge = g.rec_bytes + 10 + (g.buckets.empty() ? 0 : 8 + g.bucket_bytes);
    // An inline ring when the record's padding to whole lines is small (at most 24 bytes:
    // less than the smallest ring malloc gives) yet holds two events or more.
    if (g.ring) {
      const std::uint32_t padded = (off + 63) & ~63u;
      if (padded - off <= 24 && (padded - off) / g.lay.bytes >= 2) {
        g.inl_off = off;
        g.inl_bytes = padded - off;
        g.rec_bytes = padded;
        bind_layout(g);
      }
    }
    g.ev.resize(1 + g.slots.size());
    g.acc_view.resize(g.accs.size());
    g.win_count.resize(g.windows.size());
    g.bucket_view.resize(g.buckets.size());
    if (g.status != kNoStr &&
        std::find(s.index_fields.begin(), s.index_fields.end(), g.key) == s.index_fields.end()) {
      s.index_fields.push_back(g.key);
    }
  }
  s.index_stride = static_cast<std::uint32_t>(1 + s.index_fields.size());
  // The columns process_row() reads row by row (the batch pre-pass reads the transaction
  // groups' keys first): the built-ins' inputs, every event field, the index's keys.
  {
    std::uint32_t seen = 0;
    auto read = [&](Field f) {
      if (((seen >> static_cast<unsigned>(f)) & 1) == 0) s.row_fields.push_back(f);
      seen |= 1u << static_cast<unsigned>(f);
    };
    for (std::size_t gi = 0; gi < s.n_txn_groups; ++gi)
      seen |= 1u << static_cast<unsigned>(s.groups[gi].key);
    for (const Field f : {Field::kTransDateTransTime, Field::kAmt, Field::kLat, Field::kLong,
                          Field::kMerchLat, Field::kMerchLong, Field::kCityPop, Field::kDob}) {
      read(f);
    }
    for (std::size_t gi = 0; gi < s.n_txn_groups; ++gi) {
      for (const SlotDef& sd : s.groups[gi].slots) read(sd.field);
    }
    for (const Field f : s.index_fields) read(f);
  }
  s.index.init(s.index_stride, s.index_limit);

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
  // The groups and their per-row views are final: each output reads its own directly.
  for (OutDef& o : s.outs) {
    Group& g = s.groups[o.group];
    if (o.src == OutDef::Src::kWindow) {
      o.count = &g.win_count[o.window];
      if (o.acc >= 0) o.view = &g.acc_view[static_cast<std::size_t>(o.acc)];
    } else if (o.src == OutDef::Src::kBucket) {
      o.view = &g.bucket_view[o.window];
    }
  }
  // The row's output plan: outputs grouped by what they compute, each group a tight loop.
  for (std::size_t j = 0; j < s.outs.size(); ++j) {
    const OutDef& o = s.outs[j];
    const auto col = static_cast<std::uint32_t>(kBuiltinFeatureCount + j);
    if (o.view == nullptr && o.count != nullptr) {
      s.plan.counts.push_back({col, o.count});
      continue;
    }
    auto* kind = o.view == nullptr         ? nullptr
                 : o.agg == Agg::kSum      ? &s.plan.sums
                 : o.agg == Agg::kAvg      ? &s.plan.avgs
                 : o.agg == Agg::kMin      ? &s.plan.mins
                 : o.agg == Agg::kMax      ? &s.plan.maxs
                 : o.agg == Agg::kDistinct ? &s.plan.distincts
                                           : nullptr;
    if (kind != nullptr) {
      kind->push_back({col, o.view, o.denom});
    } else {
      s.plan.general.push_back(static_cast<std::uint32_t>(j));
    }
  }
  return impl;
}

// ---------------------------------------------------------------------------------------------
// Hash table, key records, event rings
// ---------------------------------------------------------------------------------------------

namespace features_detail {

void Group::insert(std::uint64_t h, std::uint32_t slot) {
  // Load at most 0.8: linear probing stays short, and 100k keys fit 2^17 entries.
  if ((live + 1) * 5 > table.size() * 4) {
    std::vector<std::uint64_t> old = std::move(table);
    table.assign(std::max<std::size_t>(16, old.size() * 2), 0);
    mask = table.size() - 1;
    for (const std::uint64_t e : old) {
      if (e == 0) continue;
      const std::uint64_t hh = key_hash(head(static_cast<std::uint32_t>(e) - 1).key);
      std::uint64_t i = hh & mask;
      while (table[i] != 0) i = (i + 1) & mask;
      table[i] = e;
    }
  }
  std::uint64_t i = h & mask;
  while (table[i] != 0) i = (i + 1) & mask;
  table[i] = ((h >> 32) << 32) | (std::uint64_t{slot} + 1);
  ++live;
}

void Group::erase(std::uint64_t h, std::uint32_t slot) {
  std::uint64_t i = entry_of(h, slot);
  // Backward-shift deletion: no tombstones, probes stay as short as at insertion.
  for (std::uint64_t j = (i + 1) & mask; table[j] != 0; j = (j + 1) & mask) {
    const std::uint64_t k = key_hash(head(static_cast<std::uint32_t>(table[j]) - 1).key) & mask;
    const bool movable = i <= j ? (k <= i || k > j) : (k <= i && k > j);
    if (movable) {
      table[i] = table[j];
      i = j;
    }
  }
  table[i] = 0;
  --live;
}

void Group::relink(std::uint64_t h, std::uint32_t from, std::uint32_t to) noexcept {
  const std::uint64_t i = entry_of(h, from);
  table[i] = (table[i] & ~std::uint64_t{0xffffffff}) | (std::uint64_t{to} + 1);
}

BucketBlock Group::new_buckets() const {
  BucketBlock blk(new (std::align_val_t{64}) std::byte[bucket_bytes]);
  clear_buckets(blk.get());
  return blk;
}

void Group::clear_buckets(std::byte* blk) const noexcept {
  for (const BucketDef& d : buckets) {
    Bucket& total = *new (blk + d.at) Bucket{};
    set_occ(total, 0);
    std::byte* const ring = blk + d.at + sizeof(Bucket);
    for (std::uint32_t p = 0; p < d.count; ++p) {
      if (d.compact) {
        new (ring + p * sizeof(CountBucket)) CountBucket{};
      } else {
        new (ring + p * sizeof(Bucket)) Bucket{};
      }
    }
  }
}

}  // namespace features_detail

namespace {

using features_detail::DistinctSet;
using features_detail::Layout;
using features_detail::MonoQ;
using features_detail::RecHead;

// Running sums are 8-byte aligned int64 words of the record (pages are uint64_t arrays): typed
// access, so that their stores do not force the hot loops to reload everything else.
inline std::int64_t ld64(const std::byte* p) { return *reinterpret_cast<const std::int64_t*>(p); }
inline void st64(std::byte* p, std::int64_t v) { *reinterpret_cast<std::int64_t*>(p) = v; }
inline i128 ld128(const std::byte* p) {
  i128 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void st128(std::byte* p, i128 v) { std::memcpy(p, &v, sizeof v); }

// An accumulator's fields in its key record.
inline std::byte* acc_sum(std::byte* rec, const features_detail::AccDef& a) { return rec + a.off; }
inline std::byte* acc_n(std::byte* rec, const features_detail::AccDef& a) {
  return rec + a.off + 8;
}
inline std::byte* acc_sq(std::byte* rec, const features_detail::AccDef& a) {
  return rec + a.off + (a.has_n ? 16 : 8);
}

// A distinct accumulator's word is, while its window holds few events, a count:
// (count << 1) | 1, or 0 for none. Membership is then answered by scanning the window in the
// ring, whose lines the row touches anyway: no allocation, no hash probes, no extra memory.
// Past kDistinctScanMax window events it becomes a DistinctSet* (value -> multiplicity), and
// a count again at kDistinctScanBack or fewer (hysteresis). Both give the same count, and the
// same 16 bytes per distinct value charged against the memory budget.
constexpr std::uint32_t kDistinctScanMax = 32;
constexpr std::uint32_t kDistinctScanBack = 16;
inline std::uint64_t ds_word(const std::byte* rec, const features_detail::AccDef& a) {
  std::uint64_t w;
  std::memcpy(&w, rec + a.off, sizeof w);
  return w;
}
inline void ds_put(std::byte* rec, const features_detail::AccDef& a, std::uint64_t w) {
  std::memcpy(rec + a.off, &w, sizeof w);
}
// A count's word also holds its window's duplicate mask: bits 1..31 the count, bits 32..63 the
// mask, whose bit (seq & 31) is set when the window event of sequence number seq has a later
// event with the same value. Between rows a counted window holds at most kDistinctScanMax = 32
// events, so their bits are distinct (a row that brings a 33rd turns the count into a set). An
// event leaving the window takes its value with it only when its bit is clear: evictions need
// no scan. A new event marks the last earlier occurrence of its value, which the scan deciding
// whether the value is new finds first (it scans backwards).
inline bool ds_small(std::uint64_t w) { return w == 0 || (w & 1) != 0; }
inline std::uint64_t ds_small_word(std::uint64_t count, std::uint32_t dups) {
  return (std::uint64_t{dups} << 32) | (count << 1) | 1;
}
inline std::uint64_t small_count(std::uint64_t w) { return (w >> 1) & 0x7fffffff; }
inline std::uint32_t small_dups(std::uint64_t w) { return static_cast<std::uint32_t>(w >> 32); }
inline std::uint32_t seq_bit(std::uint32_t seq) { return std::uint32_t{1} << (seq & 31); }
// A set's word is its pointer, 64-byte aligned (ds_alloc()), with log2 of its capacity in bits
// 1..5 (bit 0 clear: not a count): the prefetch stage finds the entry a value probes first
// without reading the set's header, which is then fetched alongside. (No assumption on the
// unused high bits of addresses: they are tagged on some platforms.)
inline DistinctSet* ds_ptr(std::uint64_t w) {
  return reinterpret_cast<DistinctSet*>(w & ~std::uint64_t{63});
}
inline std::uint32_t ds_cap(std::uint64_t w) { return std::uint32_t{1} << ((w >> 1) & 31); }
inline std::uint64_t ds_set_word(const DistinctSet* d) {
  if (d == nullptr) return 0;  // (a count of none)
  return reinterpret_cast<std::uint64_t>(d) |
         (static_cast<std::uint64_t>(std::countr_zero(d->cap)) << 1);
}
/// The bytes a set of `cap` entries takes: whole lines (ds_alloc()).
template <class E>
std::size_t ds_alloc_bytes(std::uint32_t cap) {
  return (DistinctSet::bytes<E>(cap) + 63) & ~std::size_t{63};
}
inline std::uint64_t ds_count(std::uint64_t w) {
  return ds_small(w) ? small_count(w) : ds_ptr(w)->size;
}

// Does `v` occur in the accumulator's field of ring events [from, to)?
bool ring_has(const RecHead& h, std::uint32_t eb, std::uint32_t from, std::uint32_t to,
              const features_detail::AccDef& a, std::uint64_t v) {
  if (from >= to) return false;
  std::uint32_t pos = h.head + from;
  if (pos >= h.cap) pos -= h.cap;
  const std::byte* p = h.ring + std::size_t{pos} * eb;
  const std::byte* const end = h.ring + std::size_t{h.cap} * eb;
  for (std::uint32_t i = from; i < to; ++i) {
    if (features_detail::load_code(p + a.ev_off, a.ev_code) == v) return true;
    p += eb;
    if (p == end) p = h.ring;
  }
  return false;
}
inline MonoQ& acc_q(std::byte* rec, std::uint32_t off) {
  return *reinterpret_cast<MonoQ*>(rec + off);
}

template <class E>
DistinctSet* ds_alloc(std::uint32_t cap) {
  const std::size_t bytes = ds_alloc_bytes<E>(cap);
  auto* d = static_cast<DistinctSet*>(std::aligned_alloc(64, bytes));
  if (d == nullptr) throw std::bad_alloc();
  std::memset(static_cast<void*>(d), 0, bytes);
  d->cap = cap;
  return d;
}

inline std::uint32_t ds_home(std::uint64_t v, std::uint32_t m) {
  return static_cast<std::uint32_t>(features_detail::key_hash(v)) & m;
}

template <class E>
void ds_rehash(DistinctSet*& d, std::uint32_t cap) {
  DistinctSet* n = ds_alloc<E>(cap);
  E* from = d->entries<E>();
  E* to = n->entries<E>();
  for (std::uint32_t i = 0; i < d->cap; ++i) {
    if (from[i].n == 0) continue;
    std::uint32_t j = ds_home(from[i].v, cap - 1);
    while (to[j].n != 0) j = (j + 1) & (cap - 1);
    to[j] = from[i];
  }
  n->size = d->size;
  std::free(d);
  d = n;
}

// Adds one occurrence of v; true if v is new. Load at most 7/8: the sets are small.
template <class E>
bool ds_add(DistinctSet*& d, std::uint64_t v) {
  if (d == nullptr) d = ds_alloc<E>(4);
  if ((d->size + 1) * 8 > d->cap * 7) ds_rehash<E>(d, d->cap * 2);
  const std::uint32_t m = d->cap - 1;
  E* e = d->entries<E>();
  std::uint32_t i = ds_home(v, m);
  while (e[i].n != 0 && e[i].v != v) i = (i + 1) & m;
  if (e[i].n++ != 0) return false;
  e[i].v = static_cast<decltype(e[i].v)>(v);
  ++d->size;
  return true;
}

// Removes one occurrence of v (present); true if that was its last.
template <class E>
bool ds_remove(DistinctSet*& d, std::uint64_t v) {
  const std::uint32_t m = d->cap - 1;
  E* e = d->entries<E>();
  std::uint32_t i = ds_home(v, m);
  while (e[i].v != v || e[i].n == 0) i = (i + 1) & m;
  if (--e[i].n != 0) return false;
  for (std::uint32_t j = (i + 1) & m; e[j].n != 0; j = (j + 1) & m) {
    const std::uint32_t k = ds_home(e[j].v, m);
    const bool movable = i <= j ? (k <= i || k > j) : (k <= i && k > j);
    if (movable) {
      e[i] = e[j];
      i = j;
    }
  }
  e[i] = {};
  if (--d->size == 0) {
    std::free(d);
    d = nullptr;
  } else if (d->cap > 8 && d->size * 8 <= d->cap) {
    ds_rehash<E>(d, d->cap / 2);
  }
  return true;
}

inline bool ds_add(const features_detail::AccDef& a, DistinctSet*& d, std::uint64_t v) {
  return a.narrow ? ds_add<DistinctSet::Narrow>(d, v) : ds_add<DistinctSet::Wide>(d, v);
}
inline bool ds_remove(const features_detail::AccDef& a, DistinctSet*& d, std::uint64_t v) {
  return a.narrow ? ds_remove<DistinctSet::Narrow>(d, v) : ds_remove<DistinctSet::Wide>(d, v);
}

// The distinct word of ring events [from, to): a count and its duplicate mask up to
// kDistinctScanMax events, else a DistinctSet.
std::uint64_t ds_build(const RecHead& h, std::uint32_t eb, std::uint32_t from, std::uint32_t to,
                       const features_detail::AccDef& a) {
  if (to - from <= kDistinctScanMax) {
    std::uint64_t count = 0;
    std::uint32_t dups = 0;
    for (std::uint32_t j = from; j < to; ++j) {
      std::uint32_t pos = h.head + j;
      if (pos >= h.cap) pos -= h.cap;
      const std::uint64_t v =
          features_detail::load_code(h.ring + std::size_t{pos} * eb + a.ev_off, a.ev_code);
      if (v == 0) continue;
      // Counted at its last occurrence; the earlier ones have a later duplicate.
      if (ring_has(h, eb, j + 1, to, a, v)) {
        dups |= seq_bit(h.base + j);
      } else {
        ++count;
      }
    }
    return ds_small_word(count, dups);
  }
  DistinctSet* d = nullptr;
  for (std::uint32_t j = from; j < to; ++j) {
    std::uint32_t pos = h.head + j;
    if (pos >= h.cap) pos -= h.cap;
    const std::uint64_t v =
        features_detail::load_code(h.ring + std::size_t{pos} * eb + a.ev_off, a.ev_code);
    if (v != 0) ds_add(a, d, v);
  }
  return ds_set_word(d);
}

// Frees a record's derived heap state (distinct sets, min / max queues), leaving its words to
// the caller; returns the memory charge of its distinct values (16 bytes each).
std::uint64_t free_derived(const features_detail::Group& g, std::byte* rec) {
  std::uint64_t distinct_charge = 0;
  for (const auto& a : g.accs) {
    if (a.distinct >= 0) {
      const std::uint64_t w = ds_word(rec, a);
      distinct_charge += ds_count(w) * 16;
      if (!ds_small(w)) std::free(ds_ptr(w));
    }
    if (a.min_q >= 0) acc_q(rec, a.min_off).release();
    if (a.max_q >= 0) acc_q(rec, a.max_off).release();
  }
  return distinct_charge;
}

// The memory charge of a cold key's distinct values (16 bytes each, as its hot record took
// them): each distinct accumulator's count over its window as of the key's newest event.
std::uint64_t cold_distinct_charge(const features_detail::Group& g, const RecHead& h) {
  std::uint64_t charge = 0;
  for (std::size_t w = 0; w < g.windows.size(); ++w) {
    const std::uint32_t idx = g.window_start(h, w);
    for (const std::uint16_t ai : g.accs_by_window[w]) {
      const auto& a = g.accs[ai];
      if (a.distinct < 0) continue;
      const std::uint64_t dw = ds_build(h, g.lay.bytes, idx, h.size, a);
      charge += ds_count(dw) * 16;
      if (!ds_small(dw)) std::free(ds_ptr(dw));
    }
  }
  return charge;
}

// min / max of a window: while it holds at most kMonoScanMax events there is no queue (no
// allocation) and a row scans the window; past that a monotonic queue of sequence numbers,
// dropped again at kMonoScanBack events or fewer (hysteresis). Same value either way.
constexpr std::uint32_t kMonoScanMax = 16;
constexpr std::uint32_t kMonoScanBack = 8;

// Fills `q` (allocating it) with the monotonic queue of ring events [from, to).
void mono_build(const RecHead& h, std::uint32_t eb, std::uint32_t from, std::uint32_t to,
                const features_detail::AccDef& a, bool is_min, MonoQ& q) {
  auto value = [&](std::uint32_t idx) {
    std::uint32_t pos = h.head + idx;
    if (pos >= h.cap) pos -= h.cap;
    return static_cast<std::int64_t>(
        features_detail::load_code(h.ring + std::size_t{pos} * eb + a.ev_off, a.ev_code));
  };
  q.clear();
  for (std::uint32_t idx = from; idx < to; ++idx) {
    const std::int64_t x = value(idx);
    if (x == kMissing) continue;
    while (!q.empty()) {
      const std::int64_t b = value(q.back() - h.base);
      if (is_min ? b >= x : b <= x) {
        q.pop_back();
      } else {
        break;
      }
    }
    q.push_back(h.base + idx);
  }
  if (q.buf == nullptr) q.grow();  // a window of missing values only: still a queue
}

void ring_realloc(const features_detail::Group& g, RecHead& h, std::uint32_t bytes,
                  std::uint32_t cap) {
  auto* r = static_cast<std::byte*>(std::malloc(std::size_t{cap} * bytes));
  if (r == nullptr) throw std::bad_alloc();
  // Unwrap into [0, size).
  const std::uint32_t first = std::min(h.size, h.cap - h.head);
  if (h.size > 0) {
    std::memcpy(r, h.ring + std::size_t{h.head} * bytes, std::size_t{first} * bytes);
    std::memcpy(r + std::size_t{first} * bytes, h.ring, std::size_t{h.size - first} * bytes);
  }
  if (!g.ring_inline(h)) std::free(h.ring);
  h.ring = r;
  h.head = 0;
  h.cap = cap;
}

// Ring capacities. Rings are most of the store's bytes, and a key's ring keeps the largest
// size its window reached: it grows by half (2, 3, 5, 8, 12, 18, 27, …) and, once half empty,
// shrinks to its size and a quarter. (Shrinking only at a quarter full left the realistic
// 100k-card stream's rings 31% empty; growing by a quarter as well saved 6% more of the event
// bytes but cost 37 instructions a row in reallocations on the default config's 30-day rings.)
inline std::uint32_t ring_grown(std::uint32_t cap) noexcept {
  return cap == 0 ? 2 : cap + (cap + 1) / 2;
}
inline bool ring_too_big(std::uint32_t size, std::uint32_t cap) noexcept {
  return cap >= 8 && size * 2 <= cap;
}
inline std::uint32_t ring_shrunk(std::uint32_t size) noexcept {
  return size + std::max<std::uint32_t>(1, size / 4);
}

inline void ring_reserve_one(const features_detail::Group& g, RecHead& h, std::uint32_t bytes) {
  if (h.size == h.cap) ring_realloc(g, h, bytes, ring_grown(h.cap));
}

// Moves a heap ring of at most inl_cap events into its record.
void ring_to_inline(const features_detail::Group& g, RecHead& h, std::uint32_t bytes) {
  std::byte* r = g.inline_ring(h);
  const std::uint32_t first = std::min(h.size, h.cap - h.head);
  std::memcpy(r, h.ring + std::size_t{h.head} * bytes, std::size_t{first} * bytes);
  std::memcpy(r + std::size_t{first} * bytes, h.ring, std::size_t{h.size - first} * bytes);
  std::free(h.ring);
  h.ring = r;
  h.head = 0;
  h.cap = g.inl_cap;
}

// Empties a ring, back to the record's inline one if it has one.
void ring_free(const features_detail::Group& g, RecHead& h) {
  if (!g.ring_inline(h)) std::free(h.ring);
  h.ring = g.inline_ring(h);
  h.head = h.size = 0;
  h.cap = h.ring != nullptr ? g.inl_cap : 0;
}

}  // namespace

namespace features_detail {

Group::~Group() {
  for (std::uint32_t i = 0; i < cold.size(); ++i) std::free(cold[i].ring);  // (free: nullptr)
  for (std::uint32_t slot = 0; slot < n_slots; ++slot) {
    if (!pages[slot >> kPageShift]) continue;  // (a released page: no key)
    RecHead& h = head(slot);
    if (!ring_inline(h)) std::free(h.ring);
    free_derived(*this, rec(slot));
  }
}

}  // namespace features_detail

std::uint32_t FeatureStore::Impl::new_key(Group& g, std::uint64_t key, std::uint64_t h) {
  const std::uint32_t slot = take_slot(g);
  RecHead& rh = g.head(slot);
  rh.key = key;
  rh.newest = kNever;
  rh.ring = g.inline_ring(rh);
  rh.cap = rh.ring != nullptr ? g.inl_cap : 0;
  if (!g.buckets.empty()) g.bucket_data[slot] = g.new_buckets();
  g.insert(h, slot);
  charged += g.key_charge;
  return slot;
}

std::uint32_t FeatureStore::Impl::take_slot(Group& g) {
  // The lowest free slot (free_slots is a min-heap): keys gather in the first pages, and the
  // last ones empty out as keys go cold or leave (release_slot() gives them back).
  std::uint32_t slot;
  if (g.free_slots.empty() && !g.free_pages.empty()) {
    // The lowest page given back: all its slots free again.
    const auto low = std::min_element(g.free_pages.begin(), g.free_pages.end());
    const std::uint32_t page = *low;
    g.free_pages.erase(low);
    for (std::uint32_t i = 0; i < Group::kPageSlots; ++i) {
      g.free_slots.push_back((page << Group::kPageShift) | i);
    }
    std::make_heap(g.free_slots.begin(), g.free_slots.end(), std::greater<>{});
  }
  if (!g.free_slots.empty()) {
    std::pop_heap(g.free_slots.begin(), g.free_slots.end(), std::greater<>{});
    slot = g.free_slots.back();
    g.free_slots.pop_back();
  } else {
    slot = g.n_slots;
    if ((slot >> Group::kPageShift) == g.pages.size()) {
      g.pages.emplace_back();
      g.page_live.push_back(0);
    }
  }
  // n_slots bounds every slot ever taken (the loops over all slots stop there): a page taken
  // again offers slots past it.
  if (slot >= g.n_slots) {
    g.n_slots = slot + 1;
    if (!g.buckets.empty()) g.bucket_data.resize(g.n_slots);
  }
  const std::uint32_t page = slot >> Group::kPageShift;
  if (!g.pages[page]) {
    // A new page, or one given back before: every record a free slot (no ring, newest kNever)
    // until taken, as the loops over all slots (sweep, relayout, destructor) expect.
    g.pages[page].reset(new (std::align_val_t{64})
                            std::uint64_t[std::size_t{Group::kPageSlots} * (g.rec_bytes / 8)]());
    for (std::uint32_t i = 0; i < Group::kPageSlots; ++i) {
      g.head((page << Group::kPageShift) | i).newest = kNever;
    }
  }
  ++g.page_live[page];
  std::memset(g.rec(slot), 0, g.rec_bytes);
  return slot;
}

void FeatureStore::Impl::release_slot(Group& g, std::uint32_t slot) {
  g.free_slots.push_back(slot);
  std::push_heap(g.free_slots.begin(), g.free_slots.end(), std::greater<>{});
  const std::uint32_t page = slot >> Group::kPageShift;
  if (--g.page_live[page] != 0) return;
  // The page's last key: the page goes back, its slots leave the free heap (take_slot() takes
  // the page again when no other slot is free).
  g.pages[page].reset();
  g.free_pages.push_back(page);
  std::erase_if(g.free_slots, [page](std::uint32_t f) { return (f >> Group::kPageShift) == page; });
  std::make_heap(g.free_slots.begin(), g.free_slots.end(), std::greater<>{});
  if (g.free_slots.capacity() > 4 * g.free_slots.size() + Group::kPageSlots) {
    g.free_slots.shrink_to_fit();
  }
}

bool FeatureStore::Impl::demote(Group& g, std::uint32_t slot) {
  RecHead& h = g.head(slot);
  if (!g.coldable || g.ring_inline(h)) return false;
  std::byte* const rec = g.rec(slot);
  // The derived state goes (its charge stays: the memory budget sees the logical state).
  free_derived(g, rec);
  // Its ring to the size it holds (it grows again on the key's next event).
  if (h.size > 0 && h.cap > h.size) ring_realloc(g, h, g.lay.bytes, h.size);
  std::uint32_t ci;
  if (!g.cold_free.empty()) {
    ci = g.cold_free.back();
    g.cold_free.pop_back();
    g.cold[ci] = h;
  } else {
    if (g.cold.size() >= Group::kCold - 1) return false;  // (2^31 cold keys: stays hot)
    ci = g.cold.push_back(h);
  }
  g.relink(features_detail::key_hash(h.key), slot, Group::kCold | ci);
  std::memset(rec, 0, g.rec_bytes);  // a free slot: no ring, newest 0 … (see sweep_step)
  g.head(slot).newest = kNever;
  release_slot(g, slot);
  return true;
}

std::uint32_t FeatureStore::Impl::promote(Group& g, std::uint32_t cold_slot, std::uint64_t h) {
  const std::uint32_t slot = take_slot(g);
  const std::uint32_t ci = cold_slot & ~Group::kCold;
  *reinterpret_cast<RecHead*>(g.rec(slot)) = g.cold[ci];
  g.cold[ci] = RecHead{};
  g.cold_free.push_back(ci);
  g.relink(h, cold_slot, slot);
  // Rebuilt from the ring as restore() does (its distinct charge was never taken off).
  if (!g.windows.empty()) rebuild_sums(g, slot);
  return slot;
}

// Forgets a key's contents, keeping its slot (an expired key seen again).
void FeatureStore::Impl::clear_key(Group& g, std::uint32_t slot) {
  std::byte* rec = g.rec(slot);
  RecHead& h = g.head(slot);
  charged -= std::uint64_t{h.size} * g.lay.bytes;
  h.head = h.size = 0;
  if (h.cap > 4) ring_free(g, h);
  h.newest = kNever;
  h.base = 0;
  charged -= free_derived(g, rec);
  std::memset(rec + sizeof(RecHead), 0, g.rec_bytes - sizeof(RecHead));
  if (!g.buckets.empty()) g.clear_buckets(g.bucket_data[slot].get());
}

void FeatureStore::Impl::erase_key(Group& g, std::uint32_t slot) {
  if (Group::is_cold(slot)) {
    const std::uint32_t ci = slot & ~Group::kCold;
    RecHead& h = g.cold[ci];
    charged -= std::uint64_t{h.size} * g.lay.bytes + g.key_charge;
    // (Its distinct values' charge: they were never taken off.)
    if (g.n_distinct > 0) charged -= cold_distinct_charge(g, h);
    g.erase(features_detail::key_hash(h.key), slot);
    std::free(h.ring);
    h = RecHead{};
    g.cold_free.push_back(ci);
    ++counters.evicted_keys;
    return;
  }
  clear_key(g, slot);
  ring_free(g, g.head(slot));
  if (!g.buckets.empty()) g.bucket_data[slot].reset();
  charged -= g.key_charge;
  g.erase(features_detail::key_hash(g.head(slot).key), slot);
  g.head(slot).key = 0;
  release_slot(g, slot);
  ++counters.evicted_keys;
}

void FeatureStore::Impl::append_event(Group& g, RecHead& s, const std::uint64_t* ev) {
  ring_reserve_one(g, s, g.lay.bytes);
  features_detail::store_event(g.lay, ev, g.ev_at(s, s.size));
  ++s.size;
  charged += g.lay.bytes;
}

// A value that does not fit its 4-byte event field widens that field for the whole group.
void FeatureStore::Impl::ensure_fits(Group& g, const std::uint64_t* ev) {
  if (g.fits(ev)) [[likely]]
    return;
  for (std::size_t k = 0; k < g.slots.size(); ++k) {
    if (!features_detail::fits_code(g.lay.code[k], ev[1 + k])) relayout(g, k);
  }
}

namespace {
features_detail::Layout make_layout(const std::vector<SlotDef>& slots,
                                    const std::vector<std::uint8_t>& wide) {
  using features_detail::Layout;
  Layout l;
  l.off.resize(slots.size());
  l.code.resize(slots.size());
  std::uint32_t off = 8;
  for (std::size_t k = 0; k < slots.size(); ++k) {
    if (!wide[k]) continue;
    l.off[k] = static_cast<std::uint8_t>(off);
    l.code[k] = 0;
    off += 8;
  }
  for (std::size_t k = 0; k < slots.size(); ++k) {
    if (wide[k]) continue;
    l.off[k] = static_cast<std::uint8_t>(off);
    l.code[k] = slots[k].kind == SlotKind::kKey ? 1 : slots[k].kind == SlotKind::kRaw ? 3 : 2;
    off += 4;
  }
  l.bytes = off;
  return l;
}
}  // namespace

void FeatureStore::Impl::relayout(Group& g, std::size_t k) {
  const Layout old = g.lay;
  g.wide[k] = 1;
  g.widened |= std::uint64_t{1} << k;
  g.lay = make_layout(g.slots, g.wide);
  bind_layout(g);
  std::vector<std::uint64_t> w(1 + g.slots.size());
  auto convert = [&](RecHead& h) {
    if (h.ring == nullptr) return;
    if (h.size == 0 && g.ring_inline(h)) {  // (free slots too) the inline ring, or none
      h.ring = g.inline_ring(h);
      h.head = 0;
      h.cap = h.ring != nullptr ? g.inl_cap : 0;
      return;
    }
    auto* r = static_cast<std::byte*>(std::malloc(std::size_t{h.cap} * g.lay.bytes));
    if (r == nullptr) throw std::bad_alloc();
    for (std::uint32_t i = 0; i < h.size; ++i) {
      const std::uint32_t pos = h.head + i < h.cap ? h.head + i : h.head + i - h.cap;
      const std::byte* e = h.ring + std::size_t{pos} * old.bytes;
      w[0] = static_cast<std::uint64_t>(features_detail::load_time(e));
      for (std::size_t s = 0; s < g.slots.size(); ++s) w[1 + s] = load_slot(old, e, s);
      features_detail::store_event(g.lay, w.data(), r + std::size_t{i} * g.lay.bytes);
    }
    if (!g.ring_inline(h)) std::free(h.ring);
    h.ring = r;
    h.head = 0;
    charged += std::uint64_t{h.size} * (g.lay.bytes - old.bytes);
  };
  for (std::uint32_t slot = 0; slot < g.n_slots; ++slot) {
    if (g.pages[slot >> Group::kPageShift]) convert(g.head(slot));
  }
  for (std::uint32_t i = 0; i < g.cold.size(); ++i) convert(g.cold[i]);  // (free: no ring)
}

// ---------------------------------------------------------------------------------------------
// Exact windows
// ---------------------------------------------------------------------------------------------

namespace {
// Ring scans of the hot path: the window [from, to) as at most two contiguous runs (one
// wrap), each a strided loop over one field read at its stored width.
struct RingRuns {
  const std::byte* p1;
  std::uint32_t n1;
  const std::byte* p2;
  std::uint32_t n2;
};
inline RingRuns ring_runs(const std::byte* ring, std::uint32_t cap, std::uint32_t head,
                          std::uint32_t eb, std::uint32_t from, std::uint32_t to) {
  std::uint32_t pos = head + from;
  if (pos >= cap) pos -= cap;
  const std::uint32_t count = to - from;
  const std::uint32_t first = std::min(count, cap - pos);
  return {ring + std::size_t{pos} * eb, first, ring, count - first};
}

// The index of the last ring event of [from, to) whose key field (code 0 or 1) at `off` holds
// `v`, or -1: the events scanned from the newest back.
inline std::int64_t ring_last_key(const std::byte* ring, std::uint32_t cap, std::uint32_t head,
                                  std::uint32_t eb, std::uint32_t from, std::uint32_t to,
                                  std::uint32_t off, std::uint8_t code, std::uint64_t v) {
  if (from >= to) return -1;
  const RingRuns r = ring_runs(ring, cap, head, eb, from, to);
  // Index of the match in the run starting at `first` (run-relative k counts down), or -1.
  auto run = [&](const std::byte* p, std::uint32_t k, std::uint32_t first) -> std::int64_t {
    p += off + std::size_t{k} * eb;
    if (code == 1) {
      if ((v >> 32) != 0) return -1;  // a zero-extended 4-byte field never holds it
      const auto v32 = static_cast<std::uint32_t>(v);
      for (; k != 0; --k) {
        p -= eb;
        std::uint32_t x;
        std::memcpy(&x, p, 4);
        if (x == v32) return first + k - 1;
      }
      return -1;
    }
    for (; k != 0; --k) {
      p -= eb;
      if (features_detail::load_code(p, code) == v) return first + k - 1;
    }
    return -1;
  };
  const std::int64_t j = run(r.p2, r.n2, from + r.n1);
  return j >= 0 ? j : run(r.p1, r.n1, from);
}

// mono_scan() over runs: the min (max) of the field over ring events [from, to), missing
// values skipped; `out` unchanged when there is none.
inline void ring_minmax(const std::byte* ring, std::uint32_t cap, std::uint32_t head,
                        std::uint32_t eb, std::uint32_t from, std::uint32_t to, std::uint32_t off,
                        std::uint8_t code, bool is_min, std::int64_t& out) {
  if (from >= to) return;
  const RingRuns r = ring_runs(ring, cap, head, eb, from, to);
  bool any = false;
  std::int64_t best = 0;
  auto run = [&](const std::byte* p, std::uint32_t k) {
    p += off;
    for (; k != 0; --k, p += eb) {
      const auto x = static_cast<std::int64_t>(features_detail::load_code(p, code));
      if (x == kMissing) continue;
      if (!any || (is_min ? x < best : x > best)) {
        best = x;
        any = true;
      }
    }
  };
  run(r.p1, r.n1);
  run(r.p2, r.n2);
  if (any) out = best;
}
}  // namespace

void FeatureStore::Impl::push_in_order(Group& g, std::uint32_t slot, const std::uint64_t* ev) {
  using features_detail::AccDef;
  using features_detail::load_code;
  const auto t = static_cast<Micros>(ev[0]);
  std::byte* const rec = g.rec(slot);
  RecHead& s = *reinterpret_cast<RecHead*>(rec);
  s.newest = t;
  if (!g.ring) return;
  const std::uint32_t eb = g.lay.bytes;
  ring_reserve_one(g, s, eb);
  // The ring's fields in locals: stores through the record's bytes would otherwise make the
  // compiler reload them at every access.
  std::byte* const ring = s.ring;
  const std::uint32_t cap = s.cap, head = s.head, base = s.base;
  std::byte* const ring_end = ring + std::size_t{cap} * eb;
  auto at = [&](std::uint32_t idx) {
    std::uint32_t pos = head + idx;  // head < cap and idx <= cap: one wrap at most
    if (pos >= cap) pos -= cap;
    return ring + std::size_t{pos} * eb;
  };
  features_detail::store_event(g.lay, ev, at(s.size));
  const std::uint32_t n = s.size + 1;
  s.size = n;
  std::uint64_t charge = eb;
  const std::uint32_t seq_new = base + n - 1;
  std::uint32_t* cur = reinterpret_cast<std::uint32_t*>(rec + sizeof(RecHead));
  const std::size_t n_windows = g.windows.size();
  const Micros* windows = g.windows.data();
  const AccDef* accs_all = g.accs.data();
  const std::uint8_t* win_fields = g.win_fields.data();
  std::uint64_t* win_count = g.win_count.data();
  View* acc_view = g.acc_view.data();

  for (std::size_t w = 0; w < n_windows; ++w) {
    const Micros lo = sat_sub(t, windows[w]);
    std::uint32_t idx = cur[w] - base;
    const std::byte* e = at(idx);
    if (!win_fields[w]) {
      // Count only: the cursor is the whole state. The new event (time t > lo) stops the loop.
      while (features_detail::load_time(e) <= lo) {
        ++idx;
        e += eb;
        if (e == ring_end) e = ring;
      }
      cur[w] = base + idx;
      win_count[w] = n - idx;
      continue;
    }
    const std::uint16_t* accs = g.accs_by_window[w].data();
    const std::size_t n_accs = g.accs_by_window[w].size();
    while (features_detail::load_time(e) <= lo) {
      for (std::size_t k = 0; k < n_accs; ++k) {
        if (accs_all[accs[k]].plain_sum) {
          const AccDef& a = accs_all[accs[k]];
          const auto x = static_cast<std::int64_t>(load_code(e + a.ev_off, a.ev_code));
          if (x != kMissing) *reinterpret_cast<std::int64_t*>(rec + a.off) -= x;
          continue;
        }
        const AccDef a = accs_all[accs[k]];  // a copy: record stores cannot alias it
        const std::uint64_t v = load_code(e + a.ev_off, a.ev_code);
        if (missing(v, a.key_slot)) continue;
        if (a.distinct >= 0) {
          const std::uint64_t dw = ds_word(rec, a);
          if (!ds_small(dw)) {
            DistinctSet* d = ds_ptr(dw);
            if (ds_remove(a, d, v)) charge -= 16;
            ds_put(rec, a, ds_set_word(d));
          } else if ((small_dups(dw) & seq_bit(base + idx)) == 0) {
            // Gone unless a later event of the window (not the new one) has it too.
            ds_put(rec, a, ds_small_word(small_count(dw) - 1, small_dups(dw)));
            charge -= 16;
          }
          continue;
        }
        std::byte* sum = rec + a.off;
        st64(sum, ld64(sum) - static_cast<std::int64_t>(v));
        if (a.has_n) st64(sum + 8, ld64(sum + 8) - 1);
        if (a.sq) {
          const auto x = static_cast<std::int64_t>(v);
          std::byte* sq = sum + (a.has_n ? 16 : 8);
          st128(sq, ld128(sq) - static_cast<i128>(x) * x);
        }
      }
      ++idx;
      e += eb;
      if (e == ring_end) e = ring;
    }
    cur[w] = base + idx;
    win_count[w] = n - idx;
    const std::uint32_t held = n - idx;
    for (std::size_t k = 0; k < n_accs; ++k) {
      const std::uint16_t ai = accs[k];
      View& view = acc_view[ai];
      if (accs_all[ai].plain_sum) {
        const AccDef& a = accs_all[ai];
        const auto x = static_cast<std::int64_t>(ev[1 + a.slot]);
        auto* const sum = reinterpret_cast<std::int64_t*>(rec + a.off);
        if (x != kMissing) *sum += x;
        view.n = held;
        view.sum = *sum;
        continue;
      }
      const AccDef a = accs_all[ai];
      const std::uint64_t v = ev[1 + a.slot];
      if (a.distinct >= 0) {
        std::uint64_t dw = ds_word(rec, a);
        if (ds_small(dw)) {
          std::uint64_t count = small_count(dw);
          // (The bit of seq_new was an event's 32 or more places back, out of the window.)
          std::uint32_t dups = small_dups(dw) & ~seq_bit(seq_new);
          if (v != 0) {
            const std::int64_t last =
                ring_last_key(ring, cap, head, eb, idx, n - 1, a.ev_off, a.ev_code, v);
            if (last < 0) {
              ++count;
              charge += 16;
            } else {
              dups |= seq_bit(base + static_cast<std::uint32_t>(last));
            }
          }
          dw = held > kDistinctScanMax ? ds_build(s, eb, idx, n, a) : ds_small_word(count, dups);
          ds_put(rec, a, dw);
        } else {
          DistinctSet* d = ds_ptr(dw);
          if (v != 0 && ds_add(a, d, v)) charge += 16;
          if (held <= kDistinctScanBack) {
            std::free(d);
            ds_put(rec, a, ds_build(s, eb, idx, n, a));
          } else {
            ds_put(rec, a, ds_set_word(d));
          }
        }
        view.distinct = ds_count(ds_word(rec, a));
        continue;
      }
      std::byte* sum = rec + a.off;
      if (!missing(v, false)) {
        const auto x = static_cast<std::int64_t>(v);
        st64(sum, ld64(sum) + x);
        if (a.has_n) st64(sum + 8, ld64(sum + 8) + 1);
        if (a.sq) {
          std::byte* sq = sum + (a.has_n ? 16 : 8);
          st128(sq, ld128(sq) + static_cast<i128>(x) * x);
        }
        if (a.min_q >= 0 && acc_q(rec, a.min_off).buf != nullptr) {
          MonoQ& q = acc_q(rec, a.min_off);
          while (!q.empty() && static_cast<std::int64_t>(
                                   load_code(at(q.back() - base) + a.ev_off, a.ev_code)) >= x) {
            q.pop_back();
          }
          q.push_back(seq_new);
        }
        if (a.max_q >= 0 && acc_q(rec, a.max_off).buf != nullptr) {
          MonoQ& q = acc_q(rec, a.max_off);
          while (!q.empty() && static_cast<std::int64_t>(
                                   load_code(at(q.back() - base) + a.ev_off, a.ev_code)) <= x) {
            q.pop_back();
          }
          q.push_back(seq_new);
        }
      }
      view.n = a.has_n ? static_cast<std::uint64_t>(ld64(sum + 8)) : held;
      view.sum = ld64(sum);
      if (a.sq) view.sq = ld128(sum + (a.has_n ? 16 : 8));
      if (a.min_q >= 0 || a.max_q >= 0) {
        for (const bool is_min : {true, false}) {
          if ((is_min ? a.min_q : a.max_q) < 0) continue;
          MonoQ& q = acc_q(rec, is_min ? a.min_off : a.max_off);
          std::int64_t& out = is_min ? view.mn : view.mx;
          if (q.buf == nullptr) {
            // A small window: its min / max by a scan of the lines the row touches anyway.
            ring_minmax(ring, cap, head, eb, idx, n, a.ev_off, a.ev_code, is_min, out);
            if (held > kMonoScanMax) mono_build(s, eb, idx, n, a, is_min, q);
            continue;
          }
          while (!q.empty() && q.front() - base < idx) q.pop_front();
          if (!q.empty()) {
            out = static_cast<std::int64_t>(load_code(at(q.front() - base) + a.ev_off, a.ev_code));
          }
          if (held <= kMonoScanBack) q.release();
        }
      }
    }
  }
  charged += charge;
  // evict_front(), with the ring in locals: most events drop nothing (one time compare).
  const Micros horizon = sat_sub(t, g.retention);
  std::uint32_t drop = 0;
  if (g.is_card) {
    // Keep the newest event at or before the horizon: it is the "previous transaction" of
    // any late transaction that can still arrive.
    while (n - drop >= 2 && features_detail::load_time(at(drop + 1)) <= horizon) ++drop;
  } else {
    while (drop < n && features_detail::load_time(at(drop)) <= horizon) ++drop;
  }
  if (drop == 0) return;
  features_detail::ring_pop_front(s, drop);
  s.base += drop;
  charged -= std::uint64_t{drop} * eb;
  // Give memory back once a burst has left the window (hysteresis: shrink at half full to
  // 80% full).
  if (ring_too_big(s.size, s.cap)) {
    ring_realloc(g, s, eb, ring_shrunk(s.size));
  } else if (s.size * 2 <= g.inl_cap && !g.ring_inline(s)) {
    ring_to_inline(g, s, eb);  // a burst has left: back into the record
  }
}

void FeatureStore::Impl::rebuild_mono(Group& g, std::uint32_t slot) {
  std::byte* rec = g.rec(slot);
  const RecHead& s = g.head(slot);
  const std::uint32_t* cur = g.cursors(slot);
  const std::uint32_t n = s.size;
  for (const auto& a : g.accs) {
    for (const std::int32_t qi : {a.min_q, a.max_q}) {
      if (qi < 0) continue;
      const bool is_min = qi == a.min_q;
      MonoQ& q = acc_q(rec, is_min ? a.min_off : a.max_off);
      // A window without a queue (small) reads its min / max by scanning: nothing to rebuild.
      if (q.buf != nullptr) mono_build(s, g.lay.bytes, cur[a.window] - s.base, n, a, is_min, q);
    }
  }
}

namespace {
// Adds one event value to a sum accumulator (restore, late insertion).
inline void acc_add(std::byte* rec, const features_detail::AccDef& a, std::uint64_t v) {
  const auto x = static_cast<std::int64_t>(v);
  st64(acc_sum(rec, a), ld64(acc_sum(rec, a)) + x);
  if (a.has_n) st64(acc_n(rec, a), ld64(acc_n(rec, a)) + 1);
  if (a.sq) st128(acc_sq(rec, a), ld128(acc_sq(rec, a)) + static_cast<i128>(x) * x);
}
}  // namespace

// Recomputes cursors, sums, distinct sets and queues of a key from its ring (restore).
std::uint64_t FeatureStore::Impl::rebuild_sums(Group& g, std::uint32_t slot) {
  std::byte* rec = g.rec(slot);
  const RecHead& s = g.head(slot);
  std::uint32_t* cur = g.cursors(slot);
  const std::uint32_t n = s.size;
  std::uint64_t distinct_charge = 0;
  for (std::size_t w = 0; w < g.windows.size(); ++w) {
    const std::uint32_t idx = g.window_start(s, w);
    cur[w] = s.base + idx;
    for (const std::uint16_t ai : g.accs_by_window[w]) {
      const auto& a = g.accs[ai];
      if (a.distinct >= 0) {
        const std::uint64_t dw = ds_build(s, g.lay.bytes, idx, n, a);
        ds_put(rec, a, dw);
        distinct_charge += ds_count(dw) * 16;
        continue;
      }
      for (std::uint32_t k = idx; k < n; ++k) {
        const std::uint64_t v = g.ev_word(s, k, a.slot);
        if (missing(v, a.key_slot)) continue;
        acc_add(rec, a, v);
      }
    }
  }
  rebuild_mono(g, slot);
  return distinct_charge;
}

std::uint32_t FeatureStore::Impl::insert_late(Group& g, std::uint32_t slot,
                                              const std::uint64_t* ev) {
  const auto t = static_cast<Micros>(ev[0]);
  if (!g.ring) return 0;
  std::byte* rec = g.rec(slot);
  RecHead& s = g.head(slot);
  const std::uint32_t n = s.size;
  // First event later than t: equal times keep arrival order.
  std::uint32_t lo_i = 0, hi_i = n;
  while (lo_i < hi_i) {
    const std::uint32_t mid = lo_i + (hi_i - lo_i) / 2;
    if (g.ev_time(s, mid) <= t) {
      lo_i = mid + 1;
    } else {
      hi_i = mid;
    }
  }
  const std::uint32_t p = lo_i;
  ring_reserve_one(g, s, g.lay.bytes);
  ++s.size;
  for (std::uint32_t i = n; i > p; --i) std::memcpy(g.ev_at(s, i), g.ev_at(s, i - 1), g.lay.bytes);
  features_detail::store_event(g.lay, ev, g.ev_at(s, p));
  charged += g.lay.bytes;
  std::uint32_t* cur = g.cursors(slot);
  for (std::size_t w = 0; w < g.windows.size(); ++w) {
    if (t <= sat_sub(s.newest, g.windows[w])) {
      cur[w] += 1;  // inserted before the window: the cursor's event moved up one place
      continue;
    }
    for (const std::uint16_t ai : g.accs_by_window[w]) {
      const auto& a = g.accs[ai];
      const std::uint64_t v = ev[1 + a.slot];
      if (missing(v, a.key_slot)) continue;
      if (a.distinct < 0) {
        acc_add(rec, a, v);
        continue;
      }
      // A set takes the value; a count is rebuilt below.
      if (const std::uint64_t w = ds_word(rec, a); !ds_small(w)) {
        DistinctSet* d = ds_ptr(w);
        if (ds_add(a, d, v)) charged += 16;
        ds_put(rec, a, ds_set_word(d));
      }
    }
  }
  if (g.n_mono > 0) rebuild_mono(g, slot);
  // Counted distincts are rebuilt from their window, which now holds the event: the count (a
  // new value charges 16 bytes), and the duplicate mask, since the events after p moved up one
  // place. A window that outgrew counting becomes a set here (a count's window holds at most
  // kDistinctScanMax events between rows, which its mask relies on).
  for (const std::uint16_t ai : g.scan_accs) {
    const auto& a = g.accs[ai];
    if (a.distinct < 0) continue;
    const std::uint64_t before = ds_word(rec, a);
    if (!ds_small(before)) continue;
    const std::uint64_t after = ds_build(s, g.lay.bytes, cur[a.window] - s.base, s.size, a);
    charged += (ds_count(after) - small_count(before)) * 16;
    ds_put(rec, a, after);
  }
  for (std::size_t w = 0; w < g.windows.size(); ++w) scan_view(g, slot, p, t, w);
  return p;
}

// The window (t - W, t] ending at ring index p, by scanning (late events only).
void FeatureStore::Impl::scan_view(Group& g, std::uint32_t slot, std::uint32_t p, Micros t,
                                   std::size_t w) {
  const RecHead& s = g.head(slot);
  const Micros lo = sat_sub(t, g.windows[w]);
  for (const std::uint16_t ai : g.accs_by_window[w]) {
    auto& v = g.acc_view[ai];
    v = View{};
    v.mn = std::numeric_limits<std::int64_t>::max();
    v.mx = std::numeric_limits<std::int64_t>::min();
  }
  std::uint32_t first = p + 1;
  while (first > 0 && g.ev_time(s, first - 1) > lo) --first;
  g.win_count[w] = p + 1 - first;
  for (const std::uint16_t ai : g.accs_by_window[w]) {
    const auto& a = g.accs[ai];
    auto& view = g.acc_view[ai];
    const bool key_slot = g.slots[a.slot].kind == SlotKind::kKey;
    distinct_scratch.clear();
    for (std::uint32_t k = first; k <= p; ++k) {
      const std::uint64_t v = g.ev_word(s, k, a.slot);
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

namespace {

// A bucketed window's add and read, over its buckets of type B (Bucket, or CountBucket for a
// count-only def: the fields past n exist only in a Bucket).
template <class B>
bool bucket_add_in(BucketDef& d, std::byte* blk, Micros t, std::int64_t v) {
  constexpr bool kFull = std::is_same_v<B, Bucket>;
  B* const bk = features_detail::bucket_ring<B>(blk, d);
  Bucket& tot = features_detail::bucket_total(blk, d);
  std::int64_t at;
  const std::int64_t b = d.locate(t, at);
  const auto cnt = static_cast<std::int64_t>(d.count);
  auto take_out = [&](B& x) {
    tot.n -= x.n;
    if constexpr (kFull) {
      tot.nv -= x.nv;
      tot.sum -= x.sum;
      tot.sq -= x.sq;
    }
  };
  // A bucket counts in `tot` only while its id is in (tot.id - cnt, tot.id]; buckets with older
  // ids are stale and ignored wherever they are read, so a key that was idle for a whole
  // window resets its totals without touching the ring (no per-bucket writes for idle keys).
  auto live = [&](const B& x) { return x.id != kNever && x.id > tot.id - cnt && x.id <= tot.id; };
  const bool occ = d.count <= features_detail::kOccBuckets;
  if (tot.id == kNever || b > tot.id) {
    if (tot.id == kNever || b - tot.id >= cnt) {
      const std::int64_t occupancy = tot.mn;  // the buckets keep their (stale) events
      tot = Bucket{};
      tot.mn = occupancy;
    } else if (occ) {
      // Buckets tot.id + 1 .. b are recycled in place; only those holding events need it (an
      // empty one adds nothing to any view, whatever its id).
      const auto first = static_cast<std::uint32_t>(floor_mod(tot.id + 1, cnt));
      const std::uint64_t run =
          features_detail::occ_run(first, static_cast<std::uint32_t>(b - tot.id), d.count);
      for (std::uint64_t hit = features_detail::occ_of(tot) & run; hit != 0; hit &= hit - 1) {
        const auto p = static_cast<std::uint32_t>(std::countr_zero(hit));
        B& x = bk[p];
        if (live(x)) take_out(x);
        x = B{};
        x.id = tot.id + 1 + (p >= first ? p - first : p + d.count - first);
      }
      features_detail::set_occ(tot, features_detail::occ_of(tot) & ~run);
    } else {
      // Buckets tot.id + 1 .. b, recycled in place: one division for the first, then a wrap.
      std::int64_t pos = floor_mod(tot.id + 1, cnt);
      for (std::int64_t id = tot.id + 1; id <= b; ++id) {
        B& x = bk[pos];
        if (live(x)) take_out(x);
        x = B{};
        x.id = id;
        if (++pos == cnt) pos = 0;
      }
    }
    tot.id = b;
  }
  if (b <= tot.id - cnt) return false;  // its bucket has left every window
  B& x = bk[at];
  if (x.id != b) {
    if (live(x)) take_out(x);
    x = B{};
    x.id = b;
  }
  ++x.n;
  ++tot.n;
  if (occ) features_detail::set_occ(tot, features_detail::occ_of(tot) | std::uint64_t{1} << at);
  if constexpr (kFull) {
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
  }
  return true;
}

template <class B>
void bucket_view_in(BucketDef& d, const std::byte* blk, Micros t, bool current,
                    features_detail::View& v) {
  constexpr bool kFull = std::is_same_v<B, Bucket>;
  const B* const bk = features_detail::bucket_ring<B>(blk, d);
  const Bucket& tot = features_detail::bucket_total(blk, d);
  v = features_detail::View{};
  v.mn = std::numeric_limits<std::int64_t>::max();
  v.mx = std::numeric_limits<std::int64_t>::min();
  std::int64_t at;
  const std::int64_t b = d.locate(t, at);
  const auto cnt = static_cast<std::int64_t>(d.count);
  if (current) {
    v.count = tot.n;
    v.n = tot.nv;
    v.sum = tot.sum;
    v.sq = tot.sq;
    if (d.slot < 0) return;  // count only: the running total is the whole answer
  }
  // min / max (and, for a late event, everything) from the buckets in (b - cnt, b].
  for (std::int64_t k = 0; k < cnt; ++k) {
    const B& x = bk[k];
    if (x.id == kNever || x.id > b || x.id <= b - cnt) continue;
    if (!current) v.count += x.n;
    if constexpr (kFull) {
      if (!current) {
        v.n += x.nv;
        v.sum += x.sum;
        v.sq += x.sq;
      }
      v.mn = std::min(v.mn, x.mn);
      v.mx = std::max(v.mx, x.mx);
    }
  }
}

}  // namespace

bool FeatureStore::Impl::bucket_add(Group& g, std::uint32_t slot, std::size_t j, Micros t,
                                    std::int64_t v) {
  BucketDef& d = g.buckets[j];
  std::byte* const blk = g.bucket_data[slot].get();
  return d.compact ? bucket_add_in<features_detail::CountBucket>(d, blk, t, v)
                   : bucket_add_in<Bucket>(d, blk, t, v);
}

void FeatureStore::Impl::bucket_view(Group& g, std::uint32_t slot, std::size_t j, Micros t,
                                     bool current) {
  BucketDef& d = g.buckets[j];
  const std::byte* const blk = g.bucket_data[slot].get();
  if (d.compact) {
    bucket_view_in<features_detail::CountBucket>(d, blk, t, current, g.bucket_view[j]);
  } else {
    bucket_view_in<Bucket>(d, blk, t, current, g.bucket_view[j]);
  }
}

// ---------------------------------------------------------------------------------------------
// Status-change windows: events are rare per key, so the ring holds times only and a read
// is two binary searches, at any transaction time.
// ---------------------------------------------------------------------------------------------

namespace {
// First ring index whose time is > t.
std::uint32_t upper_index(const features_detail::Group& g, const RecHead& s, Micros t) {
  std::uint32_t lo = 0, hi = s.size;
  while (lo < hi) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    if (g.ev_time(s, mid) <= t) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}
}  // namespace

void FeatureStore::Impl::add_status(Group& g, std::uint64_t key, Micros t) {
  const std::uint64_t h = features_detail::key_hash(key);
  const std::int64_t found = g.find(key, h);
  std::uint32_t slot;
  if (found < 0) {
    slot = new_key(g, key, h);
  } else {
    slot = static_cast<std::uint32_t>(found);
    if (g.head(slot).newest < sat_sub(watermark, ttl)) {
      clear_key(g, slot);
      ++counters.evicted_keys;
    }
  }
  RecHead& s = g.head(slot);
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
  const std::uint32_t p = upper_index(g, s, t);
  ring_reserve_one(g, s, g.lay.bytes);
  ++s.size;
  for (std::uint32_t i = s.size - 1; i > p; --i) {
    std::memcpy(g.ev_at(s, i), g.ev_at(s, i - 1), g.lay.bytes);
  }
  std::memcpy(g.ev_at(s, p), &t, 8);
  charged += 8;
  s.newest = std::max(s.newest, t);
  // Reads come from transactions up to `lateness` behind the stream: keep W + lateness.
  const Micros horizon = sat_sub(std::max(watermark, s.newest), g.retention);
  std::uint32_t drop = 0;
  while (drop < s.size && g.ev_time(s, drop) <= horizon) ++drop;
  if (drop) {
    features_detail::ring_pop_front(s, drop);
    charged -= drop * 8ull;
  }
}

std::uint64_t FeatureStore::Impl::status_count(const Group& g, std::uint64_t key, Micros t,
                                               Micros w) const {
  const std::int64_t found = g.find(key, features_detail::key_hash(key));
  if (found < 0) return 0;
  const RecHead& s = g.head(static_cast<std::uint32_t>(found));
  if (s.newest < sat_sub(watermark, ttl)) return 0;
  // Not below the sweep's horizon: events there may still be held, awaiting the sweep.
  const Micros hi = std::max(t, status_floor(g));
  return upper_index(g, s, hi) - upper_index(g, s, std::max(sat_sub(t, w), status_floor(g)));
}

void FeatureStore::Impl::index_push(const std::uint64_t* entry) {
  if (index_limit == 0) return;
  if (index.push(entry)) charged -= index_stride * 8ull + 16;
  charged += index_stride * 8ull + 16;
}

void FeatureStore::Impl::on_status(const StatusChange& change) {
  advance(change.time);
  if (sweep_before != kNever) sweep_step(kSweepSlots);
  const std::uint64_t* const entry = index.find(trans_hash(change.trans_num.view()));
  if (entry == nullptr) {
    ++counters.status_unknown;
    return;
  }
  ++counters.status_applied;
  for (std::size_t gi = n_txn_groups; gi < groups.size(); ++gi) {
    Group& g = groups[gi];
    if (g.status != change.status) continue;
    const std::size_t f = static_cast<std::size_t>(
        std::find(index_fields.begin(), index_fields.end(), g.key) - index_fields.begin());
    add_status(g, entry[1 + f], change.time);
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
    if (sweep_before != kNever) sweep_step(~0u);  // the previous one first (tiny TTLs only)
    sweep_before = sat_sub(watermark, ttl);
    sweep_mark = watermark;
    sweep_group = 0;
    sweep_slot = 0;
    sweep_cold = false;
    next_sweep = sat_sub(watermark, -sweep_every);
  }
}

void FeatureStore::Impl::sweep_step(std::uint32_t slots) {
  while (sweep_group < groups.size()) {
    Group& g = groups[sweep_group];
    const Micros horizon = sat_sub(sweep_mark, g.retention);
    // Keys idle cold_after (3 days by default), or longer than all their windows, go cold
    // (Group::cold): a card that transacts every few days keeps its events and 40 bytes in
    // between, and pays one rebuild of its record when it transacts again.
    const Micros cold_before =
        cold_after == 0 ? kNever : sat_sub(sweep_mark, std::min(g.retention, cold_after));
    // Hot slots, then (sweep_cold) the cold keys, demotions included.
    for (; !sweep_cold && sweep_slot < g.n_slots; ++sweep_slot) {
      if (slots-- == 0) return;
      if (!g.pages[sweep_slot >> Group::kPageShift]) {  // a released page: no key
        sweep_slot |= Group::kPageSlots - 1;
        continue;
      }
      RecHead& s = g.head(sweep_slot);
      if (s.newest == kNever) continue;  // a free slot
      if (s.newest < sweep_before) {
        erase_key(g, sweep_slot);
      } else if (g.coldable) {
        if (s.newest < cold_before) demote(g, sweep_slot);
      } else if (g.status != kNoStr) {
        std::uint32_t drop = 0;
        while (drop < s.size && g.ev_time(s, drop) <= horizon) ++drop;
        if (drop) {
          features_detail::ring_pop_front(s, drop);
          charged -= drop * 8ull;
        }
      }
    }
    if (!sweep_cold) {
      sweep_cold = true;
      sweep_slot = 0;
    }
    for (; sweep_slot < g.cold.size(); ++sweep_slot) {
      if (slots-- == 0) return;
      const Micros newest = g.cold[sweep_slot].newest;  // kNever: a free index
      if (newest != kNever && newest < sweep_before) erase_key(g, Group::kCold | sweep_slot);
    }
    sweep_cold = false;
    ++sweep_group;
    sweep_slot = 0;
  }
  sweep_before = kNever;
}

// Over budget: forget the keys idle longest (ties by group, then key: deterministic) until
// 10% under, so the O(keys log keys) pass runs rarely.
void FeatureStore::Impl::enforce_budget() {
  if (budget == 0 || charged <= budget) return;
  if (sweep_before != kNever) {
    sweep_step(~0u);  // the logical state has no swept keys: charge as if they were gone
    if (charged <= budget) return;
  }
  std::vector<std::tuple<Micros, std::uint32_t, std::uint64_t, std::uint32_t>> all;
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& g = groups[gi];
    g.for_each([&](std::uint32_t slot) {
      all.emplace_back(g.head(slot).newest, static_cast<std::uint32_t>(gi), g.head(slot).key, slot);
    });
  }
  std::sort(all.begin(), all.end());
  const std::uint64_t target = budget - budget / 10;
  for (const auto& [newest, gi, key, slot] : all) {
    if (charged <= target) break;
    erase_key(groups[gi], slot);
  }
}

// ---------------------------------------------------------------------------------------------
// Prefetch (hints only: a wrong guess costs a wasted prefetch, never a wrong result)
// ---------------------------------------------------------------------------------------------

void FeatureStore::Impl::prefetch_table(std::size_t gi, std::uint64_t h) const {
  const Group& g = groups[gi];
  if (!g.table.empty()) detail::prefetch(g.table.data() + (h & g.mask));
}

std::uint32_t FeatureStore::Impl::prefetch_rec(std::size_t gi, std::uint64_t h) const {
  const Group& g = groups[gi];
  if (g.table.empty()) return ~0u;
  const std::uint64_t tag = h >> 32;
  for (std::uint64_t i = h & g.mask;; i = (i + 1) & g.mask) {
    const std::uint64_t e = g.table[i];
    if (e == 0) return ~0u;
    if ((e >> 32) == tag) {
      const auto slot = static_cast<std::uint32_t>(e) - 1;
      if (Group::is_cold(slot)) return slot;  // (promoted when its row comes)
      const std::byte* r = g.rec(slot);
      detail::prefetch<true>(r);
      detail::prefetch<true>(r + g.rec_bytes - 1);
      return slot;
    }
  }
}

namespace {
/// prefetch_ring(): a ring whose longest window spans at most this many bytes is fetched whole.
constexpr std::size_t kShortRingBytes = 768;
}  // namespace

void FeatureStore::Impl::prefetch_set(std::size_t gi, std::uint64_t dw,
                                      const features_detail::AccDef& a, std::size_t row) const {
  const DistinctSet* d = ds_ptr(dw);
  detail::prefetch(d);
  // The entry the row's value probes first (its word gathered with the batch).
  const std::uint64_t v = batch_ev(gi, row)[1 + a.slot];
  const std::uint32_t i = ds_home(v, ds_cap(dw) - 1);
  detail::prefetch<true>(reinterpret_cast<const std::byte*>(d + 1) + i * (a.narrow ? 8 : 16));
}

void FeatureStore::Impl::prefetch_ring(std::size_t gi, std::uint32_t slot, std::size_t row) const {
  const Group& g = groups[gi];
  // (The hint may be stale: its key gone cold or left, its page given back.)
  if (slot >= g.n_slots) return;
  const std::uint64_t* const page = g.pages[slot >> Group::kPageShift].get();
  if (page == nullptr) return;
  const std::byte* const rec = reinterpret_cast<const std::byte*>(page) +
                               std::size_t{slot & (Group::kPageSlots - 1)} * g.rec_bytes;
  const RecHead& h = *reinterpret_cast<const RecHead*>(rec);
  const std::byte* const ring = h.ring;
  // (An inline ring is in the record's lines, which prefetch_rec() asked for.)
  if (ring == nullptr || (g.inl_off != 0 && ring == rec + g.inl_off)) return;
  const std::uint32_t eb = g.lay.bytes, head = h.head, size = h.size, cap = h.cap, base = h.base;
  const auto* cur = reinterpret_cast<const std::uint32_t*>(rec + sizeof(RecHead));
  const auto line = [](const std::byte* p) { return reinterpret_cast<std::uintptr_t>(p) >> 6; };
  auto lines = [&](const std::byte* from, const std::byte* to) {
    for (std::uintptr_t l = line(from); l <= line(to); ++l) {
      detail::prefetch(reinterpret_cast<const void*>(l << 6));
    }
  };
  // Every line of ring events `from` to `to` (indexes, both included; one wrap at most).
  auto events = [&](std::uint32_t from, std::uint32_t to) {
    std::uint32_t p0 = head + from, p1 = head + to;
    if (p0 >= cap) p0 -= cap;
    if (p1 >= cap) p1 -= cap;
    if (p1 >= p0) {
      lines(ring + std::size_t{p0} * eb, ring + std::size_t{p1} * eb + eb - 1);
    } else {
      lines(ring + std::size_t{p0} * eb, ring + std::size_t{cap} * eb - 1);
      lines(ring, ring + std::size_t{p1} * eb + eb - 1);
    }
  };
  // Short rings (a card's week, a merchant's hour): the longest window's first event to the
  // place of the new one is a few lines, and holds every line the row reads (the cursors'
  // events, the scanned windows, the previous event) but large distinct sets and min / max
  // queues. Positions p0 (first) and p1 (the new event's), the lines between, one wrap at most.
  const std::uint32_t first =
      g.windows.empty() ? size : std::min(size, cur[g.windows.size() - 1] - base);
  if (std::size_t{size - first} * eb <= kShortRingBytes) {
    events(first, size);
    for (const std::uint16_t ai : g.scan_accs) {
      const auto& a = g.accs[ai];
      if (a.distinct >= 0) {
        const std::uint64_t dw = ds_word(rec, a);
        if (!ds_small(dw)) prefetch_set(gi, dw, a, row);
      }
      if (a.min_q >= 0) {
        const MonoQ& q = *reinterpret_cast<const MonoQ*>(rec + a.min_off);
        if (q.buf != nullptr) detail::prefetch(q.buf);
      }
      if (a.max_q >= 0) {
        const MonoQ& q = *reinterpret_cast<const MonoQ*>(rec + a.max_off);
        if (q.buf != nullptr) detail::prefetch(q.buf);
      }
    }
    return;
  }
  auto at = [&](std::uint32_t idx) {
    std::uint32_t pos = head + idx;
    if (pos >= cap) pos -= cap;
    return ring + std::size_t{pos} * eb;
  };
  const std::byte* const slot_new = at(size);
  detail::prefetch<true>(slot_new);  // where the new event goes
  // A window read by scanning (small distinct / min / max) needs all its lines: from the
  // oldest such window's first event to the back, contiguous but for one wrap.
  std::uint32_t scan_from = size;
  for (const std::uint16_t ai : g.scan_accs) {
    const auto& a = g.accs[ai];
    const std::uint32_t idx = cur[a.window] - base;
    if (a.distinct >= 0) {
      const std::uint64_t dw = ds_word(rec, a);
      if (!ds_small(dw)) {
        prefetch_set(gi, dw, a, row);
      } else {
        scan_from = std::min(scan_from, idx);
      }
    }
    auto queue = [&](std::uint32_t off) {
      const MonoQ& q = *reinterpret_cast<const MonoQ*>(rec + off);
      if (q.buf == nullptr) {
        scan_from = std::min(scan_from, idx);
      } else if (q.size > 0) {
        detail::prefetch(q.buf);
      }
    };
    if (a.min_q >= 0) queue(a.min_off);
    if (a.max_q >= 0) queue(a.max_off);
  }
  // Each other window's oldest event (the cursor's): its time line, and its last byte when
  // an accumulator reads its fields.
  for (std::size_t w = 0; w < g.windows.size(); ++w) {
    const std::uint32_t idx = cur[w] - base;
    if (idx >= scan_from) continue;
    const std::byte* e = at(idx);
    detail::prefetch(e);
    if (g.win_fields[w] && line(e + eb - 1) != line(e)) detail::prefetch(e + eb - 1);
  }
  if (scan_from + 1 >= size) {
    // The card's previous event (its "since previous" built-ins), unless it shares the new
    // event's line. Every prefetch takes a fill buffer while in flight: at 100k cards they are
    // the limit, so no line is asked for twice.
    const std::byte* prev = at(size - 1);
    if (g.is_card && line(prev) != line(slot_new)) detail::prefetch(prev);
    return;
  }
  events(scan_from, size - 1);  // (scan_from + 1 < size here)
}

void FeatureStore::Impl::prefetch_index(std::size_t row, std::size_t ahead) const {
  index.prefetch(trans_hashes[row]);
  // When full, each row evicts the ring's front entry: the row `ahead` of the current one
  // evicts about the ahead-th.
  index.prefetch_evict(ahead);
}

void FeatureStore::Impl::prefetch_buckets(std::size_t gi, std::uint32_t slot, Micros t) const {
  const Group& g = groups[gi];
  if (g.buckets.empty() || slot >= g.n_slots || !g.pages[slot >> Group::kPageShift]) return;
  const std::byte* const blk = g.bucket_data[slot].get();
  if (blk == nullptr) return;
  for (const auto& d : g.buckets) {
    detail::prefetch<true>(blk + d.at);  // the running total and occupancy
    // The bucket of t: from the def's memo of the last row's bucket, without a division, while
    // t is in that bucket or the next (rows come nearly in time order).
    const std::uint64_t since = static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(d.lo);
    std::int64_t pos;
    if (d.memo && t >= d.lo && since < 2 * static_cast<std::uint64_t>(d.width)) {
      pos = d.pos + (since >= static_cast<std::uint64_t>(d.width) ? 1 : 0);
      if (pos == static_cast<std::int64_t>(d.count)) pos = 0;
    } else {
      pos = floor_mod(floor_div(t, d.width), static_cast<std::int64_t>(d.count));
    }
    const std::size_t each = d.compact ? sizeof(features_detail::CountBucket) : sizeof(Bucket);
    detail::prefetch<true>(blk + d.at + sizeof(Bucket) + static_cast<std::size_t>(pos) * each);
  }
}

// ---------------------------------------------------------------------------------------------
// One transaction
// ---------------------------------------------------------------------------------------------

double FeatureStore::Impl::home_cos(double lat) noexcept {
  const auto bits = std::bit_cast<std::uint64_t>(lat);
  CosMemo& m = cos_memo[(bits * 0x9e3779b97f4a7c15ull) >> 53];  // 2^11 = kCosMemo entries
  if (m.bits != bits) {
    m.bits = bits;
    m.cos = haversine_cos_lat(lat);
  }
  return m.cos;
}

// Whole years from dob to the day of t (birthday rule): the memo_day date (set by the caller)
// against the dob's date, both as (year, month * 32 + day).
double FeatureStore::Impl::age_years(std::int32_t dob) noexcept {
  if (dob == kNoDate) return kNaN;
  DobMemo& m = dob_memo[static_cast<std::uint32_t>(dob) & (kDobMemo - 1)];
  if (m.dob != dob) {
    const CivilDate born = civil_from_days(dob);
    m.dob = dob;
    m.year = born.year;
    m.md = born.month * 32 + born.day;
  }
  return memo_year - m.year - (memo_md < m.md ? 1 : 0);
}

template <class Row>
bool FeatureStore::Impl::process_row(const Row& r, std::size_t row, bool batched) {
  const std::size_t ng = n_txn_groups;
  const std::uint64_t* const hs = batched ? hashes.data() + row * ng : nullptr;
  const std::uint64_t* const ks = batched ? keys.data() + row * ng : nullptr;
  const Micros t = r.time();
  advance(t);
  if (sweep_before != kNever) sweep_step(kSweepSlots);
  auto put = [&](std::size_t col, double v) { cols[col][row] = v; };
  put(0, static_cast<double>(r.amt_cents()) / 100.0);
  // hour_of / weekday_of / the calendar date, with one division by the day (date per day).
  const std::int64_t day = floor_div(t, kMicrosPerDay);
  if (day != memo_day) {
    const CivilDate now = civil_from_days(day);
    memo_day = day;
    memo_weekday = weekday_of(t);
    memo_year = now.year;
    memo_md = now.month * 32 + now.day;
  }
  put(1, static_cast<double>((t - day * kMicrosPerDay) / kMicrosPerHour));
  put(2, memo_weekday);
  put(3, age_years(r.dob()));
  put(4, r.city_pop() == 0 ? kNaN : static_cast<double>(r.city_pop()));
  // cos(merchant latitude) serves both distances; the home's comes from the memo.
  const double mlat = r.merch_lat(), mlon = r.merch_lon();
  const double cos_mlat = haversine_cos_lat(mlat);
  put(5, haversine_km_cos(r.lat(), r.lon(), home_cos(r.lat()), mlat, mlon, cos_mlat));

  // Classify against every key first: a transaction too late for any of its keys is, under
  // kDeadLetter, added to none (all or nothing keeps the windows mutually consistent).
  const Micros expired_before = sat_sub(watermark, ttl);
  bool dead = false, as_arrival = false;
  for (std::size_t gi = 0; gi < ng; ++gi) {
    Group& g = groups[gi];
    const std::uint64_t key = batched ? ks[gi] : r.key(g.key);
    const std::uint64_t h = batched ? hs[gi] : features_detail::key_hash(key);
    const std::int64_t found = g.find(key, h);
    if (found < 0) {
      cls[gi] = kFresh;
      continue;
    }
    auto fslot = static_cast<std::uint32_t>(found);
    if (Group::is_cold(fslot)) [[unlikely]]
      fslot = promote(g, fslot, h);
    slot_of[gi] = fslot;
    const Micros newest = g.head(fslot).newest;
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

  for (std::size_t gi = 0; gi < ng; ++gi) {
    Group& g = groups[gi];
    std::uint32_t slot = slot_of[gi];
    if (cls[gi] == kFresh) {
      const std::uint64_t key = batched ? ks[gi] : r.key(g.key);
      slot = new_key(g, key, batched ? hs[gi] : features_detail::key_hash(key));
      slot_of[gi] = slot;
    } else if (cls[gi] == kExpired) {
      clear_key(g, slot);
      ++counters.evicted_keys;
    }
    Micros te = t;
    if (cls[gi] == kTooLate) te = g.head(slot).newest;  // kAcceptAsArrival
    // The event's words: gathered with the batch, or built from the single transaction.
    std::uint64_t* ev;
    if (batched) {
      ev = batch_ev(gi, row);
      if (!batch_fits[gi] && !g.fits(ev)) [[unlikely]]
        ensure_fits(g, ev);
    } else {
      ev = g.ev.data();
      const SlotDef* const slots = g.slots.data();
      const std::size_t n_slots = g.slots.size();
      for (std::size_t k = 0; k < n_slots; ++k) ev[1 + k] = slot_value(r, slots[k]);
      if (!g.fits(ev)) [[unlikely]]
        ensure_fits(g, ev);
    }
    ev[0] = static_cast<std::uint64_t>(te);

    const bool in_order = cls[gi] != kLate;
    const std::uint32_t n_before = g.head(slot).size;
    // The card's previous transaction in event-time order: the event just before this one
    // (the card ring always keeps it, see push_in_order()).
    bool has_prev = false;
    Micros pt = 0;
    double plat = 0, plon = 0;
    auto read_prev = [&](std::uint32_t idx) {
      const features_detail::RecHead& cs = g.head(slot);
      has_prev = true;
      pt = g.ev_time(cs, idx);
      plat = bits_double(g.ev_word(cs, idx, static_cast<std::size_t>(g.mlat_slot)));
      plon = bits_double(g.ev_word(cs, idx, static_cast<std::size_t>(g.mlon_slot)));
    };
    if (in_order) {
      if (g.is_card && n_before > 0) read_prev(n_before - 1);
      push_in_order(g, slot, ev);
    } else {
      late = true;
      const std::uint32_t p = insert_late(g, slot, ev);
      if (g.is_card && p > 0) read_prev(p - 1);
    }
    if (g.is_card) {
      double secs = kNaN, km = kNaN, kmh = kNaN;
      if (has_prev) {
        secs = static_cast<double>(te - pt) / static_cast<double>(kMicrosPerSecond);
        km = haversine_km_cos(plat, plon, haversine_cos_lat(plat), mlat, mlon, cos_mlat);
        kmh = km / (std::max(secs, 1.0) / 3600.0);
      }
      put(6, secs);
      put(7, km);
      put(8, kmh);
    }
    for (std::size_t j = 0; j < g.buckets.size(); ++j) {
      const std::int64_t v =
          g.buckets[j].slot >= 0 ? static_cast<std::int64_t>(ev[1 + g.buckets[j].slot]) : 0;
      const bool current = bucket_add(g, slot, j, te, v) && in_order;
      bucket_view(g, slot, j, te, current);
    }
  }
  if (late) ++counters.late_in_order;

  // The declared features (see OutPlan), each group of outputs in a loop of its own.
  double* const* const all_cols = cols.data();
  for (const auto& c : plan.counts) all_cols[c.col][row] = static_cast<double>(*c.count);
  for (const auto& o : plan.sums) all_cols[o.col][row] = view_sum(*o.view, o.denom);
  for (const auto& o : plan.avgs) all_cols[o.col][row] = view_avg(*o.view, o.denom);
  for (const auto& o : plan.mins) all_cols[o.col][row] = view_min(*o.view, o.denom);
  for (const auto& o : plan.maxs) all_cols[o.col][row] = view_max(*o.view, o.denom);
  for (const auto& o : plan.distincts) all_cols[o.col][row] = static_cast<double>(o.view->distinct);
  double* const* const out_cols = cols.data() + kBuiltinFeatureCount;
  for (const std::uint32_t j : plan.general) {
    const OutDef& o = outs[j];
    double v;
    if (o.view == nullptr) {
      v = o.count != nullptr ? static_cast<double>(*o.count)
                             : static_cast<double>(status_count(
                                   groups[o.group], r.key(groups[o.group].key), t, o.length));
    } else {
      v = agg_value(o, *o.view, o.count != nullptr ? *o.count : o.view->count);
    }
    out_cols[j][row] = v;
  }

  // (From a batch, whether the row has a trans_num was noted with its hash: its 48-byte TransId
  // has left L1 since.)
  if (!index_fields.empty() && (batched ? trans_present[row] != 0 : !r.trans_num().empty())) {
    std::uint64_t entry[1 + kFieldCount];
    entry[0] = batched ? trans_hashes[row] : trans_hash(r.trans_num());
    for (std::size_t k = 0; k < index_fields.size(); ++k) entry[1 + k] = r.key(index_fields[k]);
    index_push(entry);
  }
  if (budget != 0 && charged > budget) enforce_budget();
  return false;
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

FeatureStoreStats FeatureStore::Impl::stats() const {
  FeatureStoreStats st = counters;
  st.charged_bytes = charged;
  for (const Group& g : groups) {
    st.keys += g.live;
    const auto pages_held = static_cast<std::size_t>(
        std::count_if(g.pages.begin(), g.pages.end(), [](const auto& p) { return p != nullptr; }));
    st.key_bytes += g.table.capacity() * 8 + g.pages.capacity() * 8 + g.page_live.capacity() * 4 +
                    pages_held * std::size_t{Group::kPageSlots} * g.rec_bytes +
                    g.bucket_data.capacity() * 8 + g.free_slots.capacity() * 4 + g.cold.bytes() +
                    g.cold_free.capacity() * 4 + g.free_pages.capacity() * 4;
    g.for_each([&](std::uint32_t slot) {
      const features_detail::RecHead& s = g.head(slot);
      if (swept(g, slot)) {  // gone in the logical state (the sweep has yet to reach it)
        --st.keys;
        ++st.evicted_keys;
        st.charged_bytes -= g.key_charge + std::uint64_t{s.size} * g.lay.bytes;
        if (Group::is_cold(slot)) {
          if (g.n_distinct > 0) st.charged_bytes -= cold_distinct_charge(g, s);
        } else {
          for (const auto& a : g.accs) {
            if (a.distinct >= 0) st.charged_bytes -= ds_count(ds_word(g.rec(slot), a)) * 16;
          }
        }
      } else {
        st.events_held += s.size;
        st.cold_keys += Group::is_cold(slot) ? 1 : 0;
        if (g.status != kNoStr) {
          const Micros floor = status_floor(g);
          for (std::uint32_t e = 0; e < s.size && g.ev_time(s, e) <= floor; ++e) {
            st.charged_bytes -= 8;
          }
        }
      }
      // (An inline ring's bytes are the record's, counted in key_bytes.)
      if (!g.ring_inline(s)) st.event_bytes += std::uint64_t{s.cap} * g.lay.bytes;
      if (Group::is_cold(slot)) return;  // (no derived state, no buckets)
      const std::byte* rec = g.rec(slot);
      for (const auto& a : g.accs) {
        if (a.distinct >= 0) {
          const std::uint64_t dw = ds_word(rec, a);
          if (!ds_small(dw)) {
            const DistinctSet* d = ds_ptr(dw);
            st.other_bytes += a.narrow ? ds_alloc_bytes<DistinctSet::Narrow>(d->cap)
                                       : ds_alloc_bytes<DistinctSet::Wide>(d->cap);
          }
        }
        for (const std::uint32_t off :
             {a.min_q >= 0 ? a.min_off : 0u, a.max_q >= 0 ? a.max_off : 0u}) {
          if (off == 0) continue;
          const std::uint32_t cap = reinterpret_cast<const MonoQ*>(rec + off)->cap();
          st.other_bytes += cap ? 4ull * (cap + 1) : 0;
        }
      }
      st.other_bytes += g.bucket_bytes;
    });
  }
  st.other_bytes += index.bytes();
  st.status_index_entries = index.size();
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
  if (config.limits.cold_after < 0) {
    return Status{ErrorCode::kInvalidArgument, "cold_after must not be negative"};
  }
  if (config.limits.status_index_size > kMaxStatusIndexSize) {
    return Status{ErrorCode::kInvalidArgument,
                  absl::StrFormat("status index size %u is above the limit of 2^31 entries",
                                  config.limits.status_index_size)};
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

namespace {
// out[i * stride] = slot_value() of row i, for the n rows of a batch: a loop per column, the
// field's case chosen once (common fields), not per row.
void fill_slot(const TransactionBatch& b, const SlotDef& s, std::uint64_t* out, std::size_t stride,
               std::size_t n) {
  auto each = [&](auto get) {
    for (std::size_t i = 0; i < n; ++i) out[i * stride] = static_cast<std::uint64_t>(get(i));
  };
  auto column = [&](const auto& col) { each([&](std::size_t i) { return col[i]; }); };
  if (s.kind == SlotKind::kKey) {
    switch (s.field) {
      case Field::kCcNum: return column(b.cc_num);
      case Field::kMerchant: return column(b.merchant);
      case Field::kCategory: return column(b.category);
      case Field::kState: return column(b.state);
      case Field::kCity: return column(b.city);
      case Field::kZip: return column(b.zip);
      case Field::kJob: return column(b.job);
      default: return each([&](std::size_t i) { return batch_key(b, s.field, i); });
    }
  }
  if (s.kind == SlotKind::kRaw) {
    const auto& col = s.field == Field::kMerchLat ? b.merch_lat : b.merch_lon;
    return each([&](std::size_t i) { return double_bits(col[i]); });
  }
  if (s.field == Field::kAmt) return column(b.amt_cents);
  each([&](std::size_t i) { return slot_value(BatchRow{b, i}, s); });
}
}  // namespace

void FeatureStore::Impl::gather_events(const TransactionBatch& b) {
  const std::size_t n = b.size(), ng = n_txn_groups;
  ev_base.resize(ng);
  batch_fits.resize(ng);
  std::size_t total = 0;
  for (std::size_t gi = 0; gi < ng; ++gi) {
    ev_base[gi] = total;
    total += n * (1 + groups[gi].slots.size());
  }
  evs.resize(total);
  for (std::size_t gi = 0; gi < ng; ++gi) {
    const Group& g = groups[gi];
    const std::size_t stride = 1 + g.slots.size();
    std::uint64_t* const out = evs.data() + ev_base[gi];
    for (std::size_t i = 0; i < n; ++i) out[i * stride] = static_cast<std::uint64_t>(b.time[i]);
    for (std::size_t k = 0; k < g.slots.size(); ++k)
      fill_slot(b, g.slots[k], out + 1 + k, stride, n);
    batch_fits[gi] = g.fits_rows(out, stride, n);
  }
}

Status FeatureStore::process(const TransactionBatch& batch, FeatureMatrix& out,
                             std::vector<std::uint32_t>* late_rows) {
  Impl& s = *impl_;
  out.reset(s.names.size(), batch.capacity());
  for (std::size_t c = 0; c < s.names.size(); ++c) s.cols[c] = out.column(c);
  // Keys are hashed for the whole batch first; then, while row i is processed, the hash slot
  // of row i + kTable, the key record of row i + kRec and the ring positions of row i + kRing
  // are prefetched, so the cache misses of many rows overlap instead of queueing one by one.
  // Distances measured on the 100k-card bench: 16/8/4 gave 0.85 M/s, 32/16/8 0.88 M/s,
  // 48/24/12 0.89 M/s, none 0.69 M/s. (A third stage, for the lines that depend on the ring —
  // distinct-set entries and min / max queue ends — was deleted by the compiler as free of
  // side effects until 2026-11, so those figures are without it; enabled, it cost more
  // instructions than it saved stalls, and it is gone.)
  constexpr std::size_t kTable = 32, kRec = 16, kRing = 8;
  const std::size_t n = batch.size(), ng = s.n_txn_groups;
  s.hashes.resize(n * ng);
  s.hints.resize(n * ng);
  s.keys.resize(n * ng);
  for (std::size_t gi = 0; gi < ng; ++gi) {
    const Field f = s.groups[gi].key;
    std::uint64_t* const hk = s.hashes.data() + gi;
    std::uint64_t* const kk = s.keys.data() + gi;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = batch_key(batch, f, i);
      kk[i * ng] = k;
      hk[i * ng] = features_detail::key_hash(k);
    }
  }
  s.gather_events(batch);
  const std::uint64_t* const hashes = s.hashes.data();
  std::uint32_t* const hints = s.hints.data();
  // Only groups with many keys, or much data per key (key_charge), are prefetched: a group of
  // few keys (merchant category, state …) stays in cache, and probing for it ahead would only
  // double its work. Bucketed windows hold kilobytes per key (61 buckets of 64 bytes for 1h at
  // 1m): a few hundred merchants of them do not stay in cache.
  // And none while the whole store (its charge) is at most kCachedStore: it is then served
  // from L2 / L3, whose latency out-of-order execution hides, and the prefetch stages are
  // only extra work. The crossover, bench config on Update's stream (store size: M/s with /
  // without prefetching, 2026-11 host, 1 MB L2 a core, 32 MB L3 for eight): 2,000 cards
  // (1.5 MB) 2.70 / 3.20; 5,000 (4.3 MB) 2.70 / 2.97; 10,000 (8.3 MB) about even; 20,000
  // (16.7 MB) 2.51 / 1.48; 100,000 (81 MB) 2.10 / 1.02. (The L3 size the system reports is
  // the whole socket's, 384 MB there: no base for a threshold.)
  constexpr std::uint64_t kCachedKeys = 1024, kCachedBytes = 256 << 10;
  constexpr std::uint64_t kCachedStore = 4 << 20;
  std::uint64_t fetch_mask = 0;
  if (s.charged > kCachedStore) {
    for (std::size_t gi = 0; gi < ng; ++gi) {
      const Impl::Group& g = s.groups[gi];
      if (gi >= 64 || g.live > kCachedKeys || g.live * g.key_charge > kCachedBytes) {
        fetch_mask |= std::uint64_t{1} << (gi & 63);
      }
    }
  }
  // The status index: trans_num hashes computed once, and the map slots the row's insert
  // (and, once the index is full, its eviction of the oldest entry) will touch.
  // (process_row reads the hashes whenever there are index fields, even with a zero limit.)
  const bool indexing = !s.index_fields.empty() && s.index_limit > 0;
  if (!s.index_fields.empty()) {
    s.trans_hashes.resize(n);
    s.trans_present.resize(n);
    std::uint64_t* const th = s.trans_hashes.data();
    std::uint8_t* const present = s.trans_present.data();
    for (std::size_t i = 0; i < n; ++i) {
      const std::string_view tn = batch.trans_num[i].view();
      th[i] = s.trans_hash(tn);
      present[i] = !tn.empty();
    }
  }
  auto stage = [&](std::size_t i, int what) {
    const std::uint64_t* const hk = hashes + i * ng;
    std::uint32_t* const ht = hints + i * ng;
    if (what == 0 && indexing) s.prefetch_index(i, std::min(i, kTable));
    for (std::size_t gi = 0; gi < ng; ++gi) {
      if (((fetch_mask >> (gi & 63)) & 1) == 0) continue;
      if (what == 0) {
        s.prefetch_table(gi, hk[gi]);
      } else if (what == 1) {
        ht[gi] = s.prefetch_rec(gi, hk[gi]);
        if (!s.groups[gi].buckets.empty()) s.prefetch_buckets(gi, ht[gi], batch.time[i]);
      } else if (what == 2) {
        s.prefetch_ring(gi, ht[gi], i);
      }
    }
  };
  for (std::size_t i = 0; i < std::min(n, kTable); ++i) stage(i, 0);
  for (std::size_t i = 0; i < std::min(n, kRec); ++i) stage(i, 1);
  for (std::size_t i = 0; i < std::min(n, kRing); ++i) stage(i, 2);
  // The batch's own columns that process_row() reads, kCols rows ahead: a batch built
  // elsewhere (parsed, then queued) arrives cold, and a dozen column streams are more than the
  // hardware prefetcher follows (BM_EndToEnd_Batches: 12% of process() waited on the amount).
  constexpr std::size_t kCols = 64;
  ColumnRef row_cols[kFieldCount];
  std::size_t n_cols = 0;
  for (const Field f : s.row_fields) row_cols[n_cols++] = batch_column(batch, f);
  auto fetch_columns = [&](std::size_t i) {
    for (std::size_t c = 0; c < n_cols; ++c)
      detail::prefetch(row_cols[c].base + i * row_cols[c].width);
  };
  for (std::size_t i = 0; i < std::min(n, kCols); i += 8) fetch_columns(i);
  for (std::size_t i = 0; i < n; ++i) {
    if ((i & 7) == 0 && i + kCols < n) fetch_columns(i + kCols);
    if (i + kTable < n) stage(i + kTable, 0);
    if (i + kRec < n) stage(i + kRec, 1);
    if (i + kRing < n) stage(i + kRing, 2);
    if (s.process_row(BatchRow{batch, i}, i, true) && late_rows != nullptr) {
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
  const bool dead = s.process_row(TxRow{tx}, 0, false);
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
