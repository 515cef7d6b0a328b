// White-box test of the feature store's status index (lib/features/status_index.h) against a
// plain reference: a deque of entries and, per hash, its newest entry.
#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
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

TEST_CASE("status index: a zero limit keeps nothing", "[features]") {
  features_detail::StatusIndex index;
  index.init(2, 0);
  const std::uint64_t e[2] = {42, 1};
  CHECK_FALSE(index.push(e));
  CHECK(index.size() == 0);
  CHECK(index.find(42) == nullptr);
}

}  // namespace vigil::test
