// FlagSet: flagged entities with expiry, probed a batch at a time.
//
// Keys of every field share one split-block Bloom filter sized at ~16 bits per key (false
// positive rate ≈ 0.1% at the design load) and one absl::flat_hash_map that confirms a filter
// pass and holds the interval and reason. Bloom filters cannot delete, so an unflag only
// leaves stale bits (more false positives, confirmed away by the map); the filter is rebuilt
// when stale keys outnumber live ones or the live count outgrows it.
#include <absl/container/flat_hash_map.h>
#include "score/text.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <istream>
#include <ostream>
#include <vector>

#include "model/binary_io.h"
#include "score/dispatch.h"
#include "score/flag_hash.h"
#include "vigil/score.h"

namespace vigil {
namespace {

struct FlagKey {
  std::uint8_t field = 0;
  std::uint64_t key = 0;
  friend bool operator==(const FlagKey&, const FlagKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const FlagKey& k) {
    return H::combine(std::move(h), k.field, k.key);
  }
};

struct FlagEntry {
  Micros from = std::numeric_limits<Micros>::min();
  Micros until = std::numeric_limits<Micros>::max();
  StrId reason = kNoStr;
};

std::uint64_t flag_hash(std::uint8_t field, std::uint64_t key) noexcept {
  return score::flag_hash(score::flag_seed(field), key);
}

constexpr std::array<char, 4> kMagic = {'V', 'F', 'L', 'G'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kBitsPerKey = 16;
constexpr std::size_t kMinBlocks = 64;
constexpr std::size_t kProbeChunk = 256;

}  // namespace

struct FlagSet::Impl {
  absl::flat_hash_map<FlagKey, FlagEntry> flags;
  std::array<std::size_t, kFieldCount> per_field{};
  std::vector<std::uint32_t> blocks = std::vector<std::uint32_t>(kMinBlocks * 8, 0);
  std::uint64_t block_mask = kMinBlocks - 1;
  std::size_t stale = 0;  // keys whose bits are in the filter but not in the map

  void set_bits(std::uint64_t h) noexcept {
    std::uint32_t* block = blocks.data() + ((h >> 32) & block_mask) * 8;
    const auto key = static_cast<std::uint32_t>(h);
    for (int k = 0; k < 8; ++k) block[k] |= 1U << ((key * score::kBloomSalt[k]) >> 27);
  }

  void rebuild() {
    std::size_t want = std::max<std::size_t>(kMinBlocks, flags.size() * kBitsPerKey / 256);
    want = std::bit_ceil(want);
    blocks.assign(want * 8, 0);
    block_mask = want - 1;
    for (const auto& [k, e] : flags) set_bits(flag_hash(k.field, k.key));
    stale = 0;
  }

  void maybe_rebuild() {
    const std::size_t capacity_keys = (block_mask + 1) * 256 / kBitsPerKey;
    if (flags.size() > capacity_keys || stale > flags.size() + 1024) rebuild();
  }

  void put(Field field, std::uint64_t key, const FlagEntry& entry) {
    const FlagKey k{static_cast<std::uint8_t>(field), key};
    auto [it, fresh] = flags.insert_or_assign(k, entry);
    if (fresh) {
      ++per_field[static_cast<std::size_t>(field)];
      set_bits(flag_hash(k.field, k.key));
      maybe_rebuild();
    }
  }

