#include "vigil/dictionary.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "model/binary_io.h"

namespace vigil {

namespace {

using detail::DictSlot;
using Slot = DictSlot;
constexpr std::size_t kInline = detail::kDictInline;

// Slots in one 64-byte-aligned allocation: a slot is a cache line.
struct SlotArray {
  Slot* p = nullptr;
  std::size_t n = 0;

  SlotArray() = default;
  explicit SlotArray(std::size_t count)
      : p(static_cast<Slot*>(::operator new (count * sizeof(Slot), std::align_val_t{64}))),
        n(count) {
    std::uninitialized_default_construct_n(p, n);
  }
  SlotArray(SlotArray&& o) noexcept : p(std::exchange(o.p, nullptr)), n(std::exchange(o.n, 0)) {}
  SlotArray& operator=(SlotArray&& o) noexcept {
    SlotArray dead(std::move(*this));
    p = std::exchange(o.p, nullptr);
    n = std::exchange(o.n, 0);
    return *this;
  }
  ~SlotArray() {
    if (p != nullptr) ::operator delete (p, std::align_val_t{64});
  }
};

// Arena blocks: strings are packed into blocks that never move or shrink, so a view() stays
// valid as the dictionary grows (callers keep them); a string never straddles two blocks, and
// one longer than a block's quarter gets a block of its own.
constexpr std::size_t kBlockBytes = 64 * 1024;
constexpr std::size_t kOwnBlock = kBlockBytes / 4;
constexpr std::size_t kMinSlots = 64;

}  // namespace

struct Dictionary::Impl {
  std::vector<std::string_view> views;  // by id; views[0] is the empty string
  std::vector<std::unique_ptr<char[]>> blocks;
  char* free_at = nullptr;  // the free tail of the current block
  std::size_t free_bytes = 0;
  std::size_t block_bytes = 0;  // allocated in blocks
  std::size_t string_bytes = 0;
  SlotArray slots{kMinSlots};
  std::size_t mask = kMinSlots - 1;

  Impl() { views.emplace_back(""); }

  // The id of `s` (not empty), kNoStr when absent; `at` is then the empty slot that ends
  // its probe.
  StrId lookup(std::string_view s, std::uint64_t hash, std::size_t& at) const noexcept {
    const std::uint32_t check = detail::dict_check(hash, s.size());
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots.p[i];
      if (slot.id == kNoStr) {
        at = i;
        return kNoStr;
      }
      if (slot.check == check && detail::dict_slot_equals(slot, s)) return slot.id;
    }
  }

  // Grows the table before it passes 5/8 full (linear probes stay short).
  bool needs_growth(std::size_t count) const noexcept { return count * 8 > slots.n * 5; }

  void rehash(std::size_t count) {
    std::size_t n = kMinSlots;
    while (count * 8 > n * 5) n *= 2;
    SlotArray fresh(n);
    const std::size_t m = n - 1;
    for (std::size_t i = 0; i < slots.n; ++i) {
      const Slot& slot = slots.p[i];
      if (slot.id == kNoStr) continue;
      std::size_t at = Dictionary::hash(views[slot.id]) & m;
      while (fresh.p[at].id != kNoStr) at = (at + 1) & m;
      fresh.p[at] = slot;
    }
    slots = std::move(fresh);
    mask = m;
  }

  char* new_block(std::size_t size) {
    std::unique_ptr<char[]> block(new char[size]);  // owned before the vector may throw
    blocks.push_back(std::move(block));
    block_bytes += size;
    return blocks.back().get();
  }

  const char* store(std::string_view s) {
    if (s.size() > kOwnBlock) {
      // The current block keeps its free tail (order in `blocks` does not matter).
      char* const own = new_block(s.size());
      std::memcpy(own, s.data(), s.size());
      return own;
    }
    if (free_bytes < s.size()) {
      free_at = new_block(kBlockBytes);
      free_bytes = kBlockBytes;
    }
    char* const at = free_at;
    std::memcpy(at, s.data(), s.size());
    free_at += s.size();
    free_bytes -= s.size();
    return at;
  }

