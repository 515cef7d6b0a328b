#include <charconv>

#include "vigil/engine.h"

namespace vigil {

std::int32_t kafka_murmur2(std::string_view key) noexcept {
  // Bit-for-bit the Java code of org.apache.kafka.common.utils.Utils.murmur2, in unsigned
  // arithmetic (Java's int overflow wraps the same way).
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const auto length = static_cast<std::uint32_t>(key.size());
  constexpr std::uint32_t kSeed = 0x9747b28c;
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  std::uint32_t h = kSeed ^ length;
  const std::uint32_t length4 = length / 4;
  for (std::uint32_t i = 0; i < length4; ++i) {
    const std::uint32_t i4 = i * 4;
    std::uint32_t k = data[i4] | (std::uint32_t{data[i4 + 1]} << 8) |
                      (std::uint32_t{data[i4 + 2]} << 16) | (std::uint32_t{data[i4 + 3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::uint32_t tail = length & ~3u;
  switch (length % 4) {
    case 3: h ^= std::uint32_t{data[tail + 2]} << 16; [[fallthrough]];
    case 2: h ^= std::uint32_t{data[tail + 1]} << 8; [[fallthrough]];
    case 1: h ^= data[tail]; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

std::uint32_t partition_for_card(std::uint64_t cc_num, std::uint32_t partitions) noexcept {
  if (partitions == 0) return 0;
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, cc_num);
  const auto h = static_cast<std::uint32_t>(
      kafka_murmur2(std::string_view(digits, static_cast<std::size_t>(end - digits))));
  return (h & 0x7fffffffu) % partitions;  // Utils.toPositive(h) % numPartitions
}

}  // namespace vigil
