// The speed of light for the feature store: a kernel hand-specialized to bench_config() (the 8
// declared features and the 9 built-ins of bench_features.cc), bit-identical to
// vigil::FeatureStore::process on the realistic bench stream, measured on exactly the data and
// method of BM_Features_Update. It is a reference figure, like BM_Ingest_SimdjsonRaw for
// ingest, not a store: it answers "how fast could these 17 columns be, given the memory they
// touch?".
//
//   BM_Features_HandKernel/100000    100k cards, the stream of BM_Features_Update/100000: the
//                                    first 2M rows warm the kernel untimed, the next 2M timed
//   BM_Features_HandKernel/2000      the same on 2,000 cards (all state cache-resident)
//   Before timing, every warm batch's 17 columns are compared bit for bit (NaN == NaN by bits)
//   with FeatureStore::process on the same batches; any difference skips the benchmark.
//
// What makes it fast (each measured on its own in the experiment that led here):
//   - the card table's 16-byte slot holds the card block's offset and ring size, so the
//     prefetch stage fetches the whole block (header and ring) from the slot alone;
//   - a card block is a 64-byte header and a power-of-two ring held as three arrays (times,
//     cents, merchant ids), in an arena of transparent huge pages (MADV_HUGEPAGE: 4-7% at 100k
//     cards, fewer TLB misses on random card blocks);
//   - exact distinct merchants without a scan on eviction: adding a merchant marks its earlier
//     occurrence in the window (one SSE2 compare over the ring), so an evicted entry counts as
//     leaving the distinct set only when it is unmarked (the latest occurrence);
//   - merchants with up to 3 events in their hour inline in 32-byte table slots;
//   - rows in chunks of 64, software-pipelined: while chunk j is computed, the card blocks of
//     chunk j+1 and the table slots of chunk j+2 are prefetched.
//
// Limits. Anything outside them is detected (Kernel::create, Kernel::process return an error
// message) and the benchmark calls SkipWithError; nothing aborts:
//   - bench_config()'s features exactly, default StoreLimits (no idle_ttl, no memory budget);
//     the idle TTL is the store's default, 7 days plus Config::lateness;
//   - in-order streams: event times never decrease (no lateness handling at all);
//   - amounts within int32 cents, merchant ids in [1, 2^31) (0 marks an empty slot, the top
//     bit the distinct-merchant mark);
//   - at most 32,768 events in a card's 7-day window (16-bit sequence numbers, the ring size
//     a 4-bit field of the table slot) and 32 GiB of card blocks (address space reserved up
//     front);
//   - state is never freed: a card idle past the TTL is reset when it is next seen (as the
//     store forgets it, so the outputs agree), merchants and categories stay in their tables;
//   - one thread; the column layout is the store's (built-ins, then the features in order).
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "features_common.h"
#include "model/prefetch.h"
#include "model/trig.h"
#include "vigil/features.h"
#include "vigil/model.h"
#include "vigil/time.h"

namespace {

using vigil::Micros;
using vigil::bench::features::kDay;
using vigil::bench::features::kHour;
using vigil::bench::features::kMin;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kColumns = 9 + 8;

// ---- haversine: lib/model/model.cc's haversine_cos_lat / haversine_km_cos, copied so that they
// inline into the row loop: the same operations, so the same bits as long as nothing is
// fused into an FMA. The library compiles them with fp-contract=off; a `#pragma GCC optimize`
// here would keep GCC from inlining them, and the x86-64 baseline has no FMA to fuse into. On a
// target with FMA the warm-up check would see any difference.
constexpr double kEarthRadiusKm = 6371.0088;
constexpr double kRad = 3.14159265358979323846 / 180.0;
[[gnu::always_inline]] inline double cos_lat(double lat) noexcept {
  return vigil::detail::cos(lat * kRad);
}
[[gnu::always_inline]] inline double haversine_km_cos(double lat1, double lon1, double cos_lat1,
                                                      double lat2, double lon2,
                                                      double cos_lat2) noexcept {
  if (std::isnan(lat1) || std::isnan(lon1) || std::isnan(lat2) || std::isnan(lon2)) return kNaN;
  const double hdlat = (lat2 - lat1) * (kRad / 2);
  const double hdlon = (lon2 - lon1) * (kRad / 2);
  double sdlat;
  double sdlon;
  if (std::fabs(hdlat) <= vigil::detail::kPio4Hi && std::fabs(hdlon) <= vigil::detail::kPio4Hi)
      [[likely]] {
    using Double2 = double __attribute__((vector_size(16)));
    const Double2 s = vigil::detail::sin_kernel(Double2{hdlat, hdlon});
    sdlat = s[0];
    sdlon = s[1];
  } else {
    sdlat = vigil::detail::sin(hdlat);
    sdlon = vigil::detail::sin(hdlon);
  }
  const double a = sdlat * sdlat + cos_lat1 * cos_lat2 * sdlon * sdlon;
  return 2 * kEarthRadiusKm * vigil::detail::asin_sqrt(a > 1.0 ? 1.0 : a);
}

// ---- memory ------------------------------------------------------------------------------

// An anonymous private mapping, advised to transparent huge pages (on machines where THP is
// "madvise", only such regions get them). Address space is reserved lazily (MAP_NORESERVE):
// only touched pages cost memory. Unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  explicit Mapping(std::size_t bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;
    madvise(p, bytes, MADV_HUGEPAGE);  // advice only; worth 4-7% at 100k cards
    data_ = static_cast<char*>(p);
    size_ = bytes;
  }
  Mapping(Mapping&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      unmap();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { unmap(); }
  char* data() const noexcept { return data_; }
  // Gives up ownership: the caller unmaps.
  char* release() noexcept {
    size_ = 0;
    return std::exchange(data_, nullptr);
  }
  std::size_t size() const noexcept { return size_; }
  explicit operator bool() const noexcept { return data_ != nullptr; }

 private:
  void unmap() noexcept {
    if (data_ != nullptr) munmap(data_, size_);
  }
  char* data_ = nullptr;
  std::size_t size_ = 0;
};

