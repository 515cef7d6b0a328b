// Internal: byte-stable binary encoding for snapshots.
//
// Every snapshot section is a frame: magic (4 bytes), format version (u32), payload length
// (u64), payload, CRC-32C-style checksum (u32, of the payload). Integers are little-endian
// fixed width or LEB128 varints; doubles are their IEEE-754 bits. Readers check every length
// against the bytes left, so a truncated or corrupted image is refused, never over-read.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <iosfwd>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::detail {

/// CRC-32 (Castagnoli polynomial, bitwise-table implementation).
std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0) noexcept;

class BinaryWriter {
 public:
  void u8(std::uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) { fixed(v); }
  void u64(std::uint64_t v) { fixed(v); }
  void i64(std::int64_t v) { fixed(static_cast<std::uint64_t>(v)); }
  void f64(double v) { fixed(std::bit_cast<std::uint64_t>(v)); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7F) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  /// Zig-zag signed varint.
  void svarint(std::int64_t v) {
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void str(std::string_view s) {
    varint(s.size());
    buf_.append(s);
  }
  void bytes(const void* p, std::size_t n) { buf_.append(static_cast<const char*>(p), n); }
  const std::string& data() const noexcept { return buf_; }
  std::string& data() noexcept { return buf_; }

 private:
  template <typename U>
  void fixed(U v) {
    char b[sizeof(U)];
    for (std::size_t i = 0; i < sizeof(U); ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    buf_.append(b, sizeof(U));
  }
  std::string buf_;
};

/// Reads what BinaryWriter wrote. Any read past the end sets a sticky failure flag and
/// returns zero values; check ok() once at the end (like a stream's failbit).
class BinaryReader {
 public:
  explicit BinaryReader(std::string_view data) : data_(data) {}
  std::uint8_t u8() { return static_cast<std::uint8_t>(fixed<std::uint8_t>()); }
  std::uint32_t u32() { return fixed<std::uint32_t>(); }
  std::uint64_t u64() { return fixed<std::uint64_t>(); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed<std::uint64_t>()); }
  double f64() { return std::bit_cast<double>(fixed<std::uint64_t>()); }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return fail();
      const auto b = static_cast<std::uint8_t>(data_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return fail();
  }
  std::int64_t svarint() {
    const std::uint64_t u = varint();
    return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string_view str() {
    const std::uint64_t n = varint();
    if (n > data_.size() - pos_) {
      fail();
      return {};
    }
    std::string_view s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  bool bytes(void* p, std::size_t n) {
    if (n > data_.size() - pos_) {
      fail();
      return false;
    }
    std::memcpy(p, data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  /// A count that must be plausible given the bytes left (each element takes >= min_bytes).
  std::uint64_t count(std::size_t min_bytes_each) {
    const std::uint64_t n = varint();
    if (min_bytes_each > 0 && n > (data_.size() - pos_) / min_bytes_each) return fail();
    return n;
  }
  bool ok() const noexcept { return ok_; }
  bool at_end() const noexcept { return pos_ == data_.size(); }
  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  std::uint64_t fail() noexcept {
    ok_ = false;
    pos_ = data_.size();
    return 0;
  }

 private:
  template <typename U>
  U fixed() {
    if (sizeof(U) > data_.size() - pos_) return static_cast<U>(fail());
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i)
      v |= static_cast<U>(static_cast<std::uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += sizeof(U);
    return v;
  }
  std::string_view data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

/// Writes one frame (magic, version, length, payload, checksum) to `out`.
Status write_frame(std::ostream& out, std::array<char, 4> magic, std::uint32_t version,
                   std::string_view payload);

/// Reads one frame written by write_frame; checks magic, version <= max_version, length and
/// checksum. On success `payload` holds the bytes and `version` the frame's version.
Status read_frame(std::istream& in, std::array<char, 4> magic, std::uint32_t max_version,
                  std::string& payload, std::uint32_t& version);

}  // namespace vigil::detail
