#include <catch2/catch.hpp>

#include <limits>
#include <map>
#include <random>
#include <string>
#include <tuple>

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

namespace {

// The rollups computed the obvious way: an ordered map per segment, the age from the calendar.
struct ReferenceRollups {
  std::map<std::tuple<std::string, std::string, int>, RollupCell> segments;
  std::map<std::pair<char, std::size_t>, RollupCell> demographics;
  RollupCell total;

  void add(const TransactionBatch& b, std::span<const Decision> d, const Dictionary& dict) {
    for (std::size_t i = 0; i < b.size(); ++i) {
      const bool alert = d[i].action != Action::kApprove;
      const int age = age_in_years(b.dob[i], b.time[i]);
      const char g = b.gender[i] == 'F' || b.gender[i] == 'M' ? b.gender[i] : '?';
      for (RollupCell* c : {&segments[{std::string(dict.view(b.state[i])),
                                       std::string(dict.view(b.category[i])), hour_of(b.time[i])}],
                            &demographics[{g, age_band_of(age < 0 ? -1.0 : age)}], &total}) {
        ++c->transactions;
        c->amount_cents += b.amt_cents[i];
        c->alerts += alert ? 1 : 0;
        c->fraud += b.is_fraud[i] == 1 ? 1 : 0;
      }
    }
  }
};

}  // namespace

TEST_CASE("rollups match a calendar-and-ordered-map reference on random rows", "[engine][rollup]") {
  std::mt19937_64 rng(20261122);
  Dictionary dict;
  std::vector<StrId> states, categories;
  for (const char* s : {"NY", "CA", "TX", "WY", "PR"}) states.push_back(dict.intern(s));
  for (const char* c : {"travel", "grocery_pos", "misc_net"}) categories.push_back(dict.intern(c));
  // Many more (state, category) pairs than Rollups' block cache has slots, so cached pairs
  // collide and get evicted.
  for (int i = 0; i < 55; ++i) states.push_back(dict.intern("S" + std::to_string(i)));
  for (int i = 0; i < 40; ++i) categories.push_back(dict.intern("c" + std::to_string(i)));
  // Days around leap days and year ends, and the whole span of plausible ages.
  const std::int64_t anchors[] = {days_from_civil(2020, 2, 29),  days_from_civil(2019, 2, 28),
                                  days_from_civil(2019, 3, 1),   days_from_civil(2000, 2, 29),
                                  days_from_civil(2023, 12, 31), days_from_civil(1969, 12, 31)};
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };

  for (const std::size_t batch_size : {std::size_t{1}, std::size_t{7}, std::size_t{1024}}) {
    Rollups rollups;
    ReferenceRollups ref;
    for (int round = 0; round < 6; ++round) {
      TransactionBatch batch(batch_size);
      std::vector<Decision> decisions;
      while (!batch.full()) {
        Transaction t;
        const std::int64_t day =
            anchors[pick(std::size(anchors))] + static_cast<std::int64_t>(pick(3)) - 1;
        t.time = day * kMicrosPerDay + static_cast<Micros>(pick(kMicrosPerDay));
        const std::int64_t years = static_cast<std::int64_t>(pick(80)) - 2;  // some unborn
        const std::size_t dob_kind = pick(10);
        if (dob_kind == 0) {
          t.dob = kNoDate;
        } else {
          // Birthdays on the anchor's own month/day (boundaries), or anywhere.
          const CivilDate now = civil_from_days(day);
          const std::int64_t y = now.year - years;
          const std::int64_t near = dob_kind < 6 ? days_from_civil(y, now.month, 1) +
                                                       static_cast<std::int64_t>(now.day) - 1 +
                                                       static_cast<std::int64_t>(pick(3)) - 1
                                                 : day - years * 365 - pick(365);
          t.dob = static_cast<std::int32_t>(near);
        }
        t.state = states[pick(states.size())];
        t.category = categories[pick(categories.size())];
        t.gender = "FMX"[pick(3)];
        t.amt_cents = static_cast<std::int64_t>(pick(100'000)) - 1'000;
        t.is_fraud = static_cast<std::int8_t>(pick(3)) - 1;
        REQUIRE(batch.push_back(t));
        Decision d;
        d.action = static_cast<Action>(pick(3));
        decisions.push_back(d);
      }
      rollups.add(batch, decisions);
      ref.add(batch, decisions, dict);
    }
    CHECK(rollups.total() == ref.total);
    const std::vector<SegmentRow> rows = rollups.segments(dict);
    REQUIRE(rows.size() == ref.segments.size());
    std::size_t k = 0;
    for (const auto& [key, cell] : ref.segments) {
      CHECK(rows[k].state == std::get<0>(key));
      CHECK(rows[k].category == std::get<1>(key));
      CHECK(rows[k].hour == std::get<2>(key));
      CHECK(rows[k].cell == cell);
      ++k;
    }
    for (const char g : {'F', 'M', '?'}) {
      for (std::size_t band = 0; band < kAgeBands; ++band) {
        const auto it = ref.demographics.find({g, band});
        CHECK(rollups.demographic(g, band) ==
              (it == ref.demographics.end() ? RollupCell{} : it->second));
      }
    }
    // The binary image round-trips and is a function of the content.
    std::string image, again;
    rollups.save(image);
    Rollups restored;
    REQUIRE(restored.load(image).ok());
    restored.save(again);
    CHECK(again == image);
    CHECK(restored.to_json(dict) == rollups.to_json(dict));
  }
}

TEST_CASE("rollup hours and days at the ends of the time range", "[engine][rollup]") {
  Dictionary dict;
  const StrId state = dict.intern("NY"), category = dict.intern("travel");
  const Micros times[] = {std::numeric_limits<Micros>::min(),
                          std::numeric_limits<Micros>::min() + kMicrosPerHour + 7,
                          -1,
                          0,
                          kMicrosPerDay - 1,
                          std::numeric_limits<Micros>::max() - kMicrosPerDay,
                          std::numeric_limits<Micros>::max()};
  Rollups rollups;
  TransactionBatch batch(16);
  std::vector<Decision> decisions;
  std::map<int, std::uint64_t> want;  // hour -> transactions
  for (const Micros t : times) {
    Transaction tx;
    tx.time = t;
    tx.state = state;
    tx.category = category;
    REQUIRE(batch.push_back(tx));
    decisions.emplace_back();
    ++want[hour_of(t)];
  }
  rollups.add(batch, decisions);
  std::map<int, std::uint64_t> got;
  for (const SegmentRow& row : rollups.segments(dict)) got[row.hour] += row.cell.transactions;
  CHECK(got == want);
}