// The tables' allocator: huge-page mappings from 1 MiB up (a 100k-card table is 4 MiB),
// operator new below.
template <class T>
struct HugeAlloc {
  using value_type = T;
  static constexpr std::size_t kMapFrom = std::size_t{1} << 20;
  HugeAlloc() = default;
  template <class U>
  HugeAlloc(const HugeAlloc<U>&) noexcept {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kMapFrom) return static_cast<T*>(::operator new(bytes));
    Mapping m(bytes);
    if (!m) throw std::bad_alloc();
    return reinterpret_cast<T*>(m.release());  // unmapped by deallocate
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kMapFrom) {
      ::operator delete(p);
    } else {
      munmap(p, bytes);
    }
  }
  template <class U>
  bool operator==(const HugeAlloc<U>&) const noexcept {
    return true;
  }
};

// Blocks of merchant and category rings: bump allocation in 64 MiB huge-page chunks, a free
// list per size (sizes are multiples of kAlign). nullptr when the system has no more memory.
class BlockArena {
 public:
  static constexpr std::size_t kAlign = 32;
  static constexpr std::size_t kChunk = std::size_t{64} << 20;
  void* alloc(std::size_t bytes) {
    const std::size_t k = bytes / kAlign;
    if (k < free_.size() && !free_[k].empty()) {
      void* p = free_[k].back();
      free_[k].pop_back();
      return p;
    }
    if (left_ < bytes) {
      Mapping m(std::max(bytes, kChunk));
      if (!m) return nullptr;
      cur_ = m.data();
      left_ = m.size();
      chunks_.push_back(std::move(m));
    }
    void* p = cur_;
    cur_ += bytes;
    left_ -= bytes;
    return p;
  }
  void free(void* p, std::size_t bytes) {
    const std::size_t k = bytes / kAlign;
    if (k >= free_.size()) free_.resize(k + 1);
    free_[k].push_back(p);
  }
  // Bytes handed out (live and free-listed blocks).
  std::size_t used() const {
    std::size_t s = 0;
    for (const Mapping& m : chunks_) s += m.size();
    return s - left_;
  }

 private:
  char* cur_ = nullptr;
  std::size_t left_ = 0;
  std::vector<Mapping> chunks_;
  std::vector<std::vector<void*>> free_;
};

using vigil::detail::prefetch;

inline std::uint64_t mix(std::uint64_t k) {
  k *= 0x9E3779B97F4A7C15ull;
  return k ^ (k >> 29);
}

// ---- cards -------------------------------------------------------------------------------

// A card block: this 64-byte header, then a ring of 2^lg events as three arrays: times (8 B),
// cents (4 B), merchant ids (4 B). Merchant entries outside the window are 0; an entry with the
// top bit set has a later occurrence of the same merchant in the window (only the latest
// occurrence of each merchant is unmarked, so the unmarked entries are the distinct set).
constexpr std::uint32_t kMarked = 0x80000000u;
struct alignas(64) Card {
  Micros newest;
  double plat, plon, pcos;  // the newest event's merchant coordinates, cos(plat)
  std::int64_t sum24, sum7;
  // Free-running sequence numbers mod 2^16 of the window starts (beg: 7d) and the end.
  std::uint16_t beg, end, c1m, c1h, c24;
  std::uint16_t distinct;
  std::uint8_t lg;
  std::uint32_t cap() const { return 1u << lg; }
  std::uint32_t mask() const { return cap() - 1; }
  Micros* ts() { return reinterpret_cast<Micros*>(this + 1); }
  std::int32_t* cents() { return reinterpret_cast<std::int32_t*>(ts() + cap()); }
  std::uint32_t* merch() { return reinterpret_cast<std::uint32_t*>(cents() + cap()); }
  std::uint16_t size() const { return static_cast<std::uint16_t>(end - beg); }
  static std::size_t bytes(unsigned lg) { return sizeof(Card) + (std::size_t{16} << lg); }
};
static_assert(sizeof(Card) == 64);
constexpr unsigned kCardMinLg = 3;   // the SSE2 compare reads 8 merchant ids at a time
constexpr unsigned kCardMaxLg = 15;  // 16-bit sequence numbers; a 4-bit field of the slot

