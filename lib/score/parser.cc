// Rule expression lexer and recursive-descent parser with type checking.
//
// Precedence, loosest first: ||, &&, == !=, < <= > >=, + -, * /, unary ! -, primary.
// Errors stop at the first problem of an expression and point at the token that caused it.
#include "score/parser.h"

#include "model/text.h"

#include "score/text.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <utility>

namespace vigil::score {
namespace {

enum class Tok : std::uint8_t {
  kEnd,
  kNumber,
  kIdent,
  kString,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kLt,
  kLe,
  kGt,
  kGe,
  kEqEq,
  kNe,
  kAndAnd,
  kOrOr,
  kBang,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::uint32_t pos = 0;
  std::string_view text;  // as written (quotes included for strings)
  double number = 0;
  std::string value;  // unescaped string literal
};

constexpr std::array<std::string_view, 7> kFunctions = {"abs",     "min", "max",    "log1p",
                                                        "between", "in",  "flagged"};

bool is_ident_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_ident_char(char c) noexcept { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

std::string_view type_name(Type t) noexcept {
  switch (t) {
    case Type::kNumber: return "a number";
    case Type::kBool: return "a condition";
    case Type::kString: return "a string";
  }
  return "?";
}

class Parser {
 public:
  Parser(std::string_view text, const NameScope& scope, ParseError& error)
      : text_(text), scope_(scope), error_(error) {}

  /// A rule condition (`term` false) or a model term (`term` true: a number or a condition).
  std::unique_ptr<Expr> parse(bool term) {
    if (!advance()) return nullptr;
    if (tok_.kind == Tok::kEnd) return fail(tok_, "empty expression");
    auto e = parse_or();
    if (!e) return nullptr;
    if (tok_.kind != Tok::kEnd) {
      return fail(tok_, cat("unexpected '", tok_.text, "' after the end of the expression"));
    }
    if (term && e->type == Type::kString) {
      return fail_at(
          e->pos, token_at(e->pos),
          "a model term must be a number or a condition, but this is a string; compare it, "
          "e.g. category == \"shopping_net\"");
    }
    if (!term && e->type != Type::kBool) {
      return fail_at(
          e->pos, token_at(e->pos),
          cat("a rule condition must be true or false, but this is ", type_name(e->type)));
    }
    return e;
  }

 private:
  // --- lexer -------------------------------------------------------------------------------
  bool advance() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
    tok_ = Token{};
    tok_.pos = static_cast<std::uint32_t>(pos_);
    if (pos_ >= text_.size()) return true;
    const char c = text_[pos_];
    const std::size_t start = pos_;
    auto two = [&](char next) { return pos_ + 1 < text_.size() && text_[pos_ + 1] == next; };
    auto punct = [&](Tok k, std::size_t n) {
      tok_.kind = k;
      tok_.text = text_.substr(start, n);
      pos_ += n;
      return true;
    };
    if (is_digit(c) || (c == '.' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))) {
      std::size_t end = pos_;
      while (end < text_.size() && (is_digit(text_[end]) || text_[end] == '.')) ++end;
      if (end < text_.size() && (text_[end] == 'e' || text_[end] == 'E')) {
        std::size_t e = end + 1;
        if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
        if (e < text_.size() && is_digit(text_[e])) {
          end = e;
          while (end < text_.size() && is_digit(text_[end])) ++end;
        }
      }
      while (end < text_.size() && is_ident_char(text_[end])) ++end;  // "3abc" is one bad token
      tok_.text = text_.substr(start, end - start);
      const char* first = text_.data() + start;
      const char* last = text_.data() + end;
      auto [ptr, ec] = std::from_chars(first, last, tok_.number);
      pos_ = end;
      if (ec != std::errc() || ptr != last) {
        fail(tok_, cat("malformed number '", tok_.text, "'"));
        return false;
      }
      tok_.kind = Tok::kNumber;
      return true;
    }
    if (is_ident_start(c)) {
      std::size_t end = pos_;
      while (end < text_.size() && is_ident_char(text_[end])) ++end;
      tok_.kind = Tok::kIdent;
      tok_.text = text_.substr(start, end - start);
      pos_ = end;
      return true;
    }
    if (c == '"' || c == '\'') {
      std::size_t end = pos_ + 1;
      std::string value;
      while (end < text_.size() && text_[end] != c) {
        if (text_[end] == '\\' && end + 1 < text_.size()) ++end;
        value.push_back(text_[end]);
        ++end;
      }
      if (end >= text_.size()) {
        tok_.text = text_.substr(start);
        fail(tok_, "unterminated string literal");
        return false;
      }
      tok_.kind = Tok::kString;
      tok_.text = text_.substr(start, end + 1 - start);
      tok_.value = std::move(value);
      pos_ = end + 1;
      return true;
    }
    switch (c) {
      case '(': return punct(Tok::kLParen, 1);
      case ')': return punct(Tok::kRParen, 1);
      case '[': return punct(Tok::kLBracket, 1);
      case ']': return punct(Tok::kRBracket, 1);
      case ',': return punct(Tok::kComma, 1);
      case '+': return punct(Tok::kPlus, 1);
      case '-': return punct(Tok::kMinus, 1);
      case '*': return punct(Tok::kStar, 1);
      case '/': return punct(Tok::kSlash, 1);
      case '<': return two('=') ? punct(Tok::kLe, 2) : punct(Tok::kLt, 1);
      case '>': return two('=') ? punct(Tok::kGe, 2) : punct(Tok::kGt, 1);
      case '=':
        if (two('=')) return punct(Tok::kEqEq, 2);
        tok_.text = text_.substr(start, 1);
        fail(tok_, "'=' is not an operator; use '==' to compare");
        return false;
      case '!': return two('=') ? punct(Tok::kNe, 2) : punct(Tok::kBang, 1);
      case '&':
        if (two('&')) return punct(Tok::kAndAnd, 2);
        tok_.text = text_.substr(start, 1);
        fail(tok_, "'&' is not an operator; use '&&'");
        return false;
      case '|':
        if (two('|')) return punct(Tok::kOrOr, 2);
        tok_.text = text_.substr(start, 1);
        fail(tok_, "'|' is not an operator; use '||'");
        return false;
      default: break;
    }
    // One UTF-8 sequence, so the message quotes a whole character.
    std::size_t n = 1;
    while (start + n < text_.size() &&
           (static_cast<unsigned char>(text_[start + n]) & 0xC0) == 0x80) {
      ++n;
    }
    tok_.text = text_.substr(start, n);
    fail(tok_, cat("unexpected character '", tok_.text, "'"));
    return false;
  }

