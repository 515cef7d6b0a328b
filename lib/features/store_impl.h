// Internal: the feature store's state (pimpl of vigil::FeatureStore).
//
// Layout. Features are grouped by event stream: one `Group` per key field for transactions
// (the cc_num group always exists, it carries the built-in "since previous" features), and
// one per (key field, status value) for status-change events. Per group:
//   - `index`   absl::flat_hash_map key -> dense slot number (16-byte hash slots);
//   - `states`  per slot: the key's Boost.circular_buffer of events and its newest time;
//               events are `stride` 64-bit words: time, then one word per stored field;
//   - `pool`    per slot, `pool_stride` words: one window cursor per exact window, then the
//               running sums of every (window, field) accumulator;
//   - `mono`    per slot, the min / max monotonic queues (event sequence numbers);
//   - `distinct`per slot, the value -> multiplicity map of each distinct accumulator;
//   - `buckets` per slot, the bucket ring of each bucketed (granularity) feature.
// Everything indexed by slot lives in parallel dense arrays, so a key costs no allocation of
// its own beyond its ring.
#pragma once

#include <boost/circular_buffer.hpp>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "vigil/config.h"
#include "vigil/features.h"

namespace vigil::features_detail {

__extension__ typedef __int128 i128;  // exact Σx² (GCC / Clang builtin type)
__extension__ typedef unsigned __int128 u128;

/// A stored field value that is missing (NaN coordinate, city_pop 0, no dob, …).
inline constexpr std::int64_t kMissing = std::numeric_limits<std::int64_t>::min();
/// Time of "no event yet".
inline constexpr Micros kNever = std::numeric_limits<Micros>::min();

/// a - b, clamped to the representable range (times near the ends of int64 stay ordered).
constexpr Micros sat_sub(Micros a, Micros b) noexcept {
  Micros r;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? kNever : std::numeric_limits<Micros>::max();
  return r;
}

/// How a field is stored in an event word.
enum class SlotKind : std::uint8_t {
  kScaled,  ///< exact int64 (cents, nanodegrees, plain integers); kMissing when missing
  kKey,     ///< a key value as TransactionBatch::key() gives it (for distinct)
  kRaw,     ///< IEEE bits of a double (merchant coordinates for the built-ins)
};
struct SlotDef {
  Field field;
  SlotKind kind;
};

/// A ring of 32-bit event sequence numbers: a min or max monotonic queue. 24 bytes empty.
class SeqQueue {
 public:
  bool empty() const noexcept { return size_ == 0; }
  std::uint32_t size() const noexcept { return size_; }
  std::uint32_t capacity() const noexcept { return cap_; }
  std::uint32_t front() const noexcept { return buf_[head_]; }
  std::uint32_t back() const noexcept { return buf_[(head_ + size_ - 1) & (cap_ - 1)]; }
  void pop_front() noexcept {
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
  }
  void pop_back() noexcept { --size_; }
  void push_back(std::uint32_t v) {
    if (size_ == cap_) grow();
    buf_[(head_ + size_) & (cap_ - 1)] = v;
    ++size_;
  }
  void clear() noexcept { head_ = size_ = 0; }
  void release() noexcept {
    buf_.reset();
    head_ = size_ = cap_ = 0;
  }

 private:
  void grow() {
    const std::uint32_t cap = cap_ == 0 ? 4 : cap_ * 2;
    std::unique_ptr<std::uint32_t[]> b(new std::uint32_t[cap]);
    for (std::uint32_t i = 0; i < size_; ++i) b[i] = buf_[(head_ + i) & (cap_ - 1)];
    buf_ = std::move(b);
    head_ = 0;
    cap_ = cap;
  }
  std::unique_ptr<std::uint32_t[]> buf_;
  std::uint32_t head_ = 0, size_ = 0, cap_ = 0;
};

using DistinctMap = absl::flat_hash_map<std::uint64_t, std::uint32_t>;

/// One key's events and newest time.
struct KeyState {
  boost::circular_buffer<std::uint64_t> ring;  ///< `stride` words per event, time order
  Micros newest = kNever;                      ///< newest event time (lateness, TTL)
  std::uint32_t base = 0;                      ///< sequence number of the ring's front event
};

/// Running aggregate of one field over one exact window.
struct AccDef {
  std::uint8_t window = 0;
  std::uint8_t slot = 0;
  bool sq = false;  ///< keeps Σx² (std)
  std::int32_t min_q = -1, max_q = -1, distinct = -1;
  std::uint32_t word = 0;  ///< pool offset of [Σx, n, Σx² lo, Σx² hi]
};

/// A bucketed window: `count` buckets of `width`.
struct BucketDef {
  std::int32_t slot = -1;  ///< -1: count only
  Micros width = 0;
  std::uint32_t count = 0;
};
struct Bucket {
  std::int64_t id = kNever;  ///< floor(time / width); kNever: empty
  std::uint64_t n = 0;       ///< events
  std::uint64_t nv = 0;      ///< non-missing values
  std::int64_t sum = 0;
  std::int64_t mn = std::numeric_limits<std::int64_t>::max();
  std::int64_t mx = std::numeric_limits<std::int64_t>::min();
  i128 sq = 0;
};

/// What a window (or bucketed window) holds, as read for one transaction.
struct View {
  std::uint64_t count = 0;
  std::uint64_t n = 0;
  std::int64_t sum = 0;
  i128 sq = 0;
  std::int64_t mn = 0, mx = 0;
  std::uint64_t distinct = 0;
};

struct Group {
  Field key = Field::kCcNum;
  StrId status = kNoStr;  ///< kNoStr: transactions; else status changes to this status
  bool is_card = false;   ///< holds the built-in "since previous" features
  std::vector<SlotDef> slots;
  std::uint32_t stride = 1;
  int mlat_slot = -1, mlon_slot = -1;
  std::vector<Micros> windows;  ///< exact windows, ascending
  Micros retention = 0;         ///< events older than newest - retention leave the ring
  bool ring = false;            ///< keeps events at all
  std::vector<AccDef> accs;
  std::vector<std::vector<std::uint16_t>> accs_by_window;
  std::uint32_t n_mono = 0, n_distinct = 0;
  std::vector<BucketDef> buckets;
  std::uint32_t pool_stride = 0;
  std::uint64_t key_charge = 0;  ///< logical bytes per key (memory budget)

