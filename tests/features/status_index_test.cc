// White-box test of the feature store's status index (lib/features/status_index.h) against a
// plain reference: a deque of entries and, per hash, its newest entry.
#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <unordered_map>
#include <vector>

#include "features/status_index.h"

namespace vigil::test {

TEST_CASE("status index: FIFO of the newest entries, newest entry per hash", "[features]") {
  std::mt19937_64 rng(7);
  for (const std::uint64_t limit : {1u, 2u, 3u, 63u, 64u, 65u, 1000u}) {
    for (const std::uint32_t stride : {1u, 2u, 3u}) {
      features_detail::StatusIndex index;
      index.init(stride, limit);
      std::deque<std::vector<std::uint64_t>> ref;  // oldest first
      std::uint64_t front = 0;
      // Few distinct hashes (repeats and evictions of overwritten entries), and hashes that
      // share their low bits (long probe runs: backward-shift erase across them).
      auto draw = [&] {
        const std::uint64_t r = rng() % (3 * limit + 5);
        return rng() % 2 ? r : r << 40;
      };
      auto newest = [&](std::uint64_t h) -> const std::vector<std::uint64_t>* {
        for (auto it = ref.rbegin(); it != ref.rend(); ++it) {
          if ((*it)[0] == h) return &*it;
        }
        return nullptr;
      };
      for (int step = 0; step < 5000; ++step) {
        std::vector<std::uint64_t> e(stride);
        e[0] = draw();
        for (std::uint32_t k = 1; k < stride; ++k) e[k] = rng();
        const bool evicted = index.push(e.data());
        CHECK(evicted == (ref.size() == limit));
        if (ref.size() == limit) {
          ref.pop_front();
          ++front;
        }
        ref.push_back(e);
        REQUIRE(index.size() == ref.size());
        REQUIRE(index.front() == front);
        const std::uint64_t probe = step % 2 ? e[0] : draw();
        const auto* want = newest(probe);
        const std::uint64_t* got = index.find(probe);
        REQUIRE((got == nullptr) == (want == nullptr));
        if (want != nullptr) {
          CHECK(std::vector<std::uint64_t>(got, got + stride) == *want);
        }
      }
      for (std::uint64_t i = 0; i < ref.size(); ++i) {
        const std::uint64_t* got = index.entry(i);
        CHECK(std::vector<std::uint64_t>(got, got + stride) == ref[i]);
      }
    }
  }
}

// A reference for long runs: the entries oldest first and, per hash, its newest sequence.
struct IndexReference {
  std::deque<std::vector<std::uint64_t>> entries;
  std::unordered_map<std::uint64_t, std::uint64_t> newest;  // hash -> sequence
  std::uint64_t front = 0;
  std::uint64_t limit = 0;