  std::unique_ptr<Expr> fail(const Token& t, std::string message) {
    return fail_at(t.pos, std::string(t.text), std::move(message));
  }
  std::unique_ptr<Expr> fail_at(std::uint32_t pos, std::string token, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_.pos = pos;
      error_.token = std::move(token);
      error_.message = std::move(message);
    }
    return nullptr;
  }
  // The token starting at `pos` (for errors about a whole sub-expression).
  std::string token_at(std::uint32_t pos) const {
    ParseError ignored;
    Parser p(text_, scope_, ignored);
    p.pos_ = pos;
    if (!p.advance()) return std::string(text_.substr(pos, 1));
    return std::string(p.tok_.text);
  }

  bool expect(Tok kind, std::string_view what) {
    if (tok_.kind == kind) return advance();
    if (tok_.kind == Tok::kEnd) {
      fail(tok_, cat("expected ", what, " but the expression ends"));
    } else {
      fail(tok_, cat("expected ", what, ", found '", tok_.text, "'"));
    }
    return false;
  }

  static std::unique_ptr<Expr> node(Fn fn, Type type, std::uint32_t pos) {
    auto e = std::make_unique<Expr>();
    e->fn = fn;
    e->type = type;
    e->pos = pos;
    return e;
  }

  // --- type checks -------------------------------------------------------------------------
  bool need(const Expr& e, Type t, std::string_view context) {
    if (e.type == t) return true;
    fail_at(
        e.pos, token_at(e.pos),
        cat("type error: ", context, " needs ", type_name(t), ", but this is ", type_name(e.type)));
    return false;
  }

