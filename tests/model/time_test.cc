#include <catch2/catch.hpp>

#include "vigil/time.h"

using namespace vigil;

TEST_CASE("parse_timestamp: Sparkov and ISO forms", "[model][time]") {
  CHECK(parse_timestamp("1970-01-01 00:00:00") == Micros{0});
  CHECK(parse_timestamp("2019-01-01 00:00:18") == Micros{1546300818} * kMicrosPerSecond);
  CHECK(parse_timestamp("2019-01-01T00:00:18Z") == Micros{1546300818} * kMicrosPerSecond);
  CHECK(parse_timestamp("2019-01-01T00:00:18.25Z") ==
        Micros{1546300818} * kMicrosPerSecond + 250000);
  CHECK(parse_timestamp("2019-01-01") == Micros{1546300800} * kMicrosPerSecond);
  CHECK(parse_timestamp("1969-12-31 23:59:59") == -kMicrosPerSecond);
  CHECK_FALSE(parse_timestamp("2019-02-29 00:00:00"));
  CHECK(parse_timestamp("2020-02-29 00:00:00"));
  CHECK_FALSE(parse_timestamp("2019-13-01 00:00:00"));
  CHECK_FALSE(parse_timestamp("2019-01-01 24:00:00"));
  CHECK_FALSE(parse_timestamp("2019-01-01 00:00"));
  CHECK_FALSE(parse_timestamp("2019-01-01 00:00:00x"));
  CHECK_FALSE(parse_timestamp(""));
  CHECK_FALSE(parse_timestamp("abcd-ef-gh"));
}

TEST_CASE("dates and calendar fields", "[model][time]") {
  CHECK(parse_date("1988-03-09") == std::int32_t(days_from_civil(1988, 3, 9)));
  CHECK_FALSE(parse_date("1988-03-09 00:00:00"));
  for (std::int64_t d = -800000; d < 800000; d += 997) {
    const CivilDate c = civil_from_days(d);
    REQUIRE(days_from_civil(c.year, c.month, c.day) == d);
  }
  CHECK(format_date(static_cast<std::int32_t>(days_from_civil(1988, 3, 9))) == "1988-03-09");
  const Micros t = *parse_timestamp("2019-01-01 22:15:00");  // a Tuesday
  CHECK(hour_of(t) == 22);
  CHECK(weekday_of(t) == 1);
  CHECK(format_timestamp(t) == "2019-01-01 22:15:00");
  CHECK(hour_of(-1) == 23);
  CHECK(weekday_of(-1) == 2);  // 1969-12-31 was a Wednesday
}

TEST_CASE("parse_duration", "[model][time]") {
  CHECK(parse_duration("90s") == 90 * kMicrosPerSecond);
  CHECK(parse_duration("15m") == 15 * kMicrosPerMinute);
  CHECK(parse_duration("24h") == kMicrosPerDay);
  CHECK(parse_duration("90d") == 90 * kMicrosPerDay);
  CHECK(parse_duration("250ms") == 250'000);
  CHECK_FALSE(parse_duration("1w"));
  CHECK_FALSE(parse_duration("h"));
  CHECK_FALSE(parse_duration("-5m"));
  CHECK_FALSE(parse_duration("99999999999999999d"));
}