  void push(const std::vector<std::uint64_t>& e) {
    if (entries.size() == limit) {
      const auto it = newest.find(entries.front()[0]);
      if (it->second == front) newest.erase(it);
      entries.pop_front();
      ++front;
    }
    entries.push_back(e);
    newest[e[0]] = front + entries.size() - 1;
  }
  const std::vector<std::uint64_t>* find(std::uint64_t h) const {
    const auto it = newest.find(h);
    return it == newest.end() ? nullptr : &entries[it->second - front];
  }
};

// Pushes `hashes` (entries of stride 2: the hash, then its push count) into a fresh index and
// the reference, checking size, front and a find of every probe after each push, and every
// entry at the end.
void check_against_reference(std::uint64_t limit, std::uint64_t first_front,
                             const std::vector<std::uint64_t>& hashes,
                             const std::vector<std::uint64_t>& probes) {
  features_detail::StatusIndex index;
  index.init(2, limit);
  index.set_front(first_front);
  IndexReference ref;
  ref.limit = limit;
  ref.front = first_front;
  for (std::size_t n = 0; n < hashes.size(); ++n) {
    const std::vector<std::uint64_t> e = {hashes[n], n};
    const bool evicted = index.push(e.data());
    REQUIRE(evicted == (ref.entries.size() == limit));
    ref.push(e);
    REQUIRE(index.size() == ref.entries.size());
    REQUIRE(index.front() == ref.front);
    for (const std::uint64_t h : probes) {
      const std::vector<std::uint64_t>* want = ref.find(h);
      const std::uint64_t* got = index.find(h);
      REQUIRE((got == nullptr) == (want == nullptr));
      if (want != nullptr) REQUIRE(std::vector<std::uint64_t>(got, got + 2) == *want);
    }
  }
  for (std::uint64_t i = 0; i < ref.entries.size(); ++i) {
    const std::uint64_t* got = index.entry(i);
    REQUIRE(std::vector<std::uint64_t>(got, got + 2) == ref.entries[i]);
  }
}

TEST_CASE("status index: hashes with the same low 32 bits are told apart", "[features]") {
  // Slots keep only a hash's low 32 bits; these hashes share them (one home slot, one run),
  // so every find, overwrite and eviction needs the full hash from the ring.
  constexpr std::uint64_t kTag = 0x9e3779b9;
  std::vector<std::uint64_t> same;
  for (std::uint64_t k = 1; k <= 6; ++k) same.push_back(k << 32 | kTag);
  std::vector<std::uint64_t> probes = same;
  probes.push_back(std::uint64_t{7} << 32 | kTag);  // same tag, never pushed
  probes.push_back(kTag);                           // high bits zero, never pushed
  probes.push_back(kTag + 1);                       // next home, never pushed

  SECTION("each pushed once, then evicted one by one") {
    std::vector<std::uint64_t> hashes = same;
    for (int k = 0; k < 8; ++k) hashes.push_back(0x5000 + k);  // other tags push them out
    check_against_reference(6, 0, hashes, probes);
  }
  SECTION("pushed again: an eviction of an older entry keeps the newer one") {
    std::vector<std::uint64_t> hashes;
    for (int round = 0; round < 4; ++round) {
      for (std::size_t k = 0; k < same.size(); k += 1 + round % 2) hashes.push_back(same[k]);
    }
    for (const std::uint64_t limit : {1u, 2u, 3u, 5u, 7u, 100u}) {
      check_against_reference(limit, 0, hashes, probes);
    }
  }
  SECTION("mixed with hashes whose homes follow the shared one") {
    // kTag + d lands d slots after kTag's home: the shared tag's run overlaps theirs, and
    // backward-shift erase moves slots of both across each other.
    std::mt19937_64 rng(11);
    for (int d = 1; d <= 4; ++d) probes.push_back(kTag + d);
    std::vector<std::uint64_t> hashes;
    for (int n = 0; n < 3000; ++n) {
      hashes.push_back(rng() % 2 ? same[rng() % same.size()] : kTag + 1 + rng() % 4);
    }
    for (const std::uint64_t limit : {1u, 2u, 4u, 9u, 64u}) {
      check_against_reference(limit, 0, hashes, probes);
    }
  }
}

TEST_CASE("status index: growth of the ring and the table across limits", "[features]") {
  // The ring starts at 256 entries and doubles up to the limit; the table starts at 1024 slots
  // and doubles to keep its load <= 1/2. Limits around those sizes, pushed past the limit.
  std::mt19937_64 rng(13);
  for (const std::uint64_t limit : {255u, 256u, 257u, 511u, 512u, 513u, 1024u, 3000u}) {
    std::vector<std::uint64_t> hashes;
    std::vector<std::uint64_t> probes;
    for (std::uint64_t n = 0; n < 3 * limit; ++n) {
      // Mostly distinct hashes (a full table of them), some repeats.
      hashes.push_back(n % 7 == 0 && n > 0 ? hashes[rng() % n] : rng());
    }
    for (int k = 0; k < 8; ++k) probes.push_back(hashes[rng() % hashes.size()]);
    probes.push_back(hashes.back());
    probes.push_back(rng());
    check_against_reference(limit, 0, hashes, probes);
  }
}

TEST_CASE("status index: sequence numbers near 2^32 and 2^64", "[features]") {
  // Slots hold ring positions, not sequence numbers: a restored front anywhere, and sequences
  // that cross 2^32 or wrap at 2^64, change nothing but front().
  std::mt19937_64 rng(17);
  std::vector<std::uint64_t> hashes;
  for (int n = 0; n < 2000; ++n) hashes.push_back(rng() % 500);
  // From the last two fronts below, hashes[699] and hashes[700] get sequences 2^32 - 1 and 2^32,
  // then 2^64 - 2 and 2^64 - 1 (whose sequence + 1 wraps to 0).
  const std::vector<std::uint64_t> probes = {0, 1, 250, 499, 500, hashes[699], hashes[700]};
  for (const std::uint64_t first :
       {std::uint64_t{1} << 32, (std::uint64_t{1} << 32) - 700, ~std::uint64_t{0} - 700}) {
    for (const std::uint64_t limit : {1u, 300u, 1500u}) {
      check_against_reference(limit, first, hashes, probes);
    }
  }
}

TEST_CASE("status index: limits above 2^31 keep 2^31 entries", "[features]") {
  features_detail::StatusIndex index;
  index.init(1, std::uint64_t{1} << 40);
  CHECK(index.limit() == std::uint64_t{1} << 31);
  index.init(1, std::uint64_t{1} << 31);
  CHECK(index.limit() == std::uint64_t{1} << 31);
  index.init(1, 1000);
  CHECK(index.limit() == 1000);
}

TEST_CASE("status index: memory of 2^20 entries", "[features]") {
  // Ring: 2^20 entries of two words. Table: 2^21 slots of 8 bytes (load <= 1/2).
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 20;
  features_detail::StatusIndex index;
  index.init(2, kLimit);
  std::mt19937_64 rng(19);
  for (std::uint64_t n = 0; n < kLimit + 1000; ++n) {
    const std::uint64_t e[2] = {rng(), n};
    (void)index.push(e);
  }
  CHECK(index.size() == kLimit);
  CHECK(index.bytes() == kLimit * 2 * 8 + 2 * kLimit * 8);
}

TEST_CASE("status index: a zero limit keeps nothing", "[features]") {
  features_detail::StatusIndex index;
  index.init(2, 0);
  const std::uint64_t e[2] = {42, 1};
  CHECK_FALSE(index.push(e));
  CHECK(index.size() == 0);
  CHECK(index.find(42) == nullptr);
}

}  // namespace vigil::test
