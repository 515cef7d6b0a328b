// Internal: the feature store's state (pimpl of vigil::FeatureStore).
//
// Layout. Features are grouped by event stream: one `Group` per key field for transactions
// (the cc_num group always exists, it carries the built-in "since previous" features), and
// one per (key field, status value) for status-change events. Per group:
//   - `table`  a linear-probing hash table of 8-byte entries (32-bit hash tag, slot + 1), so a
//              probe touches one cache line and the batch loop can prefetch it rows ahead;
//   - `pages`  one contiguous record per slot (`rec_bytes`, sized for the group's declared
//              features): key, newest time, the event ring (pointer, head, size, capacity,
//              sequence base), one 32-bit cursor per exact window, the running sums of every
//              (window, field) accumulator, the min / max monotonic queues (allocated only
//              past 16 window events: smaller windows are scanned) and per distinct
//              accumulator a count (windows of up to 32 events, kept by scanning the ring) or
//              the pointer to its distinct-value table. Pages are 64-byte aligned; a record
//              whose padding to whole lines holds two events or more keeps a ring of that
//              many events inline (Group::inl_off). One key costs one record and its ring;
//   - events   `ev_bytes` per event in the key's ring (grown by half: less slack than 2x): time (8
//   bytes) then only
//              the fields the group's features need, 4 bytes where the value fits (string ids,
//              zip, amounts in cents up to ±21M dollars …) — a value that does not fit widens
//              that field to 8 bytes for the whole group, once (relayout()).
//   - `buckets` per slot, the bucket ring of each bucketed (granularity) feature.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "features/status_index.h"
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

/// Head of every key record (followed by cursors, sums, queues, distinct pointers).
struct RecHead {
  std::uint64_t key = 0;
  Micros newest = kNever;  ///< newest event time (lateness, TTL)
  std::byte* ring = nullptr;
  std::uint32_t head = 0, size = 0, cap = 0;  ///< events; cap grows by half (any value)
  std::uint32_t base = 0;                     ///< sequence number of the ring's front event
};
static_assert(sizeof(RecHead) == 40);

/// Drops `n` <= size events from the front of a ring.
inline void ring_pop_front(RecHead& h, std::uint32_t n) noexcept {
  h.head += n;
  if (h.head >= h.cap) h.head -= h.cap;
  h.size -= n;
}

/// A min or max monotonic queue of 32-bit event sequence numbers, 16 bytes in the record;
/// `buf[0]` holds the capacity (a power of two), entries follow.
struct MonoQ {
  std::uint32_t* buf = nullptr;
  std::uint32_t head = 0, size = 0;
  std::uint32_t cap() const noexcept { return buf ? buf[0] : 0; }
  bool empty() const noexcept { return size == 0; }
  std::uint32_t at(std::uint32_t i) const noexcept { return buf[1 + ((head + i) & (buf[0] - 1))]; }
  std::uint32_t front() const noexcept { return at(0); }
  std::uint32_t back() const noexcept { return at(size - 1); }
  void pop_front() noexcept {
    head = (head + 1) & (buf[0] - 1);
    --size;
  }
  void pop_back() noexcept { --size; }
  void push_back(std::uint32_t v) {
    if (size == cap()) grow();
    buf[1 + ((head + size) & (buf[0] - 1))] = v;
    ++size;
  }
  void clear() noexcept { head = size = 0; }
  void release() noexcept {
    delete[] buf;
    buf = nullptr;
    head = size = 0;
  }
  void grow() {
    const std::uint32_t c = cap() == 0 ? 4 : cap() * 2;
    auto* b = new std::uint32_t[c + 1];
    b[0] = c;
    for (std::uint32_t i = 0; i < size; ++i) b[1 + i] = at(i);
    delete[] buf;
    buf = b;
    head = 0;
  }
};
static_assert(sizeof(MonoQ) == 16);

/// Value -> multiplicity, open addressing (linear probing, backward-shift erase), for one
/// distinct accumulator of one key. Allocated on the first value, freed when empty. Entries
/// are 8 bytes (32-bit value and count) for 4-byte key fields (string ids, zip), else 16.
struct DistinctSet {
  std::uint32_t size, cap;  ///< cap: a power of two; entries follow the header
  struct Narrow {
    std::uint32_t v, n;  ///< n == 0: empty
  };
  struct Wide {
    std::uint64_t v, n;
  };
  template <class E>
  E* entries() noexcept {
    return reinterpret_cast<E*>(this + 1);
  }
  template <class E>
  static std::size_t bytes(std::uint32_t cap) noexcept {
    return sizeof(DistinctSet) + std::size_t{cap} * sizeof(E);
  }
};

