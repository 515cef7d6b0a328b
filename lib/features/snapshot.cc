// Feature store snapshots: one frame "VGFS" (model/binary_io.h: magic, version, length,
// payload, CRC-32C). The payload holds only primary state — each key's events, newest time
// and bucket contents, the status index, the stream's watermark and counters — in sorted key
// order, so equal states give equal bytes whatever the hash maps' iteration order. Running
// sums, cursors, min / max queues and distinct maps are derived: restore() recomputes them
// from the events, exactly (integer arithmetic), so a restored store continues bit for bit
// like one that never stopped.
#include <algorithm>
#include <istream>
#include <ostream>

#include "absl/strings/str_format.h"
#include "features/store_impl.h"
#include "model/binary_io.h"

namespace vigil {

using features_detail::Bucket;
using features_detail::i128;
using features_detail::kNever;
using features_detail::RecHead;
using features_detail::SlotKind;
using features_detail::u128;

namespace {

constexpr std::array<char, 4> kMagic = {'V', 'G', 'F', 'S'};
// 2: events keep their values, plus per group the event fields widened to 8 bytes (the layout
// decides the logical size charged against the memory budget).
// 3: the status index names the trans_num hash it keys on (0: 16 bytes per multiply, 1: the
// FNV-1a of versions 1 and 2, which still restore: the restored store keeps hashing that way).
constexpr std::uint32_t kVersion = 3;

void write_i128(detail::BinaryWriter& w, i128 v) {
  w.u64(static_cast<std::uint64_t>(v));
  w.u64(static_cast<std::uint64_t>(static_cast<u128>(v) >> 64));
}
i128 read_i128(detail::BinaryReader& r) {
  const std::uint64_t lo = r.u64();
  const std::uint64_t hi = r.u64();
  return static_cast<i128>((static_cast<u128>(hi) << 64) | lo);
}

// Calls f(number, bucket, is_total) for a key's buckets in snapshot order (each def's buckets
// then its running total), a count-only def's buckets as full Buckets.
template <class F>
void for_each_bucket(const features_detail::Group& g, const std::byte* blk, F&& f) {
  for (const features_detail::BucketDef& d : g.buckets) {
    for (std::uint32_t p = 0; p < d.count; ++p) {
      if (d.compact) {
        const features_detail::CountBucket& c =
            features_detail::bucket_ring<features_detail::CountBucket>(blk, d)[p];
        Bucket x;
        x.id = c.id;
        x.n = c.n;
        f(std::size_t{d.off} + p, x, false);
      } else {
        f(std::size_t{d.off} + p, features_detail::bucket_ring<Bucket>(blk, d)[p], false);
      }
    }
    f(std::size_t{d.off} + d.count, features_detail::bucket_total(blk, d), true);
  }
}

// Stores bucket number `b` (< bucket_total); false when it belongs to a count-only def but
// holds more than an id and a count.
bool put_bucket(const features_detail::Group& g, std::byte* blk, std::uint64_t b, const Bucket& x) {
  for (const features_detail::BucketDef& d : g.buckets) {
    if (b > std::uint64_t{d.off} + d.count) continue;
    if (b == std::uint64_t{d.off} + d.count) {
      features_detail::bucket_total(blk, d) = x;
    } else if (!d.compact) {
      features_detail::bucket_ring<Bucket>(blk, d)[b - d.off] = x;
    } else {
      Bucket rest = x;
      rest.id = kNever;
      rest.n = 0;
      const Bucket empty;
      if (rest.nv != empty.nv || rest.sum != empty.sum || rest.mn != empty.mn ||
          rest.mx != empty.mx || rest.sq != empty.sq) {
        return false;
      }
      features_detail::bucket_ring<features_detail::CountBucket>(blk, d)[b - d.off] = {x.id, x.n};
    }
    return true;
  }
  return false;  // (b < bucket_total: not reached)
}

Status corrupt(std::string_view what) {
  return {ErrorCode::kCorrupt, absl::StrFormat("feature store snapshot: %s", what)};
}

}  // namespace

Status FeatureStore::Impl::snapshot(std::ostream& out) const {
  detail::BinaryWriter w;
  w.str(fingerprint);
  w.svarint(watermark);
  w.svarint(next_sweep);
  w.varint(counters.late_in_order);
  w.varint(counters.late_rejected);
  w.varint(counters.late_as_arrival);
  // The logical state: keys awaiting the sweep in progress are gone (and counted as evicted),
  // as are status events below its horizon, so the bytes do not depend on its progress.
  std::uint64_t swept_keys = 0;
  for (const Group& g : groups) {
    g.for_each([&](std::uint32_t slot) { swept_keys += swept(g, slot) ? 1 : 0; });
  }
  w.varint(counters.evicted_keys + swept_keys);
  w.varint(counters.status_applied);
  w.varint(counters.status_unknown);

  std::vector<std::pair<std::uint64_t, std::uint32_t>> keys;
  for (const Group& g : groups) {
    keys.clear();
    g.for_each([&](std::uint32_t slot) {
      if (!swept(g, slot)) keys.emplace_back(g.head(slot).key, slot);
    });
    const Micros floor = g.status != kNoStr ? status_floor(g) : kNever;
    std::sort(keys.begin(), keys.end());
    w.varint(g.widened);
    w.varint(keys.size());
    const std::size_t bucket_total = g.bucket_total;
    for (const auto& [key, slot] : keys) {
      const features_detail::RecHead& s = g.head(slot);
      w.varint(key);
      w.svarint(s.newest);
      w.u32(s.base);
      std::uint32_t first = 0;
      if (floor != kNever) {
        while (first < s.size && g.ev_time(s, first) <= floor) ++first;
      }
      const std::size_t n = s.size;
      w.varint(n - first);
      Micros prev = s.newest;
      for (std::uint32_t e = first; e < n; ++e) {
        // Times as deltas from the previous event (the first from `newest`): small varints.
        const Micros t = g.ev_time(s, e);
        w.svarint(t - prev);
        prev = t;
        for (std::size_t k = 0; k < g.slots.size(); ++k) {
          const std::uint64_t v = g.ev_word(s, e, k);
          switch (g.slots[k].kind) {
            case SlotKind::kScaled: w.svarint(static_cast<std::int64_t>(v)); break;
            case SlotKind::kKey: w.varint(v); break;
            case SlotKind::kRaw: w.u64(v); break;
          }
        }
      }
      if (bucket_total > 0) {
        // Buckets are numbered per def: its buckets, then its running total, whose `mn` holds
        // their occupancy (derived state, written as the default). A count-only def's buckets
        // keep only id and n: the other fields are written as the defaults they always are.
        const std::byte* const blk = g.bucket_data[slot].get();
        std::size_t used = 0;
        for_each_bucket(
            g, blk, [&](std::size_t, const Bucket& x, bool) { used += x.id != kNever ? 1 : 0; });
        w.varint(used);
        for_each_bucket(g, blk, [&](std::size_t b, const Bucket& x, bool total) {
          if (x.id == kNever) return;
          w.varint(b);
          w.svarint(x.id);
          w.varint(x.n);
          w.varint(x.nv);
          w.svarint(x.sum);
          w.svarint(total ? Bucket{}.mn : x.mn);
          w.svarint(x.mx);
          write_i128(w, x.sq);
        });
      }
    }
  }

  const std::uint64_t entries = index.size();
  w.varint(fnv_trans_hash ? 1 : 0);
  w.varint(entries);
  w.varint(index.front());
  for (std::uint64_t e = 0; e < entries; ++e) {
    const std::uint64_t* const entry = index.entry(e);
    w.u64(entry[0]);
    for (std::uint32_t k = 1; k < index_stride; ++k) w.varint(entry[k]);
  }
  return detail::write_frame(out, kMagic, kVersion, w.data());
}

Status FeatureStore::Impl::restore_into(std::istream& in) {
  std::string payload;
  std::uint32_t version = 0;
  if (Status st = detail::read_frame(in, kMagic, kVersion, payload, version); !st.ok()) {
    return st;
  }
  detail::BinaryReader r(payload);
  if (r.str() != fingerprint) {
    if (!r.ok()) return corrupt("truncated header");
    return {ErrorCode::kInvalidArgument,
            "feature store snapshot: written by a store with a different feature configuration "
            "(features, lateness, late policy or limits differ)"};
  }
  watermark = r.svarint();
  next_sweep = r.svarint();
  counters.late_in_order = r.varint();
  counters.late_rejected = r.varint();
  counters.late_as_arrival = r.varint();
  counters.evicted_keys = r.varint();
  counters.status_applied = r.varint();
  counters.status_unknown = r.varint();

  std::vector<std::uint64_t> ev;
  for (Group& g : groups) {
    const std::uint64_t widened = r.varint();
    if (!r.ok()) return corrupt("truncated key table");
    if (g.slots.size() < 64 && (widened >> g.slots.size()) != 0) return corrupt("bad layout");
    for (std::size_t k = 0; k < g.slots.size(); ++k) {
      if ((widened >> k) & 1) relayout(g, k);
    }
    const std::uint64_t nkeys = r.count(4);
    if (!r.ok()) return corrupt("truncated key table");
    const std::size_t bucket_total = g.bucket_total;
    bool first = true;
    std::uint64_t last_key = 0;
    for (std::uint64_t k = 0; k < nkeys; ++k) {
      const std::uint64_t key = r.varint();
      if (!r.ok()) return corrupt("truncated key");
      if (!first && key <= last_key) return corrupt("keys out of order");
      first = false;
      last_key = key;
      const std::uint32_t slot = new_key(g, key, features_detail::key_hash(key));
      const Micros newest = r.svarint();
      const std::uint32_t base = r.u32();
      g.head(slot).newest = newest;
      g.head(slot).base = base;
      const std::uint64_t n = r.count(1 + g.slots.size());
      if (!r.ok()) return corrupt("truncated key state");
      if (n > 0 && !g.ring) return corrupt("events for a key field that keeps none");
      if (n > (1u << 30)) return corrupt("too many events");
      Micros prev = newest;
      ev.resize(1 + g.slots.size());
      for (std::uint64_t e = 0; e < n; ++e) {
        // Unsigned add: a corrupted delta must not be signed overflow.
        const auto t = static_cast<Micros>(static_cast<std::uint64_t>(prev) +
                                           static_cast<std::uint64_t>(r.svarint()));
        if (e > 0 && t < prev) return corrupt("events out of time order");
        prev = t;
        ev[0] = static_cast<std::uint64_t>(t);
        for (std::size_t sl = 0; sl < g.slots.size(); ++sl) {
          switch (g.slots[sl].kind) {
            case SlotKind::kScaled: ev[1 + sl] = static_cast<std::uint64_t>(r.svarint()); break;
            case SlotKind::kKey:
              ev[1 + sl] = r.varint();
              if (g.lay.code[sl] == 1 && ev[1 + sl] > 0xffffffffull) {
                return corrupt("key value out of range");
              }
              break;
            case SlotKind::kRaw: ev[1 + sl] = r.u64(); break;
          }
        }
        if (!r.ok()) return corrupt("truncated events");
        ensure_fits(g, ev.data());
        features_detail::RecHead& s = g.head(slot);
        append_event(g, s, ev.data());
      }
      if (n > 0 && prev > newest) return corrupt("event newer than its key's newest time");
      if (bucket_total > 0) {
        std::byte* const blk = g.bucket_data[slot].get();
        const std::uint64_t used = r.count(8);
        for (std::uint64_t u = 0; u < used; ++u) {
          const std::uint64_t b = r.varint();
          if (!r.ok() || b >= bucket_total) return corrupt("bad bucket index");
          Bucket x;
          x.id = r.svarint();
          x.n = r.varint();
          x.nv = r.varint();
          x.sum = r.svarint();
          x.mn = r.svarint();
          x.mx = r.svarint();
          x.sq = read_i128(r);
          if (!r.ok()) return corrupt("truncated buckets");
          if (!put_bucket(g, blk, b, x)) return corrupt("bad count-only bucket");
        }
        for (const auto& d : g.buckets) {
          Bucket& total = features_detail::bucket_total(blk, d);
          total.mn = Bucket{}.mn;
          if (d.count <= features_detail::kOccBuckets) {
            const std::uint64_t occ =
                d.compact ? features_detail::occ_from(
                                features_detail::bucket_ring<features_detail::CountBucket>(blk, d),
                                d.count)
                          : features_detail::occ_from(features_detail::bucket_ring<Bucket>(blk, d),
                                                      d.count);
            features_detail::set_occ(total, occ);
          }
        }
      }
      if (g.status == kNoStr && !g.windows.empty()) charged += rebuild_sums(g, slot);
    }
  }

  if (version >= 3) {
    const std::uint64_t kind = r.varint();
    if (!r.ok()) return corrupt("truncated status index");
    if (kind > 1) return corrupt("unknown trans_num hash");
    fnv_trans_hash = kind == 1;
  } else {
    fnv_trans_hash = true;
  }
  const std::uint64_t entries = r.count(8);
  const std::uint64_t front = r.varint();
  if (!r.ok()) return corrupt("truncated status index");
  if (entries > 0 && index_fields.empty()) return corrupt("status index without status features");
  if (entries > index_limit) return corrupt("status index larger than its limit");
  index.set_front(front);
  std::vector<std::uint64_t> entry(index_stride);
  for (std::uint64_t e = 0; e < entries && r.ok(); ++e) {
    entry[0] = r.u64();
    for (std::uint32_t k = 1; k < index_stride; ++k) entry[k] = r.varint();
    if (!r.ok()) break;
    index.push(entry.data());
    charged += index_stride * 8ull + 16;
  }
  if (!r.ok()) return corrupt("truncated status index");
  if (!r.at_end()) return corrupt("trailing bytes");
  return {};
}

}  // namespace vigil
