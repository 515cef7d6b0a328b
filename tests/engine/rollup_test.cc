#include <catch2/catch.hpp>

#include "stream.h"
#include "vigil/engine.h"
#include "vigil/rollup.h"
#include "vigil/testing.h"

using namespace vigil;

TEST_CASE("age bands and ages", "[engine][rollup]") {
  CHECK(age_band_of(18) == 0);
  CHECK(age_band_of(25) == 1);
  CHECK(age_band_of(44.9) == 2);
  CHECK(age_band_of(45) == 3);
  CHECK(age_band_of(64) == 4);
  CHECK(age_band_of(90) == 5);
  CHECK(age_band_name(age_band_of(-1)) == "unknown");
  const auto dob = *parse_date("1988-03-09");
  CHECK(age_in_years(dob, *parse_timestamp("2019-03-08 23:59:59")) == 30);
  CHECK(age_in_years(dob, *parse_timestamp("2019-03-09 00:00:00")) == 31);
  CHECK(age_in_years(kNoDate, 0) == -1);
}

TEST_CASE("rollups add up to the engine's counters and export deterministically",
          "[engine][rollup]") {
  auto engine = Engine::create_default();
  REQUIRE(engine.ok());
  const std::string input = vigil::test::generated_ndjson(40, 10, 31);
  REQUIRE(engine->feed(input).ok());
  REQUIRE(engine->finish().ok());
  const Rollups& r = engine->rollups();
  const EngineCounters& c = engine->counters();
  CHECK(r.total().transactions == c.transactions);
  CHECK(r.total().alerts == c.decisions[1] + c.decisions[2]);
  std::uint64_t seg = 0, fraud = 0;
  for (const SegmentRow& row : r.segments(engine->dictionary())) {
    seg += row.cell.transactions;
    fraud += row.cell.fraud;
    CHECK(row.hour >= 0);
    CHECK(row.hour < 24);
  }
  CHECK(seg == c.transactions);
  CHECK(fraud == c.labelled[1][0] + c.labelled[1][1] + c.labelled[1][2]);
  std::uint64_t demo = 0;
  for (const char g : {'F', 'M', '?'}) {
    for (std::size_t b = 0; b < kAgeBands; ++b) demo += r.demographic(g, b).transactions;
  }
  CHECK(demo == c.transactions);

  auto again = Engine::create_default();
  REQUIRE(again.ok());
  REQUIRE(again->feed(input).ok());
  REQUIRE(again->finish().ok());
  CHECK(again->rollups().to_json(again->dictionary()) == r.to_json(engine->dictionary()));
  const std::string csv = r.to_csv(engine->dictionary());
  CHECK(
      csv.rfind(
          "dimension,state,category,hour,gender,age_band,transactions,amount,alerts,fraud\ntotal,",
          0) == 0);
  CHECK(csv.find("\nsegment,") != std::string::npos);
  CHECK(csv.find("\ndemographic,,,,F,") != std::string::npos);
}