  // --- grammar -----------------------------------------------------------------------------
  std::unique_ptr<Expr> parse_or() {
    auto lhs = parse_and();
    while (lhs && tok_.kind == Tok::kOrOr) {
      if (!advance()) return nullptr;
      auto rhs = parse_and();
      if (!rhs) return nullptr;
      if (!need(*lhs, Type::kBool, "'||'") || !need(*rhs, Type::kBool, "'||'")) return nullptr;
      lhs = join(Fn::kOr, Type::kBool, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  std::unique_ptr<Expr> parse_and() {
    auto lhs = parse_equality();
    while (lhs && tok_.kind == Tok::kAndAnd) {
      if (!advance()) return nullptr;
      auto rhs = parse_equality();
      if (!rhs) return nullptr;
      if (!need(*lhs, Type::kBool, "'&&'") || !need(*rhs, Type::kBool, "'&&'")) return nullptr;
      lhs = join(Fn::kAnd, Type::kBool, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  std::unique_ptr<Expr> parse_equality() {
    auto lhs = parse_relational();
    while (lhs && (tok_.kind == Tok::kEqEq || tok_.kind == Tok::kNe)) {
      const Token op = tok_;
      if (!advance()) return nullptr;
      auto rhs = parse_relational();
      if (!rhs) return nullptr;
      if (lhs->type != rhs->type || lhs->type == Type::kBool) {
        if (lhs->type == Type::kBool && rhs->type == Type::kBool) {
          return fail(op, cat("type error: cannot compare two conditions with '", op.text,
                              "'; combine them with && / || / !"));
        }
        return fail(op, cat("type error: cannot compare ", type_name(lhs->type), " with ",
                            type_name(rhs->type), " using '", op.text, "'"));
      }
      if (lhs->type == Type::kString && lhs->fn == Fn::kString && rhs->fn == Fn::kString) {
        return fail(op,
                    "type error: comparing two string literals is always the same; compare a "
                    "field such as category with a literal");
      }
      lhs = join(op.kind == Tok::kEqEq ? Fn::kEq : Fn::kNe, Type::kBool, std::move(lhs),
                 std::move(rhs));
    }
    return lhs;
  }

  std::unique_ptr<Expr> parse_relational() {
    auto lhs = parse_additive();
    while (lhs && (tok_.kind == Tok::kLt || tok_.kind == Tok::kLe || tok_.kind == Tok::kGt ||
                   tok_.kind == Tok::kGe)) {
      const Token op = tok_;
      if (!advance()) return nullptr;
      auto rhs = parse_additive();
      if (!rhs) return nullptr;
      if (lhs->type != Type::kNumber || rhs->type != Type::kNumber) {
        const Expr& bad = lhs->type != Type::kNumber ? *lhs : *rhs;
        std::string hint;
        if (bad.type == Type::kString) hint = "; strings compare only with == / != or in(...)";
        return fail(
            op, cat("type error: '", op.text, "' compares numbers, but ",
                    bad.fn == Fn::kStrField || bad.fn == Fn::kString ? cat("'", bad.text, "' is ")
                                                                     : std::string("one side is "),
                    type_name(bad.type), hint));
      }
      Fn fn = op.kind == Tok::kLt   ? Fn::kLt
              : op.kind == Tok::kLe ? Fn::kLe
              : op.kind == Tok::kGt ? Fn::kGt
                                    : Fn::kGe;
      lhs = join(fn, Type::kBool, std::move(lhs), std::move(rhs));
    }
    return lhs;
  }

  std::unique_ptr<Expr> parse_additive() {
    auto lhs = parse_multiplicative();
    while (lhs && (tok_.kind == Tok::kPlus || tok_.kind == Tok::kMinus)) {
      const Token op = tok_;
      if (!advance()) return nullptr;
      auto rhs = parse_multiplicative();
      if (!rhs) return nullptr;
      if (!arith_operands(op, *lhs, *rhs)) return nullptr;
      lhs = join(op.kind == Tok::kPlus ? Fn::kAdd : Fn::kSub, Type::kNumber, std::move(lhs),
                 std::move(rhs));
    }
    return lhs;
  }

  std::unique_ptr<Expr> parse_multiplicative() {
    auto lhs = parse_unary();
    while (lhs && (tok_.kind == Tok::kStar || tok_.kind == Tok::kSlash)) {
      const Token op = tok_;
      if (!advance()) return nullptr;
      auto rhs = parse_unary();
      if (!rhs) return nullptr;
      if (!arith_operands(op, *lhs, *rhs)) return nullptr;
      lhs = join(op.kind == Tok::kStar ? Fn::kMul : Fn::kDiv, Type::kNumber, std::move(lhs),
                 std::move(rhs));
    }
    return lhs;
  }

  bool arith_operands(const Token& op, const Expr& lhs, const Expr& rhs) {
    if (lhs.type == Type::kNumber && rhs.type == Type::kNumber) return true;
    const Expr& bad = lhs.type != Type::kNumber ? lhs : rhs;
    fail(op, cat("type error: '", op.text, "' needs numbers, but ",
                 bad.fn == Fn::kStrField || bad.fn == Fn::kString ? cat("'", bad.text, "' is ")
                                                                  : std::string("one side is "),
                 type_name(bad.type)));
    return false;
  }

  std::unique_ptr<Expr> parse_unary() {
    if (tok_.kind == Tok::kBang || tok_.kind == Tok::kMinus) {
      const Token op = tok_;
      if (!advance()) return nullptr;
      auto operand = parse_unary();
      if (!operand) return nullptr;
      const bool is_not = op.kind == Tok::kBang;
      if (!need(*operand, is_not ? Type::kBool : Type::kNumber, is_not ? "'!'" : "unary '-'")) {
        return nullptr;
      }
      if (!is_not && operand->fn == Fn::kNumber) {  // "-3" is a literal
        operand->number = -operand->number;
        operand->pos = op.pos;
        return operand;
      }
      auto e = node(is_not ? Fn::kNot : Fn::kNeg, operand->type, op.pos);
      e->args.push_back(std::move(operand));
      return e;
    }
    return parse_primary();
  }

  std::unique_ptr<Expr> parse_primary() {
    const Token t = tok_;
    switch (t.kind) {
      case Tok::kNumber: {
        auto e = node(Fn::kNumber, Type::kNumber, t.pos);
        e->number = t.number;
        e->text = std::string(t.text);
        if (!advance()) return nullptr;
        return e;
      }
      case Tok::kString: {
        auto e = node(Fn::kString, Type::kString, t.pos);
        e->text = t.value;
        if (!advance()) return nullptr;
        return e;
      }
      case Tok::kLParen: {
        if (!advance()) return nullptr;
        auto e = parse_or();
        if (!e) return nullptr;
        if (!expect(Tok::kRParen, "')'")) return nullptr;
        return e;
      }
      case Tok::kIdent: {
        if (!advance()) return nullptr;
        if (tok_.kind == Tok::kLParen) return parse_call(t);
        return resolve_name(t);
      }
      case Tok::kEnd: return fail(t, "expected a value but the expression ends");
      default: return fail(t, cat("expected a value, found '", t.text, "'"));
    }
  }

  std::unique_ptr<Expr> resolve_name(const Token& t) {
    for (std::size_t i = 0; i < scope_.features.size(); ++i) {
      if (scope_.features[i] == t.text) {
        auto e = node(Fn::kFeature, Type::kNumber, t.pos);
        e->column = static_cast<std::uint32_t>(i);
        e->text = std::string(t.text);
        return e;
      }
    }
    if (auto f = string_field_from_name(t.text)) {
      auto e = node(Fn::kStrField, Type::kString, t.pos);
      e->field = *f;
      e->text = std::string(t.text);
      return e;
    }
    if (std::find(kFunctions.begin(), kFunctions.end(), t.text) != kFunctions.end()) {
      return fail(t, cat("'", t.text, "' is a function; call it as ", t.text, "(...)"));
    }
    std::vector<std::string_view> known(scope_.features.begin(), scope_.features.end());
    for (std::string_view f :
         {"category", "merchant", "state", "city", "job", "first", "last", "street", "gender"}) {
      known.push_back(f);
    }
    std::string message = cat("unknown name '", t.text, "'");
    if (auto best = closest_name(t.text, known)) {
      append(&message, " (did you mean '", *best, "'?)");
    }
    return fail(t, std::move(message));
  }

  // Parses "(arg, ...)" after a function name; `name` is the name token.
  std::unique_ptr<Expr> parse_call(const Token& name) {
    const std::string_view fn = name.text;
    if (std::find(kFunctions.begin(), kFunctions.end(), fn) == kFunctions.end()) {
      std::string message = cat("unknown function '", fn, "'");
      std::vector<std::string_view> known(kFunctions.begin(), kFunctions.end());
      if (auto best = closest_name(fn, known)) append(&message, " (did you mean '", *best, "'?)");
      return fail(name, std::move(message));
    }
    if (!advance()) return nullptr;  // '('
    if (fn == "flagged") return parse_flagged(name);
    if (fn == "in") return parse_in(name);

    std::vector<std::unique_ptr<Expr>> args;
    if (tok_.kind != Tok::kRParen) {
      while (true) {
        auto a = parse_or();
        if (!a) return nullptr;
        args.push_back(std::move(a));
        if (tok_.kind != Tok::kComma) break;
        if (!advance()) return nullptr;
      }
    }
    const Token close = tok_;
    if (!expect(Tok::kRParen, "',' or ')'")) return nullptr;
    const std::size_t want = fn == "abs" || fn == "log1p" ? 1 : fn == "between" ? 3 : 2;
    if (args.size() != want) {
      return fail_at(name.pos, std::string(name.text),
                     cat(fn, "() takes ", want, want == 1 ? " argument" : " arguments", ", got ",
                         args.size()));
    }
    for (const auto& a : args) {
      if (!need(*a, Type::kNumber, cat(fn, "()"))) return nullptr;
    }
    (void)close;
    const Fn f = fn == "abs"     ? Fn::kAbs
                 : fn == "log1p" ? Fn::kLog1p
                 : fn == "min"   ? Fn::kMin
                 : fn == "max"   ? Fn::kMax
                                 : Fn::kBetween;
    auto e = node(f, f == Fn::kBetween ? Type::kBool : Type::kNumber, name.pos);
    e->text = std::string(fn);
    e->args = std::move(args);
    return e;
  }

  std::unique_ptr<Expr> parse_flagged(const Token& name) {
    const Token arg = tok_;
    if (arg.kind != Tok::kIdent) {
      return fail(arg, "flagged() takes a key field such as cc_num or merchant");
    }
    std::optional<Field> field =
        arg.text == "card" ? std::optional<Field>(Field::kCcNum) : field_from_name(arg.text);
    if (!field || !is_key_field(*field)) {
      std::vector<std::string_view> keys = {"card"};
      for (std::size_t i = 0; i < kFieldCount; ++i) {
        if (is_key_field(static_cast<Field>(i))) keys.push_back(field_name(static_cast<Field>(i)));
      }
      std::string message = cat("flagged() needs a key field, and '", arg.text, "' is not one");
      if (auto best = closest_name(arg.text, keys)) {
        append(&message, " (did you mean '", *best, "'?)");
      }
      return fail(arg, std::move(message));
    }
    if (!advance()) return nullptr;
    if (!expect(Tok::kRParen, "')'")) return nullptr;
    auto e = node(Fn::kFlagged, Type::kBool, name.pos);
    e->field = *field;
    e->text = std::string(arg.text);
    return e;
  }

  std::unique_ptr<Expr> parse_in(const Token& name) {
    auto x = parse_additive();
    if (!x) return nullptr;
    if (x->type == Type::kBool) {
      return fail_at(x->pos, token_at(x->pos),
                     "type error: in() tests a number or a string field, not a condition");
    }
    if (!expect(Tok::kComma, "','")) return nullptr;
    if (!expect(Tok::kLBracket, "'[' starting the list of values")) return nullptr;
    auto e = node(Fn::kIn, Type::kBool, name.pos);
    while (tok_.kind != Tok::kRBracket) {
      const Token v = tok_;
      bool negative = false;
      if (v.kind == Tok::kMinus && x->type == Type::kNumber) {
        negative = true;
        if (!advance()) return nullptr;
      }
      const Token lit = tok_;
      if (x->type == Type::kString && lit.kind == Tok::kString) {
        e->strings.push_back(lit.value);
      } else if (x->type == Type::kNumber && lit.kind == Tok::kNumber) {
        e->numbers.push_back(negative ? -lit.number : lit.number);
      } else if (lit.kind == Tok::kString || lit.kind == Tok::kNumber) {
        return fail(lit,
                    cat("type error: in() list of ", type_name(x->type), " values, but '", lit.text,
                        "' is ", lit.kind == Tok::kString ? "a string" : "a number"));
      } else if (lit.kind == Tok::kEnd) {
        return fail(lit, "expected ']' but the expression ends");
      } else {
        return fail(lit, cat("in() lists literal values only, found '", lit.text, "'"));
      }
      if (!advance()) return nullptr;
      if (tok_.kind == Tok::kComma) {
        if (!advance()) return nullptr;
      } else if (tok_.kind != Tok::kRBracket) {
        return fail(tok_, tok_.kind == Tok::kEnd
                              ? std::string("expected ']' but the expression ends")
                              : cat("expected ',' or ']', found '", tok_.text, "'"));
      }
    }
    if (!advance()) return nullptr;  // ']'
    if (!expect(Tok::kRParen, "')'")) return nullptr;
    e->text = "in";
    e->args.push_back(std::move(x));
    return e;
  }

  static std::unique_ptr<Expr> join(Fn fn, Type type, std::unique_ptr<Expr> lhs,
                                    std::unique_ptr<Expr> rhs) {
    auto e = node(fn, type, lhs->pos);
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    return e;
  }

  std::string_view text_;
  const NameScope& scope_;
  ParseError& error_;
  std::size_t pos_ = 0;
  Token tok_;
  bool failed_ = false;
};

}  // namespace

std::unique_ptr<Expr> parse_condition(std::string_view text, const NameScope& scope,
                                      ParseError& error) {
  return Parser(text, scope, error).parse(false);
}

std::unique_ptr<Expr> parse_term(std::string_view text, const NameScope& scope, ParseError& error) {
  return Parser(text, scope, error).parse(true);
}

std::optional<Field> string_field_from_name(std::string_view name) noexcept {
  if (name == "gender") return Field::kGender;
  if (auto f = field_from_name(name); f && is_string_field(*f)) return f;
  return std::nullopt;
}

std::optional<std::string> closest_name(std::string_view name,
                                        std::span<const std::string_view> candidates) {
  const std::string_view best = detail::closest_match(name, candidates);
  if (best.empty()) return std::nullopt;
  return std::string(best);
}

}  // namespace vigil::score