/// How a group's events are laid out: time at byte 0, then each slot at `off[k]`, stored as
/// `code[k]`: 0 eight bytes, 1 a 4-byte key (zero-extended), 2 a 4-byte signed value
/// (INT32_MIN = missing), 3 a 4-byte coordinate (see coord_narrow()).
struct Layout {
  std::uint32_t bytes = 8;
  std::vector<std::uint8_t> off, code;
};
inline constexpr std::int32_t kMissing32 = std::numeric_limits<std::int32_t>::min();

/// Coordinates (the IEEE bits of a double, SlotKind::kRaw) in 4 bytes: k for the double
/// k / 1e7 (a tenth of a microdegree), INT32_MIN for the quiet NaN of a missing one. Division
/// is correctly rounded, so a coordinate given with at most seven decimals — every data set's
/// (Kaggle's have six) — is exactly the double k / 1e7 that its parse gave, and comes back bit
/// for bit. Any other bits (more decimals, -0.0, another NaN) do not fit: the group's field is
/// widened to 8 bytes (FeatureStore::Impl::ensure_fits), as for an integer out of range.
inline constexpr double kCoordScale = 1e7;
inline constexpr std::uint64_t kCoordNaN = 0x7ff8000000000000ull;
/// y (|y| < 2^31 - 1) to the nearest integer, ties away from zero, inline (lround is a libm
/// call): y is within a few ulps of k when x = k / 1e7, and coord_narrow() checks the result.
inline std::int32_t coord_round(double y) noexcept {
  return static_cast<std::int32_t>(y + (y < 0 ? -0.5 : 0.5));
}
inline bool coord_narrow(std::uint64_t bits, std::int32_t& k) noexcept {
  if (bits == kCoordNaN) {
    k = kMissing32;
    return true;
  }
  const double x = std::bit_cast<double>(bits);
  const double y = x * kCoordScale;  // (false for NaN)
  if (!(y > -2147483647.0 && y < 2147483647.0)) return false;
  k = coord_round(y);
  return std::bit_cast<std::uint64_t>(static_cast<double>(k) / kCoordScale) == bits;
}
/// The code of a coordinate that coord_narrow() accepted.
inline std::int32_t coord_code(std::uint64_t bits) noexcept {
  return bits == kCoordNaN ? kMissing32 : coord_round(std::bit_cast<double>(bits) * kCoordScale);
}
inline std::uint64_t coord_wide(std::int32_t k) noexcept {
  return k == kMissing32 ? kCoordNaN
                         : std::bit_cast<std::uint64_t>(static_cast<double>(k) / kCoordScale);
}

/// Does the logical word `w` fit a field stored as `code` (see Layout)? Only the 4-byte signed
/// values (2) and coordinates (3) can fail to.
inline bool fits_code(std::uint8_t code, std::uint64_t w) noexcept {
  if (code == 2) {
    const auto v = static_cast<std::int64_t>(w);
    return v == kMissing || (v > kMissing32 && v <= std::numeric_limits<std::int32_t>::max());
  }
  std::int32_t c;
  return code != 3 || coord_narrow(w, c);
}

inline Micros load_time(const std::byte* p) noexcept {
  Micros t;
  std::memcpy(&t, p, sizeof t);
  return t;
}
inline std::uint64_t load_slot(const Layout& l, const std::byte* ev, std::size_t k) noexcept {
  const std::byte* p = ev + l.off[k];
  if (l.code[k] == 0) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if (l.code[k] == 1) return v;
  const auto x = static_cast<std::int32_t>(v);
  if (l.code[k] == 3) return coord_wide(x);
  return x == kMissing32 ? static_cast<std::uint64_t>(kMissing)
                         : static_cast<std::uint64_t>(static_cast<std::int64_t>(x));
}
/// Writes an event given as logical words (time, then one per slot) that fit the layout.
inline void store_event(const Layout& l, const std::uint64_t* w, std::byte* ev) noexcept {
  std::memcpy(ev, w, 8);
  for (std::size_t k = 0; k < l.off.size(); ++k) {
    std::byte* p = ev + l.off[k];
    if (l.code[k] == 0) {
      std::memcpy(p, w + 1 + k, 8);
    } else {
      std::uint32_t v = static_cast<std::uint32_t>(w[1 + k]);
      if (l.code[k] == 2 && static_cast<std::int64_t>(w[1 + k]) == kMissing) {
        v = static_cast<std::uint32_t>(kMissing32);
      } else if (l.code[k] == 3) {
        v = static_cast<std::uint32_t>(coord_code(w[1 + k]));
      }
      std::memcpy(p, &v, 4);
    }
  }
}