// Card blocks live in one reserved region, named by 64-byte offsets (32 bits: up to 256 GiB,
// reserved 32 GiB); a free list per ring size. Offset 0 is never a card.
class CardArena {
 public:
  static constexpr std::size_t kReserve = std::size_t{32} << 30;  // address space only
  CardArena() : mem_(kReserve) {}
  bool ok() const { return static_cast<bool>(mem_); }
  char* base() const { return mem_.data(); }
  // 0 when the reservation is full.
  std::uint32_t alloc(unsigned lg) {
    if (lg < free_.size() && !free_[lg].empty()) {
      const std::uint32_t o = free_[lg].back();
      free_[lg].pop_back();
      return o;
    }
    const std::size_t bytes = Card::bytes(lg);
    if (used_ + bytes > kReserve) return 0;
    const std::size_t o = used_;
    used_ += bytes;
    return static_cast<std::uint32_t>(o / 64);
  }
  void free(std::uint32_t off, unsigned lg) {
    if (lg >= free_.size()) free_.resize(lg + 1);
    free_[lg].push_back(off);
  }
  std::size_t used() const { return used_; }

 private:
  Mapping mem_;
  std::size_t used_ = 64;
  std::vector<std::vector<std::uint32_t>> free_;
};

// Open addressing, linear probing: the card, merchant and category tables. A Slot has a `key`
// and says whether it is used() (a zeroed slot is not).
template <class Slot>
class LinearTable {
 public:
  explicit LinearTable(std::size_t cap) : s_(cap, Slot{}), mask_(cap - 1) {}
  using Key = decltype(Slot::key);
  std::size_t probe(Key key, std::uint64_t h) const {
    std::size_t i = h & mask_;
    while (s_[i].used() && s_[i].key != key) i = (i + 1) & mask_;
    return i;
  }
  const Slot* home(std::uint64_t h) const { return &s_[h & mask_]; }
  const Slot& at(std::size_t i) const { return s_[i]; }
  // The slot of key; a fresh one (not used, key set) when absent.
  Slot* find_or_add(Key key, std::uint64_t h) {
    Slot* x = &s_[probe(key, h)];
    if (x->used()) return x;
    if ((n_ + 1) * 2 > s_.size()) {
      grow();
      x = &s_[probe(key, h)];
    }
    ++n_;
    x->key = key;
    return x;
  }
  const std::vector<Slot, HugeAlloc<Slot>>& slots() const { return s_; }
  std::size_t size() const { return n_; }
  std::size_t bytes() const { return s_.size() * sizeof(Slot); }

 private:
  void grow() {
    std::vector<Slot, HugeAlloc<Slot>> old(s_.size() * 2, Slot{});
    old.swap(s_);
    mask_ = s_.size() - 1;
    for (const Slot& x : old) {
      if (x.used()) s_[probe(x.key, mix(x.key))] = x;
    }
  }
  std::vector<Slot, HugeAlloc<Slot>> s_;
  std::uint64_t mask_;
  std::size_t n_ = 0;
};

// The card table: open addressing, linear probing, 16-byte slots {key, w} with
// w = offset (32 bits) | lg << 32; w == 0: empty. The prefetch stage finds the whole card
// block, whose size is 64 + 16 << lg bytes, from the slot alone.
struct CardSlot {
  std::uint64_t key;
  std::uint64_t w;
  bool used() const { return w != 0; }
};
using CardTable = LinearTable<CardSlot>;

// Index of the entry equal to v in a[0, n) (n a multiple of 8, a 16-byte aligned), or -1.
inline int find_merchant(const std::uint32_t* a, std::uint32_t n, std::uint32_t v) {
#if defined(__SSE2__)
  const __m128i key = _mm_set1_epi32(static_cast<int>(v));
  for (std::uint32_t j = 0; j < n; j += 8) {
    const __m128i x0 =
        _mm_cmpeq_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(a + j)), key);
    const __m128i x1 =
        _mm_cmpeq_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(a + j + 4)), key);
    const int mk =
        _mm_movemask_ps(_mm_castsi128_ps(x0)) | (_mm_movemask_ps(_mm_castsi128_ps(x1)) << 4);
    if (mk != 0) return static_cast<int>(j) + std::countr_zero(static_cast<unsigned>(mk));
  }
  return -1;
#else
  for (std::uint32_t j = 0; j < n; ++j) {
    if (a[j] == v) return static_cast<int>(j);
  }
  return -1;
#endif
}

// ---- merchants (count 1h) and categories (avg amount 1h) ------------------------------------

