#include "config/json.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_format.h"

namespace vigil::detail {
namespace {

constexpr int kMaxDepth = 64;

class Reader {
 public:
  explicit Reader(std::string_view text) : s_(text) {}

  Result<JsonValue> document() {
    JsonValue v;
    skip_ws();
    if (!value(v, 0)) return error_;
    skip_ws();
    if (pos_ != s_.size()) {
      fail("unexpected text after the end of the document");
      return error_;
    }
    return v;
  }

 private:
  bool fail(const std::string& what) {
    error_ = Status(ErrorCode::kParseError,
                    absl::StrFormat("line %u, column %u: %s", line_, col_, what));
    return false;
  }
  // A missing token at the very end is a truncated document, and is named so.
  bool expected(const std::string& what) {
    return fail(pos_ >= s_.size() ? "unexpected end of document (" + what + ")" : what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void advance() {
    if (s_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else if ((static_cast<unsigned char>(s_[pos_]) & 0xC0) != 0x80) {
      ++col_;  // count characters, not UTF-8 continuation bytes
    }
    ++pos_;
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      advance();
    }
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) {
      return fail(absl::StrFormat("unexpected token '%s'", token_here()));
    }
    for (std::size_t i = 0; i < word.size(); ++i) advance();
    return true;
  }
  std::string token_here() const {
    std::size_t end = pos_;
    while (end < s_.size() && end - pos_ < 20 && s_[end] != ',' && s_[end] != '\n' &&
           s_[end] != '}' && s_[end] != ']' && s_[end] != ' ') {
      ++end;
    }
    if (end == pos_ && end < s_.size()) ++end;
    return std::string(s_.substr(pos_, end - pos_));
  }

  bool value(JsonValue& v, int depth) {
    if (depth > kMaxDepth) return fail("nesting deeper than 64 levels");
    v.line = line_;
    v.column = col_;
    switch (peek()) {
      case '{': return object(v, depth);
      case '[': return array(v, depth);
      case '"': v.kind = JsonValue::Kind::kString; return string(v.text);
      case 't':
        v.kind = JsonValue::Kind::kBool;
        v.boolean = true;
        return literal("true");
      case 'f': v.kind = JsonValue::Kind::kBool; return literal("false");
      case 'n': return literal("null");
      case '\0':
        if (pos_ >= s_.size()) return fail("unexpected end of document");
        [[fallthrough]];
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return number(v);
        return fail(absl::StrFormat("unexpected token '%s'", token_here()));
    }
  }

  bool object(JsonValue& v, int depth) {
    v.kind = JsonValue::Kind::kObject;
    advance();  // {
    skip_ws();
    if (peek() == '}') {
      advance();
      return true;
    }
    while (true) {
      skip_ws();
      if (peek() != '"') return expected("expected a member name in double quotes");
      const std::uint32_t key_line = line_, key_col = col_;
      std::string key;
      if (!string(key)) return false;
      for (const auto& m : v.members) {
        if (m.first == key) {
          line_ = key_line;
          col_ = key_col;
          return fail(absl::StrFormat("duplicate member \"%s\"", key));
        }
      }
      skip_ws();
      if (peek() != ':') return expected("expected ':' after a member name");
      advance();
      skip_ws();
      JsonValue child;
      if (!value(child, depth + 1)) return false;
      v.members.push_back(JsonMember{std::move(key), std::move(child)});
      skip_ws();
      if (peek() == ',') {
        advance();
        continue;
      }
      if (peek() == '}') {
        advance();
        return true;
      }
      return expected("expected ',' or '}' in an object");
    }
  }

  bool array(JsonValue& v, int depth) {
    v.kind = JsonValue::Kind::kArray;
    advance();  // [
    skip_ws();
    if (peek() == ']') {
      advance();
      return true;
    }
    while (true) {
      skip_ws();
      JsonValue child;
      if (!value(child, depth + 1)) return false;
      v.items.push_back(std::move(child));
      skip_ws();
      if (peek() == ',') {
        advance();
        continue;
      }
      if (peek() == ']') {
        advance();
        return true;
      }
      return expected("expected ',' or ']' in an array");
    }
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool hex4(std::uint32_t& out) {
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = peek();
      int d;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      else
        return fail("invalid \\u escape: expected 4 hex digits");
      out = out * 16 + static_cast<std::uint32_t>(d);
      advance();
    }
    return true;
  }

  bool string(std::string& out) {
    advance();  // opening quote
    while (true) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      const char c = s_[pos_];
      if (c == '"') {
        advance();
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        out.push_back(c);
        advance();
        continue;
      }
      advance();
      const char e = peek();
      if (pos_ >= s_.size()) return fail("unterminated string");
      advance();
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {
            std::uint32_t lo;
            if (peek() != '\\') return fail("unpaired surrogate in \\u escape");
            advance();
            if (peek() != 'u') return fail("unpaired surrogate in \\u escape");
            advance();
            if (!hex4(lo)) return false;
            if (lo < 0xDC00 || lo >= 0xE000) return fail("invalid low surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            return fail("unpaired surrogate in \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default: return fail(absl::StrFormat("invalid escape '\\%c'", e));
      }
    }
  }

  bool number(JsonValue& v) {
    v.kind = JsonValue::Kind::kNumber;
    const std::size_t start = pos_;
    auto digits = [&] {
      std::size_t n = 0;
      while (peek() >= '0' && peek() <= '9') {
        advance();
        ++n;
      }
      return n;
    };
    if (peek() == '-') advance();
    if (peek() == '0') {
      advance();
    } else if (digits() == 0) {
      return fail("invalid number");
    }
    if (peek() == '.') {
      advance();
      if (digits() == 0) return fail("invalid number: digits expected after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      advance();
      if (peek() == '+' || peek() == '-') advance();
      if (digits() == 0) return fail("invalid number: digits expected in the exponent");
    }
    v.text.assign(s_.substr(start, pos_ - start));
    const auto [ptr, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), v.number);
    if (ec != std::errc() || !std::isfinite(v.number)) return fail("number out of range");
    return true;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::uint32_t line_ = 1;
  std::uint32_t col_ = 1;
  Status error_;
};

}  // namespace

std::string_view json_kind_name(JsonValue::Kind kind) noexcept {
  switch (kind) {
    case JsonValue::Kind::kNull: return "null";
    case JsonValue::Kind::kBool: return "boolean";
    case JsonValue::Kind::kNumber: return "number";
    case JsonValue::Kind::kString: return "string";
    case JsonValue::Kind::kArray: return "array";
    case JsonValue::Kind::kObject: return "object";
  }
  return "value";
}

Result<JsonValue> parse_json(std::string_view text) { return Reader(text).document(); }

}  // namespace vigil::detail