/// Running aggregate of one field over one exact window.
struct AccDef {
  std::uint8_t window = 0;
  std::uint8_t slot = 0;
  bool sq = false;      ///< keeps Σx² (std)
  bool has_n = false;   ///< the field can be missing: keeps n (else n = the window's count)
  bool narrow = false;  ///< distinct over a 4-byte key field (DistinctSet::Narrow entries)
  std::int32_t min_q = -1, max_q = -1, distinct = -1;
  std::uint32_t off = 0;  ///< record byte offset of Σx (or the DistinctSet*), then n, Σx²
  std::uint32_t min_off = 0, max_off = 0;  ///< record byte offsets of the MonoQs
  // The slot's place in the event layout (Layout::off / code), cached for the hot loop;
  // bind_layout() refreshes them whenever the layout changes.
  std::uint8_t ev_off = 0, ev_code = 0;
  bool key_slot = false;  ///< a key value (0 = missing) rather than a scaled one
  /// Σx only (no n, Σx², queues or distinct): the hot loop's short path.
  bool plain_sum = false;
};

/// One event field as stored with `code` (see Layout), as its logical word.
inline std::uint64_t load_code(const std::byte* p, std::uint8_t code) noexcept {
  if (code == 0) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  }
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if (code == 1) return v;
  const auto x = static_cast<std::int32_t>(v);
  return x == std::numeric_limits<std::int32_t>::min()
             ? static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::min())
             : static_cast<std::uint64_t>(static_cast<std::int64_t>(x));
}

/// A bucketed window: `count` buckets of `width`.
struct BucketDef {
  std::int32_t slot = -1;  ///< -1: count only
  Micros width = 0;
  std::uint32_t count = 0;
  /// Index of its first bucket in a key's buckets as snapshots number them; its running total
  /// is number off + count.
  std::uint32_t off = 0;
  /// Byte offset of its running total in a key's bucket block (a multiple of 64); its buckets
  /// follow, as Bucket or, when `compact`, as CountBucket.
  std::uint32_t at = 0;
  bool compact = false;  ///< count only: CountBucket buckets
  /// Memo of the last time's bucket: times in [lo, lo + width) are bucket `id`, stored at
  /// `pos` = id mod count (the stream's times are close together: two divisions saved a row).
  Micros lo = 0;
  std::int64_t id = 0, pos = 0;
  bool memo = false;
  /// floor(t / width) and its place in the ring.
  std::int64_t locate(Micros t, std::int64_t& at) noexcept {
    // (Unsigned: t - lo may not fit an int64 when they are far apart.)
    if (!memo || t < lo ||
        static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(lo) >=
            static_cast<std::uint64_t>(width)) {
      id = t / width;
      if (t % width < 0) --id;  // floor, also before 1970
      lo = id * width;
      pos = id % static_cast<std::int64_t>(count);
      if (pos < 0) pos += count;
      memo = true;
    }
    at = pos;
    return id;
  }
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
static_assert(sizeof(Bucket) == 64);
/// A bucket of a count-only bucketed window: only its id and count, four to a line (a key of
/// `merchant_count_1h` at 1m granularity holds 1 KB of them instead of 4).
struct CountBucket {
  std::int64_t id = kNever;
  std::uint64_t n = 0;
};

/// A key's bucket block: per def, its running total then its buckets (see BucketDef::at).
struct BlockFree {
  void operator()(std::byte* p) const noexcept { ::operator delete[](p, std::align_val_t{64}); }
};
using BucketBlock = std::unique_ptr<std::byte[], BlockFree>;
inline Bucket& bucket_total(std::byte* blk, const BucketDef& d) noexcept {
  return *reinterpret_cast<Bucket*>(blk + d.at);
}
inline const Bucket& bucket_total(const std::byte* blk, const BucketDef& d) noexcept {
  return *reinterpret_cast<const Bucket*>(blk + d.at);
}
template <class B>
B* bucket_ring(std::byte* blk, const BucketDef& d) noexcept {
  return reinterpret_cast<B*>(blk + d.at + sizeof(Bucket));
}
template <class B>
const B* bucket_ring(const std::byte* blk, const BucketDef& d) noexcept {
  return reinterpret_cast<const B*>(blk + d.at + sizeof(Bucket));
}

/// The running total of a bucketed window (the bucket after its `count` buckets) keeps no
/// minimum — views take min / max from the buckets — so, for a def of at most kOccBuckets
/// buckets, its `mn` word holds the occupancy of the buckets instead: bit p clear means bucket
/// p holds no event. Such a bucket adds nothing to any view whatever its id, so recycling skips
/// it (a key idle for half the window touches one or two bucket lines, not thirty). Derived
/// state: snapshots write the default and restore() recomputes it.
inline constexpr std::uint32_t kOccBuckets = 64;
inline std::uint64_t occ_of(const Bucket& total) noexcept {
  return static_cast<std::uint64_t>(total.mn);
}
inline void set_occ(Bucket& total, std::uint64_t occ) noexcept {
  total.mn = static_cast<std::int64_t>(occ);
}
/// The occupancy of `count` <= kOccBuckets buckets, from their contents.
template <class B>
std::uint64_t occ_from(const B* bk, std::uint32_t count) noexcept {
  std::uint64_t occ = 0;
  for (std::uint32_t p = 0; p < count; ++p) occ |= std::uint64_t{bk[p].n != 0} << p;
  return occ;
}
/// Positions first, first + 1 … (len of them, len < count <= kOccBuckets) of a ring of `count`.
inline std::uint64_t occ_run(std::uint32_t first, std::uint32_t len, std::uint32_t count) noexcept {
  if (first + len <= count) return ((std::uint64_t{1} << len) - 1) << first;  // len <= 63
  const std::uint32_t wrapped = first + len - count;                          // first >= 1
  return (((std::uint64_t{1} << (count - first)) - 1) << first) |
         ((std::uint64_t{1} << wrapped) - 1);
}

/// What a window (or bucketed window) holds, as read for one transaction.
struct View {
  std::uint64_t count = 0;
  std::uint64_t n = 0;
  std::int64_t sum = 0;
  i128 sq = 0;
  std::int64_t mn = 0, mx = 0;
  std::uint64_t distinct = 0;
};

/// Cold keys' heads (Group::cold), in pages of 1024: no growth slack, 40 bytes a key.
class ColdHeads {
 public:
  std::uint32_t size() const noexcept { return n_; }
  RecHead& operator[](std::uint32_t i) noexcept { return pages_[i >> kShift][i & (kPage - 1)]; }
  const RecHead& operator[](std::uint32_t i) const noexcept {
    return pages_[i >> kShift][i & (kPage - 1)];
  }
  /// Appends `h`; returns its index.
  std::uint32_t push_back(const RecHead& h) {
    if ((n_ >> kShift) == pages_.size()) pages_.emplace_back(new RecHead[kPage]);
    (*this)[n_] = h;
    return n_++;
  }
  std::size_t bytes() const noexcept {
    return pages_.size() * kPage * sizeof(RecHead) + pages_.capacity() * sizeof(void*);
  }