// A ring of 2^lg elements after a header; sequence numbers are free-running.
template <class E>
struct alignas(16) Ring {
  std::int64_t sum;  // categories: the window's cents
  std::uint32_t beg, end;
  std::uint8_t lg;
  E* ev() { return reinterpret_cast<E*>(this + 1); }
  E& at(std::uint32_t seq) { return ev()[seq & ((1u << lg) - 1)]; }
  std::uint32_t size() const { return end - beg; }
  static std::size_t bytes(unsigned lg) {
    constexpr std::size_t a = BlockArena::kAlign;
    return (sizeof(Ring) + (sizeof(E) << lg) + a - 1) & ~(a - 1);
  }
};
struct CatEvent {
  Micros t;
  std::int64_t cents;
};
using MerchRing = Ring<Micros>;
using CatRing = Ring<CatEvent>;

// A merchant's table slot (32 bytes): up to 3 window times inline, oldest first; past that
// an external ring (its pointer in t[0]). key 0 = empty.
struct MerchSlot {
  std::uint32_t key;
  std::uint8_t n;    // inline times held
  std::uint8_t ext;  // 1: t[0] holds a MerchRing*
  std::uint16_t pad;
  Micros t[3];
  MerchRing* ring() const {
    MerchRing* r;
    std::memcpy(&r, &t[0], sizeof r);
    return r;
  }
  void set_ring(MerchRing* r) { std::memcpy(&t[0], &r, sizeof r); }
  bool used() const { return key != 0; }
};
static_assert(sizeof(MerchSlot) == 32);

struct CatSlot {
  std::uint32_t key;
  CatRing* ring;
  bool used() const { return key != 0; }
};

// ---- the kernel ----------------------------------------------------------------------------

bool same_spec(const vigil::FeatureSpec& a, const vigil::FeatureSpec& b) {
  return a.name == b.name && a.key == b.key && a.agg == b.agg && a.field == b.field &&
         a.window == b.window && a.granularity == b.granularity && a.events == b.events;
}

struct KernelMemory {
  std::size_t cards = 0, keys = 0;
  std::size_t events_held = 0;  // card (7d), merchant (1h) and category (1h) windows
  std::size_t key_bytes = 0;    // tables and block headers
  std::size_t event_bytes = 0;  // ring arrays (capacity)
  std::size_t used_bytes = 0;   // tables and arenas as bumped (free-listed blocks included)
};

class Kernel {
 public:
  // The kernel for `cfg`, or why it cannot compute it (see the limits at the top).
  static std::unique_ptr<Kernel> create(const vigil::Config& cfg, std::string& error) {
    const vigil::Config want = vigil::bench::features::bench_config();
    bool same = cfg.features.size() == want.features.size();
    for (std::size_t j = 0; same && j < want.features.size(); ++j) {
      same = same_spec(cfg.features[j], want.features[j]);
    }
    if (!same) {
      error = "the hand kernel computes bench_config()'s features only";
      return nullptr;
    }
    if (cfg.limits.idle_ttl != 0 || cfg.limits.memory_budget != 0) {
      error = "the hand kernel supports the default idle TTL and no memory budget only";
      return nullptr;
    }
    // The store's default TTL: the longest window plus lateness, at least 7 days.
    std::unique_ptr<Kernel> k(new Kernel(std::max(7 * kDay + cfg.lateness, 7 * kDay)));
    if (!k->card_mem_.ok()) {
      error = "could not reserve address space for the card arena";
      return nullptr;
    }
    return k;
  }

  // The 17 columns of `b` into `m`, or false (error() says why) on input outside the limits;
  // the kernel is then unusable.
  [[nodiscard]] bool process(const vigil::TransactionBatch& b, vigil::FeatureMatrix& m);
  const std::string& error() const { return error_; }
  std::uint64_t expired_cards() const { return expired_; }

  KernelMemory memory() const {
    KernelMemory r;
    r.cards = cards_.size();
    r.keys = cards_.size() + merchants_.size() + cats_.size();
    r.key_bytes = cards_.bytes() + merchants_.bytes() + cats_.bytes();
    for (const CardSlot& x : cards_.slots()) {
      if (x.w == 0) continue;
      const Card* k = card_at(x.w);
      r.events_held += k->size();
      r.key_bytes += sizeof(Card);
      r.event_bytes += Card::bytes(k->lg) - sizeof(Card);
    }
    for (const MerchSlot& x : merchants_.slots()) {
      if (x.key == 0) continue;
      if (x.ext) {
        const MerchRing* q = x.ring();
        r.events_held += q->size();
        r.key_bytes += sizeof(MerchRing);
        r.event_bytes += MerchRing::bytes(q->lg) - sizeof(MerchRing);
      } else {
        r.events_held += x.n;  // inline: counted in the table's bytes
      }
    }
    for (const CatSlot& x : cats_.slots()) {
      if (x.key == 0) continue;
      r.events_held += x.ring->size();
      r.key_bytes += sizeof(CatRing);
      r.event_bytes += CatRing::bytes(x.ring->lg) - sizeof(CatRing);
    }
    r.used_bytes =
        card_mem_.used() + blocks_.used() + cards_.bytes() + merchants_.bytes() + cats_.bytes();
    return r;
  }

