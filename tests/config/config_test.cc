#include <catch2/catch.hpp>

#include "vigil/config.h"

using namespace vigil;

TEST_CASE("the default config parses and round-trips through to_json", "[config]") {
  auto c = parse_config(default_config_json());
  REQUIRE(c.ok());
  CHECK(c->features.size() >= 8);
  CHECK(c->rules.size() >= 5);
  CHECK(c->model.kind == ModelSpec::Kind::kLogistic);
  const std::string once = to_json(*c);
  auto again = parse_config(once);
  REQUIRE(again.ok());
  CHECK(to_json(*again) == once);
}

TEST_CASE("the DESIGN.md example config parses", "[config]") {
  auto c = parse_config(R"j({
  "lateness": "10m",
  "late_policy": "dead_letter",
  "features": [
    {"name": "card_count_1h",       "key": "cc_num",   "agg": "count",    "window": "1h"},
    {"name": "card_amt_avg_30d",    "key": "cc_num",   "agg": "avg",      "field": "amt", "window": "30d"},
    {"name": "card_merchants_24h",  "key": "cc_num",   "agg": "distinct", "field": "merchant", "window": "24h"},
    {"name": "merchant_count_1h",   "key": "merchant", "agg": "count",    "window": "1h", "granularity": "1m"},
    {"name": "merchant_disputes_30d","key": "merchant","agg": "count",    "events": "status:disputed", "window": "30d"}
  ],
  "rules": [
    {"id": "FLAGGED_CARD", "when": "flagged(cc_num)", "score": 1000, "reason": "card is on the flagged list"}
  ],
  "model": {"kind": "logistic", "bias": -7.0, "weights": {"amt": 0.004, "card_count_1h": 0.6}, "scale": 600},
  "thresholds": {"review": 500, "decline": 800},
  "flags": [{"entity": "cc_num", "id": "2703186189652095", "until": "2020-12-31T00:00:00Z", "reason": "reported stolen"}]
})j");
  REQUIRE(c.ok());
  CHECK(c->lateness == 10 * kMicrosPerMinute);
  CHECK(c->late_policy == LatePolicy::kDeadLetter);
  REQUIRE(c->features.size() == 5);
  CHECK(c->features[1].agg == Agg::kAvg);
  CHECK(c->features[1].field == Field::kAmt);
  CHECK(c->features[1].window == 30 * kMicrosPerDay);
  CHECK(c->features[3].granularity == kMicrosPerMinute);
  CHECK(c->features[4].events == "status:disputed");
  REQUIRE(c->rules.size() == 1);
  CHECK(c->rules[0].line == 12);
  CHECK(c->rules[0].column == 37);  // first character of the expression
  CHECK(c->model.terms.size() == 2);
  CHECK(c->model.terms[1].feature == "card_count_1h");
  CHECK(c->model.terms[1].weight == 0.6);
  REQUIRE(c->flags.size() == 1);
  CHECK(c->flags[0].until == *parse_timestamp("2020-12-31"));
}

TEST_CASE("config errors are precise", "[config]") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {R"j({"featurs": []})j",
       "line 1, column 13: unknown member \"featurs\" in the configuration (did you mean "
       "'features'?)"},
      {R"j({"features": [{"name": "x", "key": "cc_num", "agg": "count", "widnow": "1h"}]})j",
       "unknown member \"widnow\" in a feature (did you mean 'window'?)"},
      {R"j({"features": [{"name": "x", "key": "cc_num", "agg": "count", "window": "1w"}]})j",
       "column 72: \"window\": '1w' is not a duration"},
      {R"j({"features": [{"name": "x", "key": "amt", "agg": "count", "window": "1h"}]})j",
       "'amt' cannot be a key"},
      {R"j({"features": [{"name": "x", "key": "cc_nm", "agg": "count", "window": "1h"}]})j",
       "unknown field 'cc_nm' (did you mean 'cc_num'?)"},
      {R"j({"features": [{"name": "x", "key": "cc_num", "agg": "avg", "window": "1h"}]})j",
       "agg 'avg' needs a \"field\""},
      {R"j({"features": [{"name": "x", "key": "cc_num", "agg": "mean", "field": "amt", "window": "1h"}]})j",
       "unknown agg 'mean'"},
      {R"j({"features": [{"name": "x", "key": "cc_num", "agg": "count", "window": "1h"},
                        {"name": "x", "key": "cc_num", "agg": "count", "window": "2h"}]})j",
       "line 2, column 25: duplicate feature name 'x'"},
      {R"j({"features": [{"name": "x", "key": "cc_num", "agg": "count", "window": "1h", "events": "disputed"}]})j",
       "\"events\" must look like \"status:<value>\""},
      {R"j({"rules": [{"id": "R", "when": "amt > 1"}]})j", "rule 'R' needs \"score\""},
      {R"j({"rules": [{"id": "R", "when": 5, "score": 1}]})j",
       "\"when\" must be a string, not number"},
      {R"j({"thresholds": {"review": 900, "decline": 800}})j", "0 <= review <= decline <= 1000"},
      {R"j({"flags": [{"entity": "cc_num", "id": "12ab"}]})j",
       "flag id '12ab' is not a valid cc_num"},
      {R"j({"late_policy": "drop"})j", "late_policy 'drop' unknown"},
      {R"j({"model": {"kind": "logistic", "bias": 1}})j", "model needs \"scale\""},
      {R"j([1])j", "the configuration must be an object"},
      {R"j({"limits": {"status_index_size": 3e9}})j",
       "column 34: \"status_index_size\" must be a whole number, at most 2^31"},
      {R"j({"limits": {"memory_budget": 1e20}})j",
       "\"memory_budget\" must be a whole number of bytes below 2^64"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto r = parse_config(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains(c.message));
  }
}