 private:
  static constexpr std::uint32_t kShift = 10, kPage = 1u << kShift;
  std::vector<std::unique_ptr<RecHead[]>> pages_;
  std::uint32_t n_ = 0;
};

struct Group {
  Group() = default;
  Group(Group&&) noexcept = default;
  Group& operator=(Group&&) noexcept = default;
  ~Group();

  Field key = Field::kCcNum;
  StrId status = kNoStr;  ///< kNoStr: transactions; else status changes to this status
  bool is_card = false;   ///< holds the built-in "since previous" features
  std::vector<SlotDef> slots;
  Layout lay;                      ///< event layout
  std::vector<std::uint8_t> wide;  ///< slot k is stored in 8 bytes
  std::uint64_t widened = 0;       ///< slots widened because a value did not fit (bits)
  int mlat_slot = -1, mlon_slot = -1;
  std::vector<Micros> windows;  ///< exact windows, ascending
  Micros retention = 0;         ///< events older than newest - retention leave the ring
  bool ring = false;            ///< keeps events at all
  std::vector<AccDef> accs;
  std::vector<std::vector<std::uint16_t>> accs_by_window;
  std::uint32_t n_mono = 0, n_distinct = 0;
  std::vector<BucketDef> buckets;
  std::uint32_t bucket_total = 0;  ///< buckets per key: each def's count and its running total
  std::uint32_t bucket_bytes = 0;  ///< bytes of a key's bucket block
  std::uint32_t rec_bytes = 0;     ///< record size (multiple of 8)
  std::uint64_t key_charge = 0;    ///< logical bytes per key (memory budget)

