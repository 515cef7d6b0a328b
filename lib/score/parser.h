// Internal: the rule expression parser. Produces a typed AST; every error carries the byte
// offset and the text of the offending token inside the expression.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/model.h"

namespace vigil::score {

enum class Type : std::uint8_t { kNumber, kBool, kString };

/// What a node computes. Arithmetic and comparison operators follow C.
enum class Fn : std::uint8_t {
  kNumber,    // literal: number
  kString,    // literal: text
  kFeature,   // feature column `column`
  kStrField,  // raw string field `field` of the batch
  kAdd,
  kSub,
  kMul,
  kDiv,
  kNeg,
  kLt,
  kLe,
  kGt,
  kGe,
  kEq,
  kNe,
  kAnd,
  kOr,
  kNot,
  kAbs,
  kMin,
  kMax,
  kLog1p,
  kBetween,  // args: x, lo, hi
  kIn,       // args[0] in `strings` (string x) or `numbers` (numeric x)
  kFlagged,  // key field `field`
};

struct Expr {
  Fn fn = Fn::kNumber;
  Type type = Type::kNumber;
  std::uint32_t pos = 0;  // byte offset of the node's first token in the expression
  double number = 0;
  std::string text;  // literal text or name as written
  std::uint32_t column = 0;
  Field field = Field::kCcNum;
  std::vector<std::unique_ptr<Expr>> args;
  std::vector<std::string> strings;
  std::vector<double> numbers;
};

struct ParseError {
  std::uint32_t pos = 0;  // byte offset in the expression
  std::string token;      // "" at the end of the input
  std::string message;
};

/// The names an expression may use.
struct NameScope {
  std::span<const std::string> features;
};

/// Parses and type-checks one rule condition (must be a boolean expression).
/// Returns the AST, or nullptr and sets `error`.
std::unique_ptr<Expr> parse_condition(std::string_view text, const NameScope& scope,
                                      ParseError& error);

/// Parses and type-checks one model term: a number-valued or a condition-valued expression
/// (a condition counts 1 when true, 0 when false). Returns the AST, or nullptr and sets `error`.
std::unique_ptr<Expr> parse_term(std::string_view text, const NameScope& scope, ParseError& error);

/// The raw string fields usable in expressions (category, merchant, …) by name.
std::optional<Field> string_field_from_name(std::string_view name) noexcept;

/// The closest of `candidates` to `name` by edit distance, if close enough to suggest.
std::optional<std::string> closest_name(std::string_view name,
                                        std::span<const std::string_view> candidates);

}  // namespace vigil::score