 private:
  static constexpr std::size_t kChunk = 64;  // rows per pipeline stage
  static constexpr std::size_t kCosMemo = 2048, kDobMemo = 4096;

  explicit Kernel(Micros ttl) : ttl_(ttl), cards_(1 << 12), merchants_(1 << 10), cats_(64) {
    cos_memo_.assign(kCosMemo, CosMemo{~0ull, 0});
    dob_memo_.assign(kDobMemo, DobMemo{vigil::kNoDate, 0, 0});
  }

  bool fail(const char* why) {
    error_ = why;
    return false;
  }

  // Card blocks by offset; the table slot's w.
  Card* card_at(std::uint64_t w) const {
    return reinterpret_cast<Card*>(card_mem_.base() + (w & 0xffffffffu) * 64);
  }
  std::uint32_t offset_of(const Card* k) const {
    return static_cast<std::uint32_t>((reinterpret_cast<const char*>(k) - card_mem_.base()) / 64);
  }
  std::uint64_t slot_word(const Card* k) const { return offset_of(k) | std::uint64_t{k->lg} << 32; }
  Card* card_alloc(unsigned lg) {
    const std::uint32_t off = card_mem_.alloc(lg);
    if (off == 0) return nullptr;
    Card* k = reinterpret_cast<Card*>(card_mem_.base() + std::size_t{off} * 64);
    std::memset(static_cast<void*>(k), 0, sizeof(Card));
    k->lg = static_cast<std::uint8_t>(lg);
    std::memset(k->merch(), 0, std::size_t{4} << lg);
    return k;
  }
  // Doubles a full ring (events keep their sequence numbers); nullptr when the arena is full.
  Card* card_grow(Card* o) {
    Card* k = card_alloc(o->lg + 1u);
    if (k == nullptr) return nullptr;
    const std::uint8_t lg = k->lg;
    std::memcpy(static_cast<void*>(k), o, sizeof(Card));
    k->lg = lg;
    const std::uint32_t om = o->mask(), nm = k->mask();
    for (std::uint16_t s = o->beg; s != o->end; ++s) {
      k->ts()[s & nm] = o->ts()[s & om];
      k->cents()[s & nm] = o->cents()[s & om];
      k->merch()[s & nm] = o->merch()[s & om];
    }
    card_mem_.free(offset_of(o), o->lg);
    return k;
  }
  template <class R>
  R* ring_alloc(unsigned lg) {
    void* p = blocks_.alloc(R::bytes(lg));
    if (p == nullptr) return nullptr;
    std::memset(p, 0, sizeof(R));
    R* r = static_cast<R*>(p);
    r->lg = static_cast<std::uint8_t>(lg);
    return r;
  }
  template <class R>
  R* ring_grow(R* o) {
    R* r = ring_alloc<R>(o->lg + 1u);
    if (r == nullptr) return nullptr;
    const std::uint8_t lg = r->lg;
    std::memcpy(static_cast<void*>(r), o, sizeof(R));
    r->lg = lg;
    for (std::uint32_t s = o->beg; s != o->end; ++s) r->at(s) = o->at(s);
    blocks_.free(o, R::bytes(o->lg));
    return r;
  }

  // Input the kernel does not handle, checked per batch before any state changes.
  bool check_batch(const vigil::TransactionBatch& b) {
    Micros last = watermark_;
    bool in_order = true, cents_ok = true, merchants_ok = true;
    for (std::size_t i = 0; i < b.size(); ++i) {
      in_order &= b.time[i] >= last;
      last = b.time[i];
      cents_ok &= b.amt_cents[i] == static_cast<std::int32_t>(b.amt_cents[i]);
      merchants_ok &= b.merchant[i] != 0 && b.merchant[i] < kMarked;
    }
    if (!in_order) return fail("the hand kernel needs an in-order stream (a time decreased)");
    if (!cents_ok) return fail("the hand kernel holds amounts as int32 cents (one is larger)");
    if (!merchants_ok) return fail("the hand kernel needs merchant ids in [1, 2^31)");
    return true;
  }

  struct CosMemo {
    std::uint64_t bits;
    double cos;
  };
  struct DobMemo {
    std::int32_t dob;
    int year;
    unsigned md;
  };
  // cos(lat) of a card's home: few distinct values, computed once each.
  double home_cos(double lat) {
    const auto bits = std::bit_cast<std::uint64_t>(lat);
    CosMemo& c = cos_memo_[(bits * 0x9e3779b97f4a7c15ull) >> 53];
    if (c.bits != bits) {
      c.bits = bits;
      c.cos = cos_lat(lat);
    }
    return c.cos;
  }
  // Whole years from dob to the current row's date (birthday rule, as the store).
  double age(std::int32_t dob) {
    if (dob == vigil::kNoDate) return kNaN;
    DobMemo& d = dob_memo_[static_cast<std::uint32_t>(dob) & (kDobMemo - 1)];
    if (d.dob != dob) {
      const vigil::CivilDate born = vigil::civil_from_days(dob);
      d.dob = dob;
      d.year = born.year;
      d.md = born.month * 32 + born.day;
    }
    return memo_year_ - d.year - (memo_md_ < d.md ? 1 : 0);
  }