  // Hash table: entry = (tag << 32) | (slot + 1), 0 empty.
  std::vector<std::uint64_t> table;
  std::uint64_t mask = 0;
  std::uint64_t live = 0;
  /// Records in pages of kPageSlots: growing never moves (copies) the records already held,
  /// so no row pays for a copy of all keys.
  static constexpr std::uint32_t kPageShift = 10, kPageSlots = 1u << kPageShift;
  /// Pages are cache-line aligned, so a record of 64 bytes is one line, of 96 two.
  struct PageFree {
    void operator()(std::uint64_t* p) const noexcept {
      ::operator delete[](p, std::align_val_t{64});
    }
  };
  std::vector<std::unique_ptr<std::uint64_t[], PageFree>> pages;  ///< rec_bytes / 8 words per slot
  /// An inline ring: the record's padding to a whole number of lines, when it holds at least
  /// two events, is the ring of a key with few events (no allocation, no other line to fetch:
  /// records never move). 0: none.
  std::uint32_t inl_off = 0, inl_bytes = 0;
  std::uint32_t inl_cap = 0;  ///< events the inline ring holds (inl_bytes / lay.bytes)
  std::byte* inline_ring(RecHead& h) const noexcept {
    return inl_cap ? reinterpret_cast<std::byte*>(&h) + inl_off : nullptr;
  }
  bool ring_inline(const RecHead& h) const noexcept {
    return inl_off != 0 && h.ring == reinterpret_cast<const std::byte*>(&h) + inl_off;
  }
  std::uint32_t n_slots = 0;
  // Hot-path plan, derived from the layout and the accumulators by bind_layout().
  /// Slots stored in 4 signed bytes (code 2) and as 4-byte coordinates (code 3): checked per
  /// event by fits().
  std::vector<std::uint8_t> narrow_ints, narrow_coords;
  /// Does every value of `n` events (logical words, `stride` words apart) fit its stored
  /// field? Field by field, so that a batch's check (gather_events()) is a loop per column.
  bool fits_rows(const std::uint64_t* ev, std::size_t stride, std::size_t n) const noexcept {
    bool ok = true;
    for (const std::uint8_t k : narrow_ints) {
      for (std::size_t i = 0; i < n; ++i) ok &= fits_code(2, ev[i * stride + 1 + k]);
    }
    for (const std::uint8_t k : narrow_coords) {
      for (std::size_t i = 0; i < n; ++i) ok &= fits_code(3, ev[i * stride + 1 + k]);
    }
    return ok;
  }
  /// Does every value of an event fit its stored field?
  bool fits(const std::uint64_t* ev) const noexcept { return fits_rows(ev, 0, 1); }
  std::vector<std::uint8_t> win_fields;  ///< per window: an accumulator reads event fields
  std::vector<std::uint16_t> scan_accs;  ///< distinct / min / max accumulators (may scan)
  std::vector<BucketBlock> bucket_data;  ///< per slot (bucketed windows only)
  /// A fresh bucket block: every bucket empty, every occupancy 0.
  BucketBlock new_buckets() const;
  /// Empties every bucket of a block.
  void clear_buckets(std::byte* blk) const noexcept;
  std::vector<std::uint32_t> free_slots;  ///< a min-heap (take_slot() takes the lowest)
  std::vector<std::uint32_t> page_live;   ///< keys per page; a page of none is given back
  std::vector<std::uint32_t> free_pages;  ///< pages given back (their slots not in free_slots)

