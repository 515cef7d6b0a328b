#include <catch2/catch.hpp>

#include "config/json.h"

using vigil::detail::JsonValue;
using vigil::detail::parse_json;

TEST_CASE("json reader: values and positions", "[config][json]") {
  auto doc =
      parse_json("{\n  \"a\": [1, -2.5e3, true, null],\n  \"b\": \"x\\u00e9\\ud83d\\ude00\\n\"\n}");
  REQUIRE(doc.ok());
  const JsonValue* a = doc->find("a");
  REQUIRE(a != nullptr);
  CHECK(a->line == 2);
  CHECK(a->column == 8);
  REQUIRE(a->items.size() == 4);
  CHECK(a->items[1].number == -2500.0);
  CHECK(a->items[2].boolean);
  CHECK(doc->find("b")->text == "x\xc3\xa9\xf0\x9f\x98\x80\n");
}

TEST_CASE("json reader: errors carry line and column", "[config][json]") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"{\"a\": 1,\n \"b\" 2}", "line 2, column 6: expected ':'"},
      {"{\"a\": tru}", "line 1, column 7: unexpected token 'tru'"},
      {"[1, 2", "line 1, column 6: unexpected end"},
      {"{\"a\": 1, \"a\": 2}", "line 1, column 10: duplicate member \"a\""},
      {"\"abc", "unterminated string"},
      {"01", "unexpected text after the end"},
      {"[1.]", "digits expected after '.'"},
      {"\"\\ud800\"", "unpaired surrogate"},
      {"1e999", "out of range"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto r = parse_json(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains(c.message));
  }
  std::string deep(100, '[');
  CHECK_THAT(parse_json(deep).status().message(), Catch::Contains("nesting deeper"));
}