  Micros ttl_;
  std::string error_;
  std::uint64_t expired_ = 0;
  CardArena card_mem_;
  BlockArena blocks_;
  CardTable cards_;
  LinearTable<MerchSlot> merchants_;
  LinearTable<CatSlot> cats_;
  std::vector<CosMemo> cos_memo_;
  std::vector<DobMemo> dob_memo_;
  Micros watermark_ = std::numeric_limits<Micros>::min();
  std::int64_t memo_day_ = std::numeric_limits<std::int64_t>::min();
  int memo_weekday_ = 0, memo_year_ = 0;
  unsigned memo_md_ = 0;
  std::vector<std::uint64_t> card_hash_, merch_hash_;
};

bool Kernel::process(const vigil::TransactionBatch& b, vigil::FeatureMatrix& m) {
  if (!error_.empty()) return false;
  if (!check_batch(b)) return false;
  m.reset(kColumns, b.capacity());
  const std::size_t n = b.size();
  double* c[kColumns];
  for (std::size_t j = 0; j < kColumns; ++j) c[j] = m.column(j);
  const Micros* time = b.time.data();
  const std::uint64_t* cc = b.cc_num.data();
  const vigil::StrId* mer = b.merchant.data();
  card_hash_.resize(n);
  merch_hash_.resize(n);
  for (std::size_t i = 0; i < n; ++i) card_hash_[i] = mix(cc[i]);
  for (std::size_t i = 0; i < n; ++i) merch_hash_[i] = mix(mer[i]);

  // Prefetch stage 1: the table slots of a row's card and merchant.
  auto fetch_slots = [&](std::size_t i) {
    prefetch(cards_.home(card_hash_[i]));
    prefetch(merchants_.home(merch_hash_[i]));
  };
  // Prefetch stage 2 (the slots now cached): the card's whole block, the merchant's ring.
  auto fetch_blocks = [&](std::size_t i) {
    if (const std::uint64_t w = cards_.at(cards_.probe(cc[i], card_hash_[i])).w) {
      const char* p = reinterpret_cast<const char*>(card_at(w));
      const std::size_t bytes = Card::bytes((w >> 32) & 15);
      for (std::size_t o = 0; o < bytes; o += 64) prefetch(p + o);
    }
    const MerchSlot& x = merchants_.at(merchants_.probe(mer[i], merch_hash_[i]));
    if (x.key != 0 && x.ext) {
      const char* r = reinterpret_cast<const char*>(x.ring());
      prefetch(r);
      prefetch(r + 64);
    }
  };

  auto row = [&](std::size_t i) __attribute__((always_inline))->bool {
    const Micros t = time[i];
    watermark_ = t;  // (in order: check_batch)
    const std::int64_t cents64 = b.amt_cents[i];
    c[0][i] = static_cast<double>(cents64) / 100.0;
    const std::int64_t day = vigil::floor_div(t, kDay);
    if (day != memo_day_) {
      const vigil::CivilDate now = vigil::civil_from_days(day);
      memo_day_ = day;
      memo_weekday_ = vigil::weekday_of(t);
      memo_year_ = now.year;
      memo_md_ = now.month * 32 + now.day;
    }
    c[1][i] = static_cast<double>((t - day * kDay) / kHour);
    c[2][i] = memo_weekday_;
    c[3][i] = age(b.dob[i]);
    const std::uint32_t pop = b.city_pop[i];
    c[4][i] = pop == 0 ? kNaN : static_cast<double>(pop);
    const double mlat = b.merch_lat[i], mlon = b.merch_lon[i];
    const double cos_mlat = cos_lat(mlat);
    c[5][i] = haversine_km_cos(b.lat[i], b.lon[i], home_cos(b.lat[i]), mlat, mlon, cos_mlat);

    // ---- the card: built-ins since the previous event, then its 6 window features
    const auto cents = static_cast<std::int32_t>(cents64);
    const std::uint32_t merch = mer[i];
    CardSlot* cs = cards_.find_or_add(cc[i], card_hash_[i]);
    Card* k = cs->w != 0 ? card_at(cs->w) : nullptr;
    bool has_prev = false;
    if (k == nullptr) {
      k = card_alloc(kCardMinLg);
      if (k == nullptr) return fail("the hand kernel's card arena (32 GiB) is full");
    } else if (k->newest < watermark_ - ttl_) {
      ++expired_;  // idle past the TTL: the store forgets the key, so the kernel resets it
      k->beg = k->c1m = k->c1h = k->c24 = k->end;
      k->sum24 = k->sum7 = 0;
      k->distinct = 0;
      std::memset(k->merch(), 0, std::size_t{4} * k->cap());
    } else {
      has_prev = true;
    }
    if (has_prev) {
      const double secs = static_cast<double>(t - k->newest) / 1e6;
      const double km = haversine_km_cos(k->plat, k->plon, k->pcos, mlat, mlon, cos_mlat);
      c[6][i] = secs;
      c[7][i] = km;
      c[8][i] = km / (std::max(secs, 1.0) / 3600.0);
    } else {
      c[6][i] = c[7][i] = c[8][i] = kNaN;
    }
    if (k->size() == k->cap()) [[unlikely]] {
      static_assert((1u << kCardMaxLg) == 32768);
      if (k->lg == kCardMaxLg) {
        return fail(
            "a card holds more than 32768 events in its 7-day window (the hand "
            "kernel's ring limit)");
      }
      k = card_grow(k);
      if (k == nullptr) return fail("the hand kernel's card arena (32 GiB) is full");
    }
    const std::uint32_t mask = k->mask();
    Micros* ts = k->ts();
    std::int32_t* ce = k->cents();
    std::uint32_t* me = k->merch();
    // Distinct merchants: the latest occurrence of this merchant in the window, if any, gets
    // marked (it is no longer the latest); a new merchant counts one more.
    std::uint32_t distinct = k->distinct;
    const int p = find_merchant(me, k->cap(), merch);
    if (p >= 0) {
      me[p] |= kMarked;
    } else {
      ++distinct;
    }
    const std::uint32_t e = k->end & mask;
    ts[e] = t;
    ce[e] = cents;
    me[e] = merch;
    const auto end = static_cast<std::uint16_t>(k->end + 1);
    k->end = end;
    k->newest = t;
    k->plat = mlat;
    k->plon = mlon;
    k->pcos = cos_mlat;
    std::uint16_t s = k->c1m;
    while (ts[s & mask] <= t - kMin) ++s;
    k->c1m = s;
    c[9][i] = static_cast<double>(static_cast<std::uint16_t>(end - s));
    s = k->c1h;
    while (ts[s & mask] <= t - kHour) ++s;
    k->c1h = s;
    c[10][i] = static_cast<double>(static_cast<std::uint16_t>(end - s));
    s = k->c24;
    std::int64_t sum24 = k->sum24 + cents;
    while (ts[s & mask] <= t - kDay) sum24 -= ce[s++ & mask];
    k->c24 = s;
    k->sum24 = sum24;
    std::int32_t mx = std::numeric_limits<std::int32_t>::min();
    for (std::uint16_t q = s; q != end; ++q) mx = std::max(mx, ce[q & mask]);
    s = k->beg;
    std::int64_t sum7 = k->sum7 + cents;
    while (ts[s & mask] <= t - 7 * kDay) {
      const std::uint32_t q = s & mask;
      sum7 -= ce[q];
      distinct -= me[q] < kMarked ? 1 : 0;  // the latest occurrence of its merchant leaves
      me[q] = 0;
      ++s;
    }
    k->beg = s;
    k->sum7 = sum7;
    k->distinct = static_cast<std::uint16_t>(distinct);
    c[11][i] = static_cast<double>(sum24) / 100.0;
    c[12][i] = static_cast<double>(sum7) / 100.0 / static_cast<double>(k->size());
    c[13][i] = static_cast<double>(mx) / 100.0;
    c[14][i] = static_cast<double>(distinct);
    cs->w = slot_word(k);

    // ---- the merchant: count 1h, inline while it holds at most 3 events
    MerchSlot* ms = merchants_.find_or_add(merch, merch_hash_[i]);
    if (!ms->ext) {
      std::uint32_t held = ms->n, gone = 0;
      while (gone < held && ms->t[gone] <= t - kHour) ++gone;
      if (gone != 0) {
        for (std::uint32_t q = gone; q < held; ++q) ms->t[q - gone] = ms->t[q];
        held -= gone;
      }
      if (held < 3) {
        ms->t[held++] = t;
        ms->n = static_cast<std::uint8_t>(held);
        c[15][i] = static_cast<double>(held);
      } else {
        MerchRing* r = ring_alloc<MerchRing>(3);
        if (r == nullptr) return fail("out of memory for the hand kernel's merchant rings");
        for (std::uint32_t q = 0; q < 3; ++q) r->at(q) = ms->t[q];
        r->end = 3;
        ms->set_ring(r);
        ms->ext = 1;
        ms->n = 0;
      }
    }
    if (ms->ext) {
      MerchRing* r = ms->ring();
      if (r->size() == (1u << r->lg)) {
        r = ring_grow(r);
        if (r == nullptr) return fail("out of memory for the hand kernel's merchant rings");
        ms->set_ring(r);
      }
      r->at(r->end++) = t;
      std::uint32_t q = r->beg;
      while (r->at(q) <= t - kHour) ++q;
      r->beg = q;
      c[15][i] = static_cast<double>(r->size());
    }

    // ---- the category: average amount 1h
    const std::uint32_t cat = b.category[i];
    CatSlot* ks = cats_.find_or_add(cat, mix(cat));
    CatRing* r = ks->ring;
    if (r == nullptr) {
      r = ks->ring = ring_alloc<CatRing>(6);
      if (r == nullptr) return fail("out of memory for the hand kernel's category rings");
    }
    if (r->size() == (1u << r->lg)) {
      r = ks->ring = ring_grow(r);
      if (r == nullptr) return fail("out of memory for the hand kernel's category rings");
    }
    r->at(r->end++) = CatEvent{t, cents64};
    std::int64_t sum = r->sum + cents64;
    std::uint32_t q = r->beg;
    while (r->at(q).t <= t - kHour) sum -= r->at(q++).cents;
    r->beg = q;
    r->sum = sum;
    c[16][i] = static_cast<double>(sum) / 100.0 / static_cast<double>(r->size());
    return true;
  };

  // Software-pipelined chunks: while chunk j is computed, the blocks of chunk j+1 (from slots
  // fetched a chunk earlier) and the slots of chunk j+2 are on their way.
  auto slots = [&](std::size_t from) {
    for (std::size_t i = from, e = std::min(n, from + kChunk); i < e; ++i) fetch_slots(i);
  };
  auto blocks = [&](std::size_t from) {
    for (std::size_t i = from, e = std::min(n, from + kChunk); i < e; ++i) fetch_blocks(i);
  };
  slots(0);
  slots(kChunk);
  blocks(0);
  for (std::size_t base = 0; base < n; base += kChunk) {
    if (base + 2 * kChunk < n) slots(base + 2 * kChunk);
    if (base + kChunk < n) blocks(base + kChunk);
    for (std::size_t i = base, e = std::min(n, base + kChunk); i < e; ++i) {
      if (!row(i)) [[unlikely]]
        return false;
    }
  }
  m.set_rows(n);
  return true;
}