  // Adds `s` (absent; `at` from its lookup()) with the next id.
  StrId add(std::string_view s, std::uint64_t hash, std::size_t at) {
    const auto id = static_cast<StrId>(views.size());
    if (needs_growth(id)) {
      rehash(id);
      at = hash & mask;
      while (slots.p[at].id != kNoStr) at = (at + 1) & mask;
    }
    const char* const data = store(s);
    views.emplace_back(data, s.size());
    string_bytes += s.size();
    Slot& slot = slots.p[at];
    slot.check = detail::dict_check(hash, s.size());
    if (s.size() <= kInline) {
      std::memcpy(slot.bytes, s.data(), s.size());
    } else {
      slot.far.data = data;
      slot.far.size = s.size();
    }
    slot.id = id;
    return id;
  }
};

Dictionary::Dictionary() : impl_(std::make_unique<Impl>()) { sync(); }
Dictionary::~Dictionary() = default;
Dictionary::Dictionary(Dictionary&& other) noexcept
    : impl_(std::move(other.impl_)),
      slots_(std::exchange(other.slots_, nullptr)),
      slot_mask_(std::exchange(other.slot_mask_, 0)),
      generation_(other.generation_) {}
Dictionary& Dictionary::operator=(Dictionary&& other) noexcept {
  if (this != &other) {
    impl_ = std::move(other.impl_);
    slots_ = std::exchange(other.slots_, nullptr);
    slot_mask_ = std::exchange(other.slot_mask_, 0);
    generation_ = std::max(generation_, other.generation_) + 1;
  }
  return *this;
}

void Dictionary::sync() noexcept {
  slots_ = impl_->slots.p;
  slot_mask_ = impl_->mask;
}

StrId Dictionary::intern(std::string_view s) { return intern(s, hash(s)); }

StrId Dictionary::add(std::string_view s, std::uint64_t hash) {
  if (s.empty()) return kNoStr;
  std::size_t at = 0;
  // The inline probe found no match; this one finds the empty slot it ended on.
  if (const StrId id = impl_->lookup(s, hash, at); id != kNoStr) return id;
  const StrId id = impl_->add(s, hash, at);
  sync();
  return id;
}

std::optional<StrId> Dictionary::find(std::string_view s) const noexcept {
  if (s.empty()) return kNoStr;
  std::size_t at = 0;
  if (const StrId id = impl_->lookup(s, hash(s), at); id != kNoStr) return id;
  return std::nullopt;
}

std::string_view Dictionary::view(StrId id) const noexcept { return impl_->views[id]; }

std::size_t Dictionary::size() const noexcept { return impl_->views.size(); }

std::size_t Dictionary::memory_bytes() const noexcept {
  return impl_->block_bytes + impl_->views.capacity() * sizeof(std::string_view) +
         impl_->blocks.capacity() * sizeof(std::unique_ptr<char[]>) + impl_->slots.n * sizeof(Slot);
}

namespace {
constexpr std::array<char, 4> kMagic = {'V', 'D', 'I', 'C'};
constexpr std::uint32_t kVersion = 1;
}  // namespace

Status Dictionary::save(std::ostream& out) const {
  detail::BinaryWriter w;
  w.varint(impl_->views.size() - 1);
  for (std::size_t i = 1; i < impl_->views.size(); ++i) w.str(impl_->views[i]);
  return detail::write_frame(out, kMagic, kVersion, w.data());
}

Status Dictionary::load(std::istream& in) {
  std::string payload;
  std::uint32_t version = 0;
  if (Status s = detail::read_frame(in, kMagic, kVersion, payload, version); !s.ok()) return s;
  detail::BinaryReader r(payload);
  const std::uint64_t n = r.count(1);
  auto fresh = std::make_unique<Impl>();
  if (r.ok()) {
    fresh->views.reserve(n + 1);
    fresh->rehash(n + 1);
  }
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    const std::string_view s = r.str();
    if (!r.ok()) break;
    const std::uint64_t h = hash(s);
    std::size_t at = 0;
    // The empty string is id 0 already: an image never holds it again.
    if (s.empty() || fresh->lookup(s, h, at) != kNoStr) {
      return {ErrorCode::kCorrupt,
              absl::StrFormat("dictionary: duplicate string at id %u", fresh->views.size())};
    }
    fresh->add(s, h, at);
  }
  if (!r.ok() || !r.at_end()) return {ErrorCode::kCorrupt, "dictionary: malformed payload"};
  impl_ = std::move(fresh);
  sync();
  ++generation_;
  return {};
}

}  // namespace vigil