  std::byte* rec(std::uint32_t slot) noexcept {
    return reinterpret_cast<std::byte*>(pages[slot >> kPageShift].get()) +
           std::size_t{slot & (kPageSlots - 1)} * rec_bytes;
  }
  const std::byte* rec(std::uint32_t slot) const noexcept {
    return reinterpret_cast<const std::byte*>(pages[slot >> kPageShift].get()) +
           std::size_t{slot & (kPageSlots - 1)} * rec_bytes;
  }
  // Cold keys. A key idle StoreLimits::cold_after, or longer than its group's retention, is
  // demoted by the sweep to a bare RecHead — key, newest, its ring of events — in `cold`; the
  // record's derived state (cursors, sums, min / max queues, distinct sets) is freed and rebuilt
  // from the ring when the key is seen again (promote()), exactly as restore() rebuilds it. Table
  // entries of cold keys carry kCold | index. Only groups without buckets, status windows or an
  // inline ring have them.
  static constexpr std::uint32_t kCold = 0x80000000u;
  bool coldable = false;  ///< may demote keys (transactions, no buckets, keeps a ring)
  ColdHeads cold;
  std::vector<std::uint32_t> cold_free;
  static bool is_cold(std::uint32_t slot) noexcept { return (slot & kCold) != 0; }
  /// The head of a key's record, hot or cold.
  RecHead& head(std::uint32_t slot) noexcept {
    if (is_cold(slot)) [[unlikely]]
      return cold[slot & ~kCold];
    return *reinterpret_cast<RecHead*>(rec(slot));
  }
  const RecHead& head(std::uint32_t slot) const noexcept {
    if (is_cold(slot)) [[unlikely]]
      return cold[slot & ~kCold];
    return *reinterpret_cast<const RecHead*>(rec(slot));
  }
  /// Points the table entry of `from` (hash `h`) at `to`.
  void relink(std::uint64_t h, std::uint32_t from, std::uint32_t to) noexcept;
  std::byte* ev_at(const RecHead& h, std::uint32_t idx) const noexcept {
    std::uint32_t pos = h.head + idx;  // head < cap and idx <= cap: one wrap at most
    if (pos >= h.cap) pos -= h.cap;
    return h.ring + std::size_t{pos} * lay.bytes;
  }
  Micros ev_time(const RecHead& h, std::uint32_t idx) const noexcept {
    return load_time(ev_at(h, idx));
  }
  /// Ring index of the first event inside exact window `w` as of the key's newest event.
  std::uint32_t window_start(const RecHead& h, std::size_t w) const noexcept {
    const Micros lo = sat_sub(h.newest, windows[w]);
    std::uint32_t idx = 0;
    while (idx < h.size && ev_time(h, idx) <= lo) ++idx;
    return idx;
  }
  std::uint64_t ev_word(const RecHead& h, std::uint32_t idx, std::size_t k) const noexcept {
    return load_slot(lay, ev_at(h, idx), k);
  }
  std::uint32_t* cursors(std::uint32_t slot) noexcept {
    return reinterpret_cast<std::uint32_t*>(rec(slot) + sizeof(RecHead));
  }
  /// Slot of `key` (hash `h`), or -1. (Inline: once per row and group, in the row loop.)
  [[gnu::always_inline]] std::int64_t find(std::uint64_t key, std::uint64_t h) const noexcept {
    if (table.empty()) return -1;
    const std::uint64_t tag = h >> 32;
    for (std::uint64_t i = h & mask;; i = (i + 1) & mask) {
      const std::uint64_t e = table[i];
      if (e == 0) return -1;
      if ((e >> 32) == tag) {
        const auto slot = static_cast<std::uint32_t>(e) - 1;
        if (head(slot).key == key) return slot;
      }
    }
  }
  void insert(std::uint64_t h, std::uint32_t slot);
  void erase(std::uint64_t h, std::uint32_t slot);
  /// The table index of the entry of `slot` (hash `h`), which must be there.
  std::uint64_t entry_of(std::uint64_t h, std::uint32_t slot) const noexcept {
    std::uint64_t i = h & mask;
    while (static_cast<std::uint32_t>(table[i]) != slot + 1) i = (i + 1) & mask;
    return i;
  }
  /// Calls f(slot) for every live key.
  template <class F>
  void for_each(F&& f) const {
    for (const std::uint64_t e : table) {
      if (e != 0) f(static_cast<std::uint32_t>(e - 1));
    }
  }

  // Per-event scratch.
  /// process_one()'s event: time, then one word per slot (logical values); batches use
  /// Impl::evs.
  std::vector<std::uint64_t> ev;
  std::vector<View> acc_view;  ///< per acc
  std::vector<std::uint64_t> win_count;
  std::vector<View> bucket_view;  ///< per bucket def
};

/// The table hash of a key (fixed: iteration order never reaches an output).
inline std::uint64_t key_hash(std::uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  return k ^ (k >> 33);
}

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
  // Where the row's value is read, bound at the end of Impl::build() once the groups are
  // final: the window's event count (kWindow) and the accumulator's or bucketed window's view.
  const std::uint64_t* count = nullptr;
  const View* view = nullptr;
};

}  // namespace vigil::features_detail

namespace vigil {

struct FeatureStore::Impl {
  using Group = features_detail::Group;
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
  Micros cold_after = 0;  ///< StoreLimits::cold_after (0: keys never go cold)
  std::uint64_t budget = 0;
  std::uint64_t index_limit = 0;
  std::vector<std::string> names;
  std::vector<features_detail::OutDef> outs;
  /// process_row()'s output plan, built with `outs`: the declared features grouped by what they
  /// compute (agg_value()'s cases, each in a loop of its own); `general` takes the rest (status
  /// counts, bucketed counts, std).
  struct OutPlan {
    struct Count {
      std::uint32_t col;
      const std::uint64_t* count;
    };
    struct FromView {
      std::uint32_t col;
      const features_detail::View* view;
      double denom;
    };
    std::vector<Count> counts;
    std::vector<FromView> sums, avgs, mins, maxs, distincts;
    std::vector<std::uint32_t> general;  ///< indexes into outs
  } plan;
  std::vector<Group> groups;  ///< [0] the card group, transaction groups, then status groups
  std::size_t n_txn_groups = 0;
  std::string fingerprint;  ///< the configuration as bytes, checked by restore()

