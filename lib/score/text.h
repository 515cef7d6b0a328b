// Internal: string building for error messages and listings. (Debian's Abseil has its own
// absl::string_view, which absl::StrCat does not take std::string_view for, so the score
// component builds strings with this instead.)
#pragma once

#include <charconv>
#include <concepts>
#include <string>
#include <string_view>
#include <type_traits>

namespace vigil::score {

namespace text_detail {
inline void append(std::string& out, std::string_view s) { out.append(s); }
inline void append(std::string& out, char c) { out.push_back(c); }
template <class T>
requires(std::integral<T> && !std::same_as<T, char> &&
         !std::same_as<T, bool>) void append(std::string& out, T v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}
/// Shortest text that reads back as the same double.
inline void append(std::string& out, double v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}
}  // namespace text_detail

/// Appends each argument's text to `out`.
template <class... Args>
void append(std::string* out, const Args&... args) {
  (text_detail::append(*out, args), ...);
}

/// The concatenated text of the arguments.
template <class... Args>
std::string cat(const Args&... args) {
  std::string out;
  append(&out, args...);
  return out;
}

}  // namespace vigil::score
