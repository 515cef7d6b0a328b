// Internal: the feature store's status index — trans_num hash -> the keys that a later status
// change of that transaction needs (its card, merchant … as the status features' key fields
// give them), for the newest `limit` transactions.
//
// Every transaction of a store with status features adds an entry, so this is on the hot path:
// entries are `stride` words (the hash, then one key per index field) in a FIFO ring, and a
// linear-probing table of 8-byte slots finds the newest entry of a hash in one line, where it
// can be prefetched rows ahead. A slot holds the hash's low 32 bits (its tag, which also gives
// its home slot) and the entry's ring position + 1; the full hash stays in the ring, where a tag
// match is confirmed, so two hashes with the same tag are told apart exactly. Eight slots a line
// instead of four halve the table (16 MB at 2^20 entries) and make probe runs that cross into an
// unprefetched line rarer. Erase is by backward shift (no tombstones), so a table that sees a
// million inserts and evictions never degrades.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/prefetch.h"

namespace vigil::features_detail {

class StatusIndex {
 public:
  /// An empty index of `stride` words per entry keeping at most `limit` entries; a limit above
  /// 2^31 keeps 2^31 (slots hold ring positions and tags in 32 bits).
  void init(std::uint32_t stride, std::uint64_t limit) {
    stride_ = stride;
    limit_ = std::min(limit, kMaxLimit);
    ring_.clear();
    table_.clear();
    cap_ = head_ = size_ = used_ = front_ = 0;
    mask_ = 0;
  }

  std::uint64_t size() const noexcept { return size_; }
  std::uint64_t limit() const noexcept { return limit_; }
  /// Sequence number of the oldest entry (entries are numbered 0, 1, 2 … in arrival order).
  std::uint64_t front() const noexcept { return front_; }
  /// Sets the oldest entry's sequence number of an empty index (restore).
  void set_front(std::uint64_t f) noexcept { front_ = f; }

  /// The i-th oldest entry, i < size().
  const std::uint64_t* entry(std::uint64_t i) const noexcept {
    std::uint64_t pos = head_ + i;
    if (pos >= cap_) pos -= cap_;
    return at(pos);
  }

  /// The newest entry whose hash is `hash`, or nullptr.
  const std::uint64_t* find(std::uint64_t hash) const noexcept {
    if (table_.empty()) return nullptr;
    const Slot s = table_[probe(hash)];
    return s.pos1 == 0 ? nullptr : at(s.pos1 - 1);
  }

  /// Appends an entry (`words[0]` is its hash); when the index holds `limit` entries the oldest
  /// leaves first. Returns whether one left. No-op when the limit is 0.
  bool push(const std::uint64_t* words) {
    if (limit_ == 0) return false;
    bool evicted = false;
    if (size_ >= limit_) {
      pop_front();
      evicted = true;
    }
    if (size_ == cap_) grow_ring();
    std::uint64_t pos = head_ + size_;
    if (pos >= cap_) pos -= cap_;
    std::uint64_t* const dst = ring_.data() + pos * stride_;
    for (std::uint32_t k = 0; k < stride_; ++k) dst[k] = words[k];  // a word or three
    ++size_;
    if ((used_ + 1) * 2 > table_.size()) grow_table();  // load <= 1/2: short probe runs
    put(words[0], pos);
    return evicted;
  }

  /// Starts loading the table line a push or find of `hash` probes first.
  void prefetch(std::uint64_t hash) const noexcept {
    if (!table_.empty()) detail::prefetch(&table_[hash & mask_]);
  }
  /// When full, each push evicts the oldest entry: the table line of the entry evicted
  /// `ahead` pushes from now. (Reading that entry's hash also brings in the ring line the
  /// eviction reads; the eviction reads no other entry.)
  void prefetch_evict(std::uint64_t ahead) const noexcept {
    if (size_ >= limit_ && ahead < size_) prefetch(entry(ahead)[0]);
  }

  /// Heap bytes held.
  std::size_t bytes() const noexcept {
    return ring_.capacity() * sizeof(std::uint64_t) + table_.capacity() * sizeof(Slot);
  }