  bool erase(Field field, std::uint64_t key) {
    if (flags.erase(FlagKey{static_cast<std::uint8_t>(field), key}) == 0) return false;
    --per_field[static_cast<std::size_t>(field)];
    ++stale;
    maybe_rebuild();
    return true;
  }
};

FlagSet::FlagSet() : impl_(std::make_unique<Impl>()) {}
FlagSet::~FlagSet() = default;
FlagSet::FlagSet(FlagSet&&) noexcept = default;
FlagSet& FlagSet::operator=(FlagSet&&) noexcept = default;

bool FlagSet::apply(const FlagChange& change) {
  if (!is_key_field(change.entity)) return false;
  if (change.flagged) {
    impl_->put(change.entity, change.key, FlagEntry{change.time, change.until, change.reason});
  } else {
    impl_->erase(change.entity, change.key);
  }
  return true;
}

Status FlagSet::add(const FlagSpec& spec, Dictionary& dict) {
  if (!is_key_field(spec.entity)) {
    return Status(ErrorCode::kInvalidArgument,
                  score::cat("flag entity '", field_name(spec.entity), "' is not a key field"));
  }
  std::uint64_t key = 0;
  if (spec.entity == Field::kCcNum || spec.entity == Field::kZip) {
    const char* end = spec.id.data() + spec.id.size();
    auto [ptr, ec] = std::from_chars(spec.id.data(), end, key);
    if (ec != std::errc() || ptr != end || spec.id.empty() ||
        (spec.entity == Field::kZip && key > std::numeric_limits<std::uint32_t>::max())) {
      return Status(ErrorCode::kInvalidArgument,
                    score::cat("flag id '", spec.id, "' is not a valid ", field_name(spec.entity)));
    }
  } else if (spec.entity == Field::kGender) {
    if (spec.id.size() != 1) {
      return Status(ErrorCode::kInvalidArgument,
                    score::cat("flag id '", spec.id, "' is not a gender (one character)"));
    }
    key = static_cast<unsigned char>(spec.id[0]);
  } else {
    if (spec.id.empty()) return Status(ErrorCode::kInvalidArgument, "flag id is empty");
    key = dict.intern(spec.id);
  }
  const StrId reason = spec.reason.empty() ? kNoStr : dict.intern(spec.reason);
  impl_->put(spec.entity, key, FlagEntry{std::numeric_limits<Micros>::min(), spec.until, reason});
  return Status{};
}

void FlagSet::probe(const TransactionBatch& batch, Field field,
                    std::span<std::uint8_t> hits) const {
  probe(batch, field, hits, nullptr, score::best_arch());
}

void FlagSet::probe(const TransactionBatch& batch, Field field, std::span<std::uint8_t> hits,
                    StrId* reasons, ScoreArch arch) const {
  const std::size_t n = std::min(batch.size(), hits.size());
  if (impl_->per_field[static_cast<std::size_t>(field)] == 0 || !is_key_field(field)) {
    std::fill(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(n), std::uint8_t{0});
    return;
  }
  const auto f = static_cast<std::uint8_t>(field);
  const score::BloomFn bloom = score::bloom_function(arch);
  // The filter hashes and probes a column of keys at a time in the arch's registers; only its
  // passes are confirmed in the map (one lookup, which also yields the reason).
  alignas(64) std::uint64_t wide[kProbeChunk];
  for (std::size_t base = 0; base < n; base += kProbeChunk) {
    const std::size_t m = std::min(kProbeChunk, n - base);
    const std::uint64_t* keys = wide;
    const std::uint32_t* narrow = nullptr;
    switch (field) {
      case Field::kCcNum: keys = batch.cc_num.data() + base; break;
      case Field::kZip: narrow = batch.zip.data(); break;
      case Field::kMerchant: narrow = batch.merchant.data(); break;
      case Field::kCategory: narrow = batch.category.data(); break;
      case Field::kState: narrow = batch.state.data(); break;
      case Field::kCity: narrow = batch.city.data(); break;
      case Field::kJob: narrow = batch.job.data(); break;
      case Field::kFirst: narrow = batch.first.data(); break;
      case Field::kLast: narrow = batch.last.data(); break;
      case Field::kStreet: narrow = batch.street.data(); break;
      default:
        for (std::size_t i = 0; i < m; ++i) wide[i] = batch.key(field, base + i);
        break;
    }
    if (narrow != nullptr) {
      for (std::size_t i = 0; i < m; ++i) wide[i] = narrow[base + i];
    }
    std::uint8_t* out = hits.data() + base;
    bloom(impl_->blocks.data(), impl_->block_mask, keys, score::flag_seed(f), m, out);
    for (std::size_t i = 0; i < m; ++i) {
      // Passes are rare: skip 8 filter misses at a time.
      if (i % 8 == 0 && i + 8 <= m) {
        std::uint64_t eight = 0;
        std::memcpy(&eight, out + i, 8);
        if (eight == 0) {
          i += 7;
          continue;
        }
      }
      if (out[i] == 0) continue;
      const std::size_t row = base + i;
      auto it = impl_->flags.find(FlagKey{f, keys[i]});
      const Micros t = batch.time[row];
      const bool hit = it != impl_->flags.end() && it->second.from <= t && t < it->second.until;
      out[i] = hit ? 1 : 0;
      if (hit && reasons != nullptr) reasons[row] = it->second.reason;
    }
  }
}

std::optional<StrId> FlagSet::find(Field field, std::uint64_t key, Micros t) const {
  auto it = impl_->flags.find(FlagKey{static_cast<std::uint8_t>(field), key});
  if (it == impl_->flags.end() || t < it->second.from || t >= it->second.until) {
    return std::nullopt;
  }
  return it->second.reason;
}

std::size_t FlagSet::size() const noexcept { return impl_->flags.size(); }
std::size_t FlagSet::size(Field field) const noexcept {
  return impl_->per_field[static_cast<std::size_t>(field)];
}
std::size_t FlagSet::memory_bytes() const noexcept {
  return impl_->blocks.capacity() * sizeof(std::uint32_t) +
         impl_->flags.capacity() * (sizeof(std::pair<FlagKey, FlagEntry>) + 1);
}

std::size_t FlagSet::purge_expired(Micros t) {
  std::vector<FlagKey> dead;
  for (const auto& [k, e] : impl_->flags) {
    if (e.until <= t) dead.push_back(k);
  }
  for (const FlagKey& k : dead) impl_->erase(static_cast<Field>(k.field), k.key);
  return dead.size();
}

Status FlagSet::snapshot(std::ostream& out) const {
  std::vector<std::pair<FlagKey, FlagEntry>> sorted(impl_->flags.begin(), impl_->flags.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& x, const auto& y) {
    return std::tie(x.first.field, x.first.key) < std::tie(y.first.field, y.first.key);
  });
  detail::BinaryWriter w;
  w.varint(sorted.size());
  for (const auto& [k, e] : sorted) {
    w.u8(k.field);
    w.u64(k.key);
    w.i64(e.from);
    w.i64(e.until);
    w.u32(e.reason);
  }
  return detail::write_frame(out, kMagic, kVersion, w.data());
}

Status FlagSet::restore(std::istream& in) {
  std::string payload;
  std::uint32_t version = 0;
  if (Status st = detail::read_frame(in, kMagic, kVersion, payload, version); !st.ok()) return st;
  detail::BinaryReader r(payload);
  auto fresh = std::make_unique<Impl>();
  const std::uint64_t count = r.count(1 + 8 + 8 + 8 + 4);
  fresh->flags.reserve(count);
  for (std::uint64_t i = 0; i < count && r.ok(); ++i) {
    const std::uint8_t field = r.u8();
    const std::uint64_t key = r.u64();
    FlagEntry e;
    e.from = r.i64();
    e.until = r.i64();
    e.reason = r.u32();
    if (!r.ok()) break;
    if (field >= kFieldCount || !is_key_field(static_cast<Field>(field))) {
      return Status(ErrorCode::kCorrupt, "flag snapshot: entity is not a key field");
    }
    if (!fresh->flags.try_emplace(FlagKey{field, key}, e).second) {
      return Status(ErrorCode::kCorrupt, "flag snapshot: duplicate flag");
    }
    ++fresh->per_field[field];
  }
  if (!r.ok() || !r.at_end()) return Status(ErrorCode::kCorrupt, "flag snapshot: truncated");
  fresh->rebuild();
  impl_ = std::move(fresh);
  return Status{};
}

}  // namespace vigil
