// Rule language: precedence, errors (rule id, line, column, token), suggestions, types.
#include <catch2/catch.hpp>

#include "score_test_util.h"
#include "vigil/score.h"

using vigil::Config;
using vigil::Dictionary;
using vigil::RuleError;
using vigil::Scorer;
using vigil::score_test::feature_names;
using vigil::score_test::rule;

namespace {

const std::vector<std::string> kNames =
    feature_names({"card_count_1h", "card_amt_avg_30d", "merchant_count_1h"});

RuleError one_error(const std::string& when, std::uint32_t line = 0, std::uint32_t column = 0) {
  Config c;
  c.rules.push_back(rule("R1", when, 100, "", line, column));
  Dictionary dict;
  auto errors = Scorer::check(c, kNames, dict);
  REQUIRE(errors.size() == 1);
  return errors[0];
}

bool compiles(const std::string& when) {
  Config c;
  c.rules.push_back(rule("R1", when, 100));
  Dictionary dict;
  return Scorer::check(c, kNames, dict).empty();
}

}  // namespace

TEST_CASE("valid expressions compile", "[score]") {
  for (const char* when : {
           "amt > 500",
           "(hour >= 22 || hour < 4) && card_count_1h >= 3 && amt > 2 * card_amt_avg_30d",
           "in(category, [\"shopping_net\", \"misc_net\"]) && between(age, 18, 25)",
           "flagged(cc_num) || flagged(merchant) || flagged(card) || flagged(zip)",
           "log1p(amt) - log1p(card_amt_avg_30d) > 2.5 && category != 'gas_transport'",
           "!(amt <= 10) && abs(-amt) == amt && min(amt, 3) < max(hour, 1e3)",
           "in(hour, [0, 1, 2, -1]) || gender == \"F\" || city == state",
           "-amt < -.5",
       }) {
    INFO(when);
    CHECK(compiles(when));
  }
}

TEST_CASE("precedence follows C", "[score]") {
  Dictionary dict;
  Config c;
  // 1 + 2 * 3 == 7 folds to true only with * binding tighter than +; && binds tighter than ||.
  c.rules.push_back(rule("A", "1 + 2 * 3 == 7", 1));
  c.rules.push_back(rule("B", "amt > 1 || amt > 2 && amt > 3", 1));
  c.rules.push_back(rule("C", "(1 + 2) * 3 == 9 && 10 - 4 - 3 == 3 && 8 / 4 / 2 == 1", 1));
  auto s = Scorer::compile(c, kNames, dict);
  REQUIRE(s.ok());
  const std::string dump = s->dump_program();
  INFO(dump);
  CHECK(dump.find("rule 0 (A) <- m") != std::string::npos);
  CHECK(dump.find("= mask_const true") != std::string::npos);
  // B is amt > 1 || (amt > 2 && amt > 3); the && runs fused with a comparison.
  CHECK(dump.find("gt amt, 2 & m") != std::string::npos);
  CHECK(dump.find("or m") != std::string::npos);
  CHECK(dump.find("mask_const false") == std::string::npos);
}