 private:
  // Ring positions (< limit) and their + 1 fit a slot's 32 bits, and the table, at most twice
  // the limit rounded up to a power of two, has at most 2^32 slots, so a hash's home slot is
  // its tag & mask_.
  static constexpr std::uint64_t kMaxLimit = std::uint64_t{1} << 31;

  struct Slot {
    std::uint32_t tag = 0;   ///< low 32 bits of the hash
    std::uint32_t pos1 = 0;  ///< ring position of the entry + 1; 0: empty
  };
  static_assert(sizeof(Slot) == 8);

  static std::uint32_t tag_of(std::uint64_t hash) noexcept {
    return static_cast<std::uint32_t>(hash);
  }

  const std::uint64_t* at(std::uint64_t pos) const noexcept { return ring_.data() + pos * stride_; }

  /// The slot holding `hash`, else the empty slot that ends its probe run (the table is
  /// never full).
  std::uint64_t probe(std::uint64_t hash) const noexcept {
    const std::uint32_t tag = tag_of(hash);
    for (std::uint64_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Slot s = table_[i];
      if (s.pos1 == 0 || (s.tag == tag && at(s.pos1 - 1)[0] == hash)) return i;
    }
  }

  void pop_front() noexcept {
    // The table points at the newest entry of each hash: drop the slot that points at this
    // entry, if one does. Positions are unique, so matching the position alone is exact and
    // reads no other ring entry; that slot lies in the run from the hash's home.
    const auto pos1 = static_cast<std::uint32_t>(head_ + 1);
    for (std::uint64_t i = tag_of(ring_[head_ * stride_]) & mask_;; i = (i + 1) & mask_) {
      const std::uint32_t p = table_[i].pos1;
      if (p == pos1) {
        erase_at(i);
        break;
      }
      if (p == 0) break;
    }
    if (++head_ == cap_) head_ = 0;
    --size_;
    ++front_;
  }

  /// Points `hash` at the entry at ring position `pos` (the table has room).
  void put(std::uint64_t hash, std::uint64_t pos) noexcept {
    Slot& s = table_[probe(hash)];
    if (s.pos1 == 0) ++used_;
    s = {tag_of(hash), static_cast<std::uint32_t>(pos + 1)};
  }

  // Backward-shift deletion: every slot after i up to the next empty one is moved back if its
  // home does not lie cyclically in (i, j].
  void erase_at(std::uint64_t i) noexcept {
    for (std::uint64_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      const Slot s = table_[j];
      if (s.pos1 == 0) break;
      const std::uint64_t home = s.tag & mask_;
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        table_[i] = s;
        i = j;
      }
    }
    table_[i] = Slot{};
    --used_;
  }

  void grow_table() {
    std::vector<Slot> old;
    old.swap(table_);
    table_.assign(std::max<std::size_t>(old.size() * 2, 1024), Slot{});
    mask_ = table_.size() - 1;
    for (const Slot& s : old) {
      if (s.pos1 == 0) continue;
      std::uint64_t i = s.tag & mask_;  // hashes are distinct: the first empty slot
      while (table_[i].pos1 != 0) i = (i + 1) & mask_;
      table_[i] = s;
    }
  }

  // The ring grows only while it has never been full, so nothing has left yet, head_ is 0 and
  // every entry keeps its position: the table's positions stay valid.
  void grow_ring() {
    const std::uint64_t cap =
        std::min<std::uint64_t>(limit_, std::max<std::uint64_t>(cap_ * 2, 256));
    std::vector<std::uint64_t> ring(cap * stride_);
    std::copy_n(ring_.data(), size_ * stride_, ring.data());
    ring_.swap(ring);
    cap_ = cap;
  }

  std::uint32_t stride_ = 1;
  std::uint64_t limit_ = 0;
  std::vector<std::uint64_t> ring_;  ///< cap_ entries of stride_ words
  std::uint64_t cap_ = 0, head_ = 0, size_ = 0;
  std::uint64_t front_ = 0;  ///< sequence of the oldest entry
  std::vector<Slot> table_;
  std::uint64_t mask_ = 0, used_ = 0;
};

}  // namespace vigil::features_detail
