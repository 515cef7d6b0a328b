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

std::uint64_t load64(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::uint32_t load32(const char* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// A slot of the open-addressing table: half a cache line, so a hit reads one line. `check`
// holds the hash's upper 24 bits over the length (saturated at 255): a slot whose check
// differs is skipped without touching any string, and an equal check with a short length
// already fixes the length. Strings up to kInline bytes live in the slot itself (zero-padded),
// longer ones are compared at their place in the arena.
struct alignas(32) Slot {
  StrId id = kNoStr;  // kNoStr: empty (the empty string itself is never stored here)
  std::uint32_t check = 0;
  union {
    char bytes[24];
    struct {
      const char* data;
      std::size_t size;
    } far;
  };
  Slot() : bytes{} {}
};
static_assert(sizeof(Slot) == 32);
constexpr std::size_t kInline = sizeof(Slot::bytes);

constexpr std::uint32_t make_check(std::uint64_t hash, std::size_t n) noexcept {
  return (static_cast<std::uint32_t>(hash >> 32) & 0xFFFFFF00u) |
         static_cast<std::uint32_t>(std::min<std::size_t>(n, 255));
}

// `n` bytes of `a` (a slot's zero-padded inline bytes) and `s`, without reading past either.
bool equal_inline(const char* a, const char* s, std::size_t n) noexcept {
  if (n >= 8) {
    if (load64(a) != load64(s)) return false;
    if (n > 16 && load64(a + 8) != load64(s + 8)) return false;
    return load64(a + n - 8) == load64(s + n - 8);
  }
  if (n >= 4) return load32(a) == load32(s) && load32(a + n - 4) == load32(s + n - 4);
  return a[0] == s[0] && a[n / 2] == s[n / 2] && a[n - 1] == s[n - 1];
}

bool slot_equals(const Slot& slot, std::string_view s) noexcept {
  if (s.size() <= kInline) return equal_inline(slot.bytes, s.data(), s.size());
  return slot.far.size == s.size() && std::memcmp(slot.far.data, s.data(), s.size()) == 0;
}

// Slots in one 64-byte-aligned allocation, so slot pairs share a cache line.
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
    const std::uint32_t check = make_check(hash, s.size());
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots.p[i];
      if (slot.id == kNoStr) {
        at = i;
        return kNoStr;
      }
      if (slot.check == check && slot_equals(slot, s)) return slot.id;
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

  const char* store(std::string_view s) {
    if (s.size() > kOwnBlock) {
      auto& b = blocks.emplace_back(new char[s.size()]);
      block_bytes += s.size();
      std::memcpy(b.get(), s.data(), s.size());
      // The current block keeps its free tail (the big block goes before it in the list, but
      // order does not matter).
      return b.get();
    }
    if (free_bytes < s.size()) {
      free_at = blocks.emplace_back(new char[kBlockBytes]).get();
      free_bytes = kBlockBytes;
      block_bytes += kBlockBytes;
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
    slot.check = make_check(hash, s.size());
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
  static_assert(sizeof(Slot) == kSlotBytes);
  slots_ = reinterpret_cast<const char*>(impl_->slots.p);
  slot_mask_ = impl_->mask;
}

StrId Dictionary::intern(std::string_view s) { return intern(s, hash(s)); }

StrId Dictionary::intern(std::string_view s, std::uint64_t hash) {
  if (s.empty()) return kNoStr;
  std::size_t at = 0;
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
