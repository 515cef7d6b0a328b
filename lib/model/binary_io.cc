#include "model/binary_io.h"

#include <istream>
#include <ostream>

#include "absl/strings/str_format.h"

namespace vigil::detail {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

// Frames larger than this are refused before allocating: a corrupted length must not make
// restore() allocate terabytes.
constexpr std::uint64_t kMaxFrameBytes = std::uint64_t{1} << 40;

}  // namespace

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc) noexcept {
  crc = ~crc;
  for (const char ch : bytes)
    crc = kCrcTable[(crc ^ static_cast<std::uint8_t>(ch)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

Status write_frame(std::ostream& out, std::array<char, 4> magic, std::uint32_t version,
                   std::string_view payload) {
  BinaryWriter head;
  head.bytes(magic.data(), magic.size());
  head.u32(version);
  head.u64(payload.size());
  BinaryWriter tail;
  tail.u32(crc32c(payload));
  out.write(head.data().data(), static_cast<std::streamsize>(head.data().size()));
  out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
  out.write(tail.data().data(), static_cast<std::streamsize>(tail.data().size()));
  if (!out) return {ErrorCode::kIoError, "snapshot: write failed"};
  return {};
}

Status read_frame(std::istream& in, std::array<char, 4> magic, std::uint32_t max_version,
                  std::string& payload, std::uint32_t& version) {
  const std::string_view name(magic.data(), magic.size());
  char head[16];
  if (!in.read(head, sizeof head)) {
    return {ErrorCode::kCorrupt, absl::StrFormat("snapshot section '%s': truncated header", name)};
  }
  BinaryReader r(std::string_view(head, sizeof head));
  if (std::string_view(head, 4) != name) {
    return {ErrorCode::kCorrupt,
            absl::StrFormat("snapshot section '%s': bad magic (not a vigil snapshot, or sections "
                            "out of order)",
                            name)};
  }
  r.u32();  // magic, already checked
  version = r.u32();
  const std::uint64_t length = r.u64();
  if (version == 0 || version > max_version) {
    return {ErrorCode::kUnsupported,
            absl::StrFormat("snapshot section '%s': version %u, this build reads up to %u", name,
                            version, max_version)};
  }
  if (length > kMaxFrameBytes) {
    return {ErrorCode::kCorrupt,
            absl::StrFormat("snapshot section '%s': implausible length %u", name, length)};
  }
  payload.clear();
  // Read in bounded steps so a corrupted length fails at end of stream, not in the allocator.
  constexpr std::size_t kStep = std::size_t{1} << 20;
  std::uint64_t left = length;
  char buf[4096];
  while (left > 0) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, kStep));
    while (want > 0) {
      const std::size_t n = std::min(want, sizeof buf);
      if (!in.read(buf, static_cast<std::streamsize>(n))) {
        return {ErrorCode::kCorrupt,
                absl::StrFormat("snapshot section '%s': truncated payload (%u of %u bytes)", name,
                                length - left + static_cast<std::uint64_t>(in.gcount()), length)};
      }
      payload.append(buf, n);
      want -= n;
      left -= n;
    }
  }
  char crc_bytes[4];
  if (!in.read(crc_bytes, 4)) {
    return {ErrorCode::kCorrupt,
            absl::StrFormat("snapshot section '%s': truncated checksum", name)};
  }
  const std::uint32_t stored = BinaryReader(std::string_view(crc_bytes, 4)).u32();
  if (stored != crc32c(payload)) {
    return {ErrorCode::kCorrupt, absl::StrFormat("snapshot section '%s': checksum mismatch", name)};
  }
  return {};
}

}  // namespace vigil::detail