  absl::flat_hash_map<std::uint64_t, std::uint32_t> index;
  std::vector<KeyState> states;
  std::vector<std::uint64_t> pool;
  std::vector<SeqQueue> mono;
  std::vector<std::unique_ptr<DistinctMap>> distinct;
  std::vector<std::unique_ptr<Bucket[]>> bucket_data;
  std::vector<std::uint32_t> free_slots;

  // Per-event scratch.
  std::vector<std::uint64_t> ev;
  std::vector<View> acc_view;  ///< per acc
  std::vector<std::uint64_t> win_count;
  std::vector<View> bucket_view;  ///< per bucket def
};

/// Where a declared feature's value comes from.
struct OutDef {
  enum class Src : std::uint8_t { kWindow, kBucket, kStatus };
  Src src = Src::kWindow;
  Agg agg = Agg::kCount;
  std::uint16_t group = 0;
  std::uint16_t window = 0;  ///< window index (kWindow), bucket def (kBucket)
  std::int32_t acc = -1;     ///< accumulator (kWindow, agg != count)
  Micros length = 0;         ///< window length (kStatus)
  double denom = 1;          ///< stored integer / denom = value
};

}  // namespace vigil::features_detail

namespace vigil {

struct FeatureStore::Impl {
  using Group = features_detail::Group;
  using KeyState = features_detail::KeyState;
  using View = features_detail::View;

  /// Builds an empty store for validated features; `status_ids[i]` is the interned status of
  /// feature i (kNoStr for transaction features).
  static std::unique_ptr<Impl> build(const Config& config, const std::vector<StrId>& status_ids);

  // --- configuration (fixed after build) ---
  Config config;  ///< features, lateness, policy, limits (rules etc. not used)
  std::vector<StrId> status_ids;
  Micros lateness = 0;
  LatePolicy policy = LatePolicy::kDeadLetter;
  Micros ttl = 0;
  Micros sweep_every = 0;
  std::uint64_t budget = 0;
  std::uint64_t index_limit = 0;
  std::vector<std::string> names;
  std::vector<features_detail::OutDef> outs;
  std::vector<Group> groups;  ///< [0] the card group, transaction groups, then status groups
  std::size_t n_txn_groups = 0;
  std::string fingerprint;  ///< the configuration as bytes, checked by restore()

  // --- status index: trans_num hash -> keys of the status groups' key fields ---
  std::vector<Field> index_fields;
  std::uint32_t index_stride = 0;                    ///< hash word + one word per index field
  boost::circular_buffer<std::uint64_t> index_ring;  ///< FIFO of entries
  absl::flat_hash_map<std::uint64_t, std::uint64_t> index_map;  ///< hash -> entry sequence
  std::uint64_t index_front = 0;  ///< sequence of the ring's front entry

  // --- stream state ---
  Micros watermark = features_detail::kNever;  ///< newest event time seen
  Micros next_sweep = features_detail::kNever;
  std::uint64_t charged = 0;
  FeatureStoreStats counters;  ///< late / evicted / status counters only

  // --- scratch ---
  std::vector<double*> cols;
  std::vector<std::int8_t> cls;
  std::vector<std::uint32_t> slot_of;
  std::vector<std::uint64_t> distinct_scratch;

  template <class Row>
  bool process_row(const Row& r, std::size_t row);
  void on_status(const StatusChange& change);
  void advance(Micros t);
  void sweep();
  void enforce_budget();

  std::uint32_t new_key(Group& g, std::uint64_t key);
  void clear_key(Group& g, std::uint32_t slot);
  void erase_key(Group& g, std::uint64_t key, std::uint32_t slot);

  void push_in_order(Group& g, std::uint32_t slot);
  std::uint32_t insert_late(Group& g, std::uint32_t slot);
  void evict_front(Group& g, KeyState& s);
  void rebuild_mono(Group& g, std::uint32_t slot);
  void rebuild_sums(Group& g, std::uint32_t slot);
  void scan_view(Group& g, const KeyState& s, std::uint32_t p, Micros t, std::size_t w);
  bool bucket_add(Group& g, std::uint32_t slot, std::size_t j, Micros t, std::int64_t v);
  void bucket_view(Group& g, std::uint32_t slot, std::size_t j, Micros t, bool current);

  void add_status(Group& g, std::uint64_t key, Micros t);
  std::uint64_t status_count(const Group& g, std::uint64_t key, Micros t, Micros w) const;
  void index_push(std::uint64_t hash, const std::uint64_t* keys);

  FeatureStoreStats stats() const;
  Status snapshot(std::ostream& out) const;
  Status restore_into(std::istream& in);  ///< on a fresh Impl
};

}  // namespace vigil