  // --- status index: trans_num hash -> keys of the status groups' key fields ---
  std::vector<Field> index_fields;
  /// The batch columns process_row() reads by row, besides the transaction groups' keys.
  std::vector<Field> row_fields;
  std::uint32_t index_stride = 0;      ///< hash word + one word per index field
  features_detail::StatusIndex index;  ///< entries: hash, then one key per index field
  /// The index holds the hashes of a version-2 snapshot (see trans_hash()).
  bool fnv_trans_hash = false;
  /// The stable hash of a trans_num that the index keys on.
  std::uint64_t trans_hash(std::string_view s) const noexcept;

  // --- stream state ---
  Micros watermark = features_detail::kNever;  ///< newest event time seen
  Micros next_sweep = features_detail::kNever;
  // The TTL sweep is logically instantaneous (at the row whose time crosses next_sweep, every
  // key idle since before `sweep_before` is gone) but done kSweepSlots record slots per row,
  // so that no row pays for a pass over all keys. Until the cursor reaches them, such keys
  // are dead in place: a row that finds one clears it (counted as evicted, like a fresh key),
  // and snapshot() / stats() / status_count() / enforce_budget() see the swept state.
  static constexpr std::uint32_t kSweepSlots = 16;
  Micros sweep_before = features_detail::kNever;  ///< kNever: no sweep in progress
  Micros sweep_mark = features_detail::kNever;    ///< watermark of the last sweep's start
  std::size_t sweep_group = 0;
  std::uint32_t sweep_slot = 0;
  bool sweep_cold = false;  ///< sweep_slot indexes the group's cold keys
  std::uint64_t charged = 0;
  FeatureStoreStats counters;  ///< late / evicted / status counters only

  // --- memos of pure functions of a row's values (a hit gives exactly the computed value) ---
  /// The event day's weekday and civil date (month * 32 + day), for hour / weekday / age.
  std::int64_t memo_day = std::numeric_limits<std::int64_t>::min();
  int memo_weekday = 0, memo_year = 0;
  unsigned memo_md = 0;
  /// Direct-mapped: dob -> civil year and month * 32 + day (cards repeat their dob).
  struct DobMemo {
    std::int32_t dob = 0;  ///< day 0 is 1970-01-01: the initial entries are valid
    std::int32_t year = 1970;
    std::uint32_t md = 1 * 32 + 1;
  };
  static constexpr std::size_t kDobMemo = 1024;
  std::vector<DobMemo> dob_memo = std::vector<DobMemo>(kDobMemo);
  /// Direct-mapped: bits of a home latitude -> haversine_cos_lat (cards repeat their home).
  struct CosMemo {
    std::uint64_t bits = 0;  ///< +0.0, whose cosine is exactly 1: the initial entries are valid
    double cos = 1.0;
  };
  static constexpr std::size_t kCosMemo = 2048;
  std::vector<CosMemo> cos_memo = std::vector<CosMemo>(kCosMemo);
  double home_cos(double lat) noexcept;
  double age_years(std::int32_t dob) noexcept;

  // --- scratch ---
  std::vector<double*> cols;
  std::vector<std::int8_t> cls;
  std::vector<std::uint32_t> slot_of;
  std::vector<std::uint64_t> distinct_scratch;
  std::vector<std::uint64_t> hashes;  ///< per txn group and row of a batch
  std::vector<std::uint64_t> keys;    ///< the keys those hashes are of, alike
  /// Each transaction group's event words (time, then one per slot: Group::ev's layout) for
  /// every row of a batch, gathered column by column (gather_events()): group gi's row i at
  /// evs[ev_base[gi] + i * (1 + slots)].
  std::vector<std::uint64_t> evs;
  std::vector<std::size_t> ev_base;
  /// Per transaction group: every row of the batch fits the group's event layout as it was
  /// before the batch (no per-row fits() check).
  std::vector<std::uint8_t> batch_fits;
  /// Group gi's event words for row `row` of the batch (gather_events()).
  std::uint64_t* batch_ev(std::size_t gi, std::size_t row) noexcept {
    return evs.data() + ev_base[gi] + row * (1 + groups[gi].slots.size());
  }
  const std::uint64_t* batch_ev(std::size_t gi, std::size_t row) const noexcept {
    return evs.data() + ev_base[gi] + row * (1 + groups[gi].slots.size());
  }
  std::vector<std::uint32_t> hints;         ///< prefetch: slot guesses per txn group and row
  std::vector<std::uint64_t> trans_hashes;  ///< trans_hash of each row of a batch (index)
  std::vector<std::uint8_t> trans_present;  ///< the row has a trans_num