// ---- the benchmark -------------------------------------------------------------------------

// Every warm batch's 17 columns from the kernel against FeatureStore::process, bit for bit
// (NaN == NaN by bits). Warms the kernel as it goes. An empty string when identical.
std::string warm_and_compare(Kernel& kernel, const vigil::bench::features::Data& d) {
  vigil::Dictionary dict;
  auto store = vigil::FeatureStore::create(vigil::bench::features::bench_config(), dict);
  if (!store.ok()) return "the store rejected bench_config()";
  vigil::FeatureMatrix want, got;
  for (std::size_t bi = 0; bi < d.warm.size(); ++bi) {
    const vigil::TransactionBatch& b = d.warm[bi];
    if (!store->process(b, want).ok()) return "the store failed on a warm batch";
    if (!kernel.process(b, got)) return kernel.error();
    if (want.columns() != kColumns || want.rows() != b.size() || got.rows() != b.size()) {
      return "the store's matrix is not 17 columns of the batch's rows";
    }
    for (std::size_t j = 0; j < kColumns; ++j) {
      if (std::memcmp(want.column(j), got.column(j), b.size() * sizeof(double)) != 0) {
        return "the hand kernel differs from FeatureStore::process in warm batch " +
               std::to_string(bi) + ", column " + std::to_string(j);
      }
    }
  }
  return {};
}

