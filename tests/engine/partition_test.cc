#include <catch2/catch.hpp>
#include <vector>

#include "vigil/engine.h"

using namespace vigil;

TEST_CASE("kafka_murmur2 matches Kafka's Utils.murmur2 test vectors", "[engine][partition]") {
  // From Kafka's UtilsTest.testMurmur2.
  CHECK(kafka_murmur2("21") == -973932308);
  CHECK(kafka_murmur2("foobar") == -790332482);
  CHECK(kafka_murmur2("a-little-bit-long-string") == -985981536);
  CHECK(kafka_murmur2("a-little-bit-longer-string") == -1486304829);
  CHECK(kafka_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971);
  CHECK(kafka_murmur2("abc") == 479470107);
}

TEST_CASE("partition_for_card is Kafka's default partitioner on the card's digits",
          "[engine][partition]") {
  const std::uint64_t card = 2703186189652095ULL;
  const auto h = static_cast<std::uint32_t>(kafka_murmur2("2703186189652095"));
  CHECK(partition_for_card(card, 12) == (h & 0x7fffffffu) % 12);
  CHECK(partition_for_card(card, 1) == 0);
  CHECK(partition_for_card(card, 0) == 0);
  // Spread: 100k sequential-ish cards over 8 partitions stay within 5% of even.
  std::vector<int> counts(8);
  for (std::uint64_t i = 0; i < 100000; ++i)
    ++counts[partition_for_card(4000000000000000ULL + i * 7919, 8)];
  for (const int c : counts) CHECK(std::abs(c - 12500) < 625);
}