  /// One transaction: row `row` of the batch process() is in (`batched`, its keys, hashes and
  /// event words gathered), or a single one (process_one()).
  template <class Row>
  bool process_row(const Row& r, std::size_t row, bool batched);
  /// Fills evs, ev_base and batch_fits for a batch.
  void gather_events(const TransactionBatch& b);
  void prefetch_table(std::size_t gi, std::uint64_t h) const;
  std::uint32_t prefetch_rec(std::size_t gi, std::uint64_t h) const;
  void prefetch_ring(std::size_t gi, std::uint32_t slot, std::size_t row) const;
  /// A distinct set (its word `dw`): its header, and the entry row `row`'s value probes first.
  void prefetch_set(std::size_t gi, std::uint64_t dw, const features_detail::AccDef& a,
                    std::size_t row) const;
  /// Bucketed windows: each def's running total (with the buckets' occupancy) and the bucket
  /// a row at time `t` adds to.
  void prefetch_buckets(std::size_t gi, std::uint32_t slot, Micros t) const;
  /// The status index slots that row `row` of the batch in process() inserts, and evicts
  /// when the index is full (`ahead`: rows between it and the row being processed).
  void prefetch_index(std::size_t row, std::size_t ahead) const;
  void on_status(const StatusChange& change);
  void advance(Micros t);
  /// Sweeps up to `slots` record slots (all when ~0u) of the sweep in progress.
  void sweep_step(std::uint32_t slots);
  /// Is this live key gone in the logical state (idle before the sweep in progress)?
  bool swept(const Group& g, std::uint32_t slot) const noexcept {
    return g.head(slot).newest < sweep_before;
  }
  /// Status events at or before this time are gone in the logical state.
  Micros status_floor(const Group& g) const noexcept {
    return sweep_mark == features_detail::kNever
               ? features_detail::kNever
               : features_detail::sat_sub(sweep_mark, g.retention);
  }
  void enforce_budget();

  std::uint32_t new_key(Group& g, std::uint64_t key, std::uint64_t h);
  void ensure_fits(Group& g, const std::uint64_t* ev);
  /// Appends an event (logical words) at the back of a ring (restore).
  void append_event(Group& g, features_detail::RecHead& s, const std::uint64_t* ev);
  void relayout(Group& g, std::size_t slot);
  void clear_key(Group& g, std::uint32_t slot);
  void erase_key(Group& g, std::uint32_t slot);
  /// Moves an idle key's record to the cold tier (see Group::cold); false when its group keeps
  /// none or its ring is inline.
  bool demote(Group& g, std::uint32_t slot);
  /// The hot slot of a cold key, its derived state rebuilt.
  std::uint32_t promote(Group& g, std::uint32_t cold_slot, std::uint64_t h);
  /// A free hot slot, its record zeroed (new_key, promote).
  std::uint32_t take_slot(Group& g);
  /// Frees a hot slot (its record cleared), and its page when that was the last key on it.
  void release_slot(Group& g, std::uint32_t slot);

  /// Adds event `ev` (logical words: time, then one per slot) to key `slot`.
  void push_in_order(Group& g, std::uint32_t slot, const std::uint64_t* ev);
  std::uint32_t insert_late(Group& g, std::uint32_t slot, const std::uint64_t* ev);
  void rebuild_mono(Group& g, std::uint32_t slot);
  /// Cursors, running sums, distinct counts and min / max queues from the key's events, as of
  /// its newest; returns the memory charge of its distinct values (16 bytes each).
  std::uint64_t rebuild_sums(Group& g, std::uint32_t slot);
  void scan_view(Group& g, std::uint32_t slot, std::uint32_t p, Micros t, std::size_t w);
  bool bucket_add(Group& g, std::uint32_t slot, std::size_t j, Micros t, std::int64_t v);
  void bucket_view(Group& g, std::uint32_t slot, std::size_t j, Micros t, bool current);

  void add_status(Group& g, std::uint64_t key, Micros t);
  std::uint64_t status_count(const Group& g, std::uint64_t key, Micros t, Micros w) const;
  /// Adds a transaction's entry (trans_num hash, then its index fields' keys) to the index.
  void index_push(const std::uint64_t* entry);

  FeatureStoreStats stats() const;
  Status snapshot(std::ostream& out) const;
  Status restore_into(std::istream& in);  ///< on a fresh Impl
};

}  // namespace vigil