void report_kernel_memory(benchmark::State& state, const Kernel& kernel, double cards) {
  const KernelMemory mem = kernel.memory();
  vigil::bench::features::report_bytes(state, mem.keys, mem.events_held, mem.key_bytes,
                                       mem.event_bytes, cards);
  state.counters["MB_total"] = static_cast<double>(mem.key_bytes + mem.event_bytes) / 1e6;
  state.counters["MB_used"] = static_cast<double>(mem.used_bytes) / 1e6;
  state.counters["expired_cards"] = static_cast<double>(kernel.expired_cards());
}

// The speed of light of BM_Features_Update: same data, same warm / timed split, the kernel
// checked bit for bit against the store on the warm half first (untimed).
void BM_Features_HandKernel(benchmark::State& state) {
  const auto cards = static_cast<std::size_t>(state.range(0));
  const vigil::bench::features::Data& d = vigil::bench::features::data(cards);
  const vigil::Config cfg = vigil::bench::features::bench_config();
  vigil::FeatureMatrix m;
  std::unique_ptr<Kernel> kernel;
  for (auto _ : state) {
    state.PauseTiming();
    kernel.reset();  // (the previous iteration's arenas are returned first)
    std::string error;
    kernel = Kernel::create(cfg, error);
    if (kernel == nullptr) {
      state.SkipWithError(error.c_str());
      return;
    }
    error = warm_and_compare(*kernel, d);
    if (!error.empty()) {
      state.SkipWithError(error.c_str());
      return;
    }
    state.ResumeTiming();
    for (const auto& b : d.timed) {
      if (!kernel->process(b, m)) [[unlikely]] {
        state.SkipWithError(kernel->error().c_str());
        return;
      }
      benchmark::DoNotOptimize(m.column(0));
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * d.timed_rows));
  report_kernel_memory(state, *kernel, static_cast<double>(cards));
}
BENCHMARK(BM_Features_HandKernel)
    ->Arg(100'000)
    ->Arg(2'000)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
