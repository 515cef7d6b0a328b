#include "vigil/dictionary.h"

#include <algorithm>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "model/binary_io.h"

namespace vigil {

struct Dictionary::Impl {
  // Strings live in a deque so string_views into them (the map's keys) stay valid on growth.
  std::deque<std::string> strings;
  absl::flat_hash_map<std::string_view, StrId> ids;
  std::size_t bytes = 0;

  Impl() {
    strings.emplace_back();
    ids.emplace(std::string_view(strings.front()), kNoStr);
  }
};

Dictionary::Dictionary() : impl_(std::make_unique<Impl>()) {}
Dictionary::~Dictionary() = default;
Dictionary::Dictionary(Dictionary&&) noexcept = default;
Dictionary& Dictionary::operator=(Dictionary&& other) noexcept {
  if (this != &other) {
    impl_ = std::move(other.impl_);
    generation_ = std::max(generation_, other.generation_) + 1;
  }
  return *this;
}

StrId Dictionary::intern(std::string_view s) {
  if (auto it = impl_->ids.find(s); it != impl_->ids.end()) return it->second;
  const auto id = static_cast<StrId>(impl_->strings.size());
  const std::string& stored = impl_->strings.emplace_back(s);
  impl_->ids.emplace(std::string_view(stored), id);
  impl_->bytes += s.size();
  return id;
}

std::optional<StrId> Dictionary::find(std::string_view s) const noexcept {
  if (auto it = impl_->ids.find(s); it != impl_->ids.end()) return it->second;
  return std::nullopt;
}

std::string_view Dictionary::view(StrId id) const noexcept { return impl_->strings[id]; }

std::size_t Dictionary::size() const noexcept { return impl_->strings.size(); }

std::size_t Dictionary::memory_bytes() const noexcept {
  return impl_->bytes + impl_->strings.size() * sizeof(std::string) +
         impl_->ids.capacity() * (sizeof(std::string_view) + sizeof(StrId) + 1);
}

namespace {
constexpr std::array<char, 4> kMagic = {'V', 'D', 'I', 'C'};
constexpr std::uint32_t kVersion = 1;
}  // namespace

Status Dictionary::save(std::ostream& out) const {
  detail::BinaryWriter w;
  w.varint(impl_->strings.size() - 1);
  for (std::size_t i = 1; i < impl_->strings.size(); ++i) w.str(impl_->strings[i]);
  return detail::write_frame(out, kMagic, kVersion, w.data());
}

Status Dictionary::load(std::istream& in) {
  std::string payload;
  std::uint32_t version = 0;
  if (Status s = detail::read_frame(in, kMagic, kVersion, payload, version); !s.ok()) return s;
  detail::BinaryReader r(payload);
  const std::uint64_t n = r.count(1);
  Impl fresh;
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    const std::string_view s = r.str();
    if (!r.ok()) break;
    const auto id = static_cast<StrId>(fresh.strings.size());
    const std::string& stored = fresh.strings.emplace_back(s);
    if (!fresh.ids.emplace(std::string_view(stored), id).second) {
      return {ErrorCode::kCorrupt, absl::StrFormat("dictionary: duplicate string at id %u", id)};
    }
    fresh.bytes += s.size();
  }
  if (!r.ok() || !r.at_end()) return {ErrorCode::kCorrupt, "dictionary: malformed payload"};
  *impl_ = std::move(fresh);
  ++generation_;
  return {};
}

}  // namespace vigil
