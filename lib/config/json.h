// Internal: a small JSON reader that keeps the line and column of every value.
//
// Configuration documents are small and read once, but their errors are read by people: every
// message must point at the offending spot. simdjson (used on the hot ingest path) does not
// report positions, so configs go through this reader instead. It accepts RFC 8259 JSON and
// rejects duplicate object keys.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/status.h"

namespace vigil::detail {

struct JsonMember;

struct JsonValue {
  enum class Kind : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;                 ///< string contents (unescaped), or the number's source text
  std::vector<JsonValue> items;     ///< array elements
  std::vector<JsonMember> members;  ///< object members, in order (a vector of an incomplete
                                    ///< type is fine since C++17; a pair of one is not)
  std::uint32_t line = 1;           ///< 1-based position of the value's first character
  std::uint32_t column = 1;

  const JsonValue* find(std::string_view key) const noexcept;
  bool is_string() const noexcept { return kind == Kind::kString; }
  bool is_number() const noexcept { return kind == Kind::kNumber; }
  bool is_object() const noexcept { return kind == Kind::kObject; }
  bool is_array() const noexcept { return kind == Kind::kArray; }
};

/// One member of an object.
struct JsonMember {
  std::string first;  ///< the name
  JsonValue second;   ///< the value
};

inline const JsonValue* JsonValue::find(std::string_view key) const noexcept {
  for (const JsonMember& m : members) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

/// "string", "number", … for messages.
std::string_view json_kind_name(JsonValue::Kind kind) noexcept;

/// Parses a whole document; errors are kParseError with "line L, column C: …".
Result<JsonValue> parse_json(std::string_view text);

}  // namespace vigil::detail