TEST_CASE("errors name rule, line, column and token", "[score]") {
  SECTION("unknown name with suggestion, column from the document position") {
    // "when" content starts at line 12, column 20 of the document.
    auto e = one_error("(hour >= 22) && card_cnt_1h >= 3", 12, 20);
    CHECK(e.rule_id == "R1");
    CHECK(e.line == 12);
    CHECK(e.column == 20 + 16);
    CHECK(e.token == "card_cnt_1h");
    CHECK(e.message == "unknown name 'card_cnt_1h' (did you mean 'card_count_1h'?)");
    CHECK(e.to_string() ==
          "rule R1, line 12, column 36: unknown name 'card_cnt_1h' (did you mean "
          "'card_count_1h'?)");
  }
  SECTION("without a document position, column is 1-based in the expression") {
    auto e = one_error("amt > ");
    CHECK(e.line == 1);
    CHECK(e.column == 7);
    CHECK(e.token.empty());
    CHECK(e.message == "expected a value but the expression ends");
  }
  SECTION("unknown function") {
    auto e = one_error("lg1p(amt) > 3");
    CHECK(e.column == 1);
    CHECK(e.message == "unknown function 'lg1p' (did you mean 'log1p'?)");
  }
  SECTION("unknown name far from everything: no suggestion") {
    CHECK(one_error("zzzzzzzz > 1").message == "unknown name 'zzzzzzzz'");
  }
  SECTION("bad characters and operators") {
    CHECK(one_error("amt # 3").message == "unexpected character '#'");
    CHECK(one_error("amt # 3").column == 5);
    CHECK(one_error("amt = 3").message == "'=' is not an operator; use '==' to compare");
    CHECK(one_error("amt > 3 & hour < 2").token == "&");
    CHECK(one_error("amt > 3)").message == "unexpected ')' after the end of the expression");
    CHECK(one_error("(amt > 3").message == "expected ')' but the expression ends");
    CHECK(one_error("amt > 3abc").message == "malformed number '3abc'");
    CHECK(one_error("category == \"abc").message == "unterminated string literal");
    CHECK(one_error("").message == "empty expression");
  }
  SECTION("arity and arguments") {
    CHECK(one_error("abs(amt, 2) > 1").message == "abs() takes 1 argument, got 2");
    CHECK(one_error("between(amt, 1) ").message == "between() takes 3 arguments, got 2");
    auto e = one_error("flagged(amt)");
    CHECK(e.column == 9);
    CHECK(e.message == "flagged() needs a key field, and 'amt' is not one");
    CHECK(one_error("flagged(merchnt)").message ==
          "flagged() needs a key field, and 'merchnt' is not one (did you mean 'merchant'?)");
  }
}

TEST_CASE("type errors are caught at compile time", "[score]") {
  auto e = one_error("category > 3");
  CHECK(e.token == ">");
  CHECK(e.column == 10);
  CHECK(e.message ==
        "type error: '>' compares numbers, but 'category' is a string; strings compare only "
        "with == / != or in(...)");
  CHECK(one_error("amt == \"shopping_net\"").message ==
        "type error: cannot compare a number with a string using '=='");
  CHECK(one_error("amt + category > 1").message ==
        "type error: '+' needs numbers, but 'category' is a string");
  CHECK(one_error("amt + 1").message ==
        "a rule condition must be true or false, but this is a number");
  CHECK(one_error("amt && hour > 1").message ==
        "type error: '&&' needs a condition, but this is a number");
  CHECK(one_error("!amt").message == "type error: '!' needs a condition, but this is a number");
  CHECK(one_error("in(category, [1, 2])").message ==
        "type error: in() list of a string values, but '1' is a number");
  CHECK(one_error("abs(amt > 1) > 0").message ==
        "type error: abs() needs a number, but this is a condition");
  CHECK(one_error("(amt > 1) == (hour > 2)").message ==
        "type error: cannot compare two conditions with '=='; combine them with && / || / !");
}

TEST_CASE("model and duplicate-id errors", "[score]") {
  Config c;
  c.rules.push_back(rule("R1", "amt > 1", 1));
  c.rules.push_back(rule("R1", "amt > 2", 1));
  c.model.kind = vigil::ModelSpec::Kind::kLogistic;
  c.model.terms.push_back({"card_count_1hr", 0.5, 0, 1});
  Dictionary dict;
  auto errors = Scorer::check(c, kNames, dict);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].message == "duplicate rule id");
  CHECK(errors[1].to_string() ==
        "model term 'card_count_1hr', column 1: unknown name 'card_count_1hr' (did you mean "
        "'card_count_1h'?)");
  auto s = Scorer::compile(c, kNames, dict);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message() == "rule R1, line 1, column 1: duplicate rule id");
}
