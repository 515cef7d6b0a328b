#include <catch2/catch.hpp>
#include <sstream>

#include "stream.h"
#include "vigil/engine.h"
#include "vigil/testing.h"

using namespace vigil;
using vigil::test::Recorder;

namespace {

constexpr const char* kBurstConfig = R"json({
  "lateness": "10m",
  "late_policy": "dead_letter",
  "features": [
    {"name": "card_count_1h", "key": "cc_num", "agg": "count", "window": "1h"},
    {"name": "card_amt_avg_30d", "key": "cc_num", "agg": "avg", "field": "amt", "window": "30d"},
    {"name": "merchant_disputes_30d", "key": "merchant", "agg": "count", "events": "status:disputed", "window": "30d"}
  ],
  "rules": [
    {"id": "BURST", "when": "card_count_1h >= 3", "score": 600, "reason": "three or more in an hour"},
    {"id": "BIG", "when": "amt > 1000", "score": 300, "reason": "large amount"},
    {"id": "FLAGGED_CARD", "when": "flagged(cc_num)", "score": 1000, "reason": "flagged card"},
    {"id": "ONLINE", "when": "in(category, [\"shopping_net\", \"misc_net\"])", "score": 50, "reason": "online"}
  ],
  "thresholds": {"review": 500, "decline": 800}
})json";

std::string run_stream(const std::string& input, std::size_t chunk,
                       std::size_t batch_capacity = 1024) {
  EngineOptions o;
  o.batch_capacity = batch_capacity;
  auto engine = Engine::create_default(o);
  REQUIRE(engine.ok());
  Recorder rec;
  rec.attach(*engine);
  for (std::size_t pos = 0; pos < input.size(); pos += chunk)
    REQUIRE(engine->feed(std::string_view(input).substr(pos, chunk)).ok());
  REQUIRE(engine->finish().ok());
  return rec.decisions + rec.features + rec.dead_letters;
}

}  // namespace

TEST_CASE("engine: rules fire on a burst, decisions carry reasons", "[engine]") {
  Engine engine = testing::make_engine(kBurstConfig);
  testing::TxBuilder tx(engine.dictionary());
  tx.card(4111111111111111).at("2019-03-01 10:00:00").amount("20.00").category("grocery_pos");
  CHECK(engine.score(tx.build()).action == Action::kApprove);
  tx.at("2019-03-01 10:20:00");
  CHECK(engine.score(tx.build()).score == 0);
  tx.at("2019-03-01 10:40:00").amount("1500.00").category("shopping_net");
  const Decision d = engine.score(tx.build());
  CHECK(d.score == 950);
  CHECK(d.action == Action::kDecline);
  REQUIRE(d.reason_count == 3);
  CHECK(engine.reason_id(d.reasons[0]) == "BURST");
  CHECK(engine.reason_id(d.reasons[1]) == "BIG");
  CHECK(engine.reason_id(d.reasons[2]) == "ONLINE");
  CHECK(engine.reason_text(d.reasons[0]) == "three or more in an hour");
  // An hour later the window has slid past the first two.
  tx.at("2019-03-01 11:30:00").amount("5.00").category("grocery_pos");
  CHECK(engine.score(tx.build()).score == 0);
  const EngineCounters& c = engine.counters();
  CHECK(c.transactions == 4);
  CHECK(c.decisions[0] == 3);
  CHECK(c.decisions[2] == 1);
  CHECK(engine.score_latency().count == 4);
  CHECK(engine.score_latency().p50_ns > 0);
}

TEST_CASE("engine: flags from events and config, with expiry and unflag", "[engine]") {
  std::string cfg = kBurstConfig;
  cfg.replace(
      cfg.rfind('}'), 1,
      R"(, "flags": [{"entity": "cc_num", "id": "4000000000000099", "until": "2019-06-01", "reason": "stolen"}]})");
  Engine engine = testing::make_engine(cfg);
  std::vector<FlaggedHit> hits;
  engine.set_flagged_sink([&](const FlaggedHit& h) { hits.push_back(h); });
  testing::TxBuilder tx(engine.dictionary());
  tx.card(4000000000000099).at("2019-05-01 12:00:00");
  CHECK(engine.score(tx.build()).action == Action::kDecline);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].entity == Field::kCcNum);
  CHECK(engine.dictionary().view(hits[0].reason) == "stolen");
  tx.at("2019-06-02 12:00:00");  // expired
  CHECK(engine.score(tx.build()).action == Action::kApprove);

  FlagChange flag;
  flag.entity = Field::kCcNum;
  flag.key = 4000000000000123;
  flag.time = *parse_timestamp("2019-06-02 00:00:00");
  flag.reason = engine.dictionary().intern("reported");
  engine.apply(flag);
  tx.card(4000000000000123).at("2019-06-02 13:00:00");
  CHECK(engine.score(tx.build()).action == Action::kDecline);
  flag.flagged = false;
  engine.apply(flag);
  tx.at("2019-06-02 14:00:00");
  CHECK(engine.score(tx.build()).action == Action::kApprove);
  CHECK(engine.counters().flag_changes == 2);
  CHECK(engine.counters().flagged_hits == 2);
}

TEST_CASE("engine: status changes feed event features through the original transaction",
          "[engine]") {
  Engine engine = testing::make_engine(kBurstConfig);
  std::vector<double> disputes;
  engine.set_feature_sink(
      [&](const TransactionBatch& b, std::span<const std::string> names, const FeatureMatrix& m) {
        const auto col = static_cast<std::size_t>(
            std::find(names.begin(), names.end(), "merchant_disputes_30d") - names.begin());
        for (std::size_t i = 0; i < b.size(); ++i) disputes.push_back(m.at(i, col));
      });
  testing::TxBuilder tx(engine.dictionary());
  tx.merchant("fraud_Kozey-Boehm").at("2019-01-01 10:00:00").trans_num("orig");
  (void)engine.score(tx.build());
  StatusChange s;
  s.trans_num = *TransId::from("orig");
  s.time = *parse_timestamp("2019-01-03 10:00:00");
  s.status = engine.dictionary().intern("disputed");
  engine.apply(s);
  tx.card(4000000000000555).at("2019-01-04 10:00:00");
  (void)engine.score(tx.build());
  REQUIRE(disputes.size() == 2);
  CHECK(disputes[0] == 0);
  CHECK(disputes[1] == 1);
  CHECK(engine.counters().status_changes == 1);
}

TEST_CASE("engine: identical output for any chunking and batch size", "[engine][determinism]") {
  const std::string input = vigil::test::generated_ndjson(60, 20, 11, true);
  REQUIRE(input.size() > 100000);
  const std::string whole = run_stream(input, input.size());
  CHECK(whole.find(" review") != std::string::npos);
  CHECK(run_stream(input, 7) == whole);
  CHECK(run_stream(input, 4096) == whole);
  CHECK(run_stream(input, 65536, 16) == whole);
  CHECK(run_stream(input, 1 << 20, 64) == whole);
}

TEST_CASE("engine: one-byte chunks", "[engine][determinism]") {
  const std::string input = vigil::test::generated_ndjson(5, 3, 3, true);
  CHECK(run_stream(input, 1) == run_stream(input, input.size()));
}

TEST_CASE("engine: bad records go to dead letters, the stream goes on", "[engine]") {
  auto engine = Engine::create_default();
  REQUIRE(engine.ok());
  Recorder rec;
  rec.attach(*engine);
  const std::string input = vigil::test::generated_ndjson(3, 2, 5);
  const std::size_t first_nl = input.find('\n');
  std::string broken = input.substr(0, first_nl + 1) + "{\"trans_num\": \"x\", \"amt\": \n" +
                       "{\"trans_num\":\"y\",\"cc_num\":1234,\"amt\":\"12.50\",\"unix_time\":"
                       "1546300800,\"lat\":123}\n" +
                       input.substr(first_nl + 1);
  REQUIRE(engine->feed(broken).ok());
  REQUIRE(engine->finish().ok());
  const std::size_t good_lines =
      static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n'));
  CHECK(engine->counters().transactions == good_lines);
  CHECK(engine->counters().rejected == 2);
  CHECK_THAT(rec.dead_letters, Catch::Contains("2:"));
  CHECK_THAT(rec.dead_letters, Catch::Contains("3:lat:"));
}

TEST_CASE("engine: late transactions beyond the bound are dead-lettered and still scored",
          "[engine]") {
  Engine engine = testing::make_engine(kBurstConfig);
  std::vector<std::string> dead;
  engine.set_dead_letter_sink([&](const Rejected& r) { dead.push_back(r.reason); });
  testing::TxBuilder tx(engine.dictionary());
  tx.at("2019-01-01 12:00:00");
  (void)engine.score(tx.build());
  tx.at("2019-01-01 11:55:00");  // within 10m: placed in order
  (void)engine.score(tx.build());
  CHECK(dead.empty());
  tx.at("2019-01-01 11:00:00");  // an hour late
  const Decision d = engine.score(tx.build());
  CHECK(d.action == Action::kApprove);
  REQUIRE(dead.size() == 1);
  CHECK_THAT(dead[0], Catch::Contains("lateness"));
  CHECK(engine.counters().late_rejected == 1);
  CHECK(engine.counters().transactions == 3);
}

TEST_CASE("engine: hot reload swaps rules, a bad config is refused and the old one runs on",
          "[engine]") {
  Engine engine = testing::make_engine(kBurstConfig);
  testing::TxBuilder tx(engine.dictionary());
  tx.amount("2000.00").at("2019-01-01 10:00:00");
  CHECK(engine.score(tx.build()).score == 300);

  std::string stricter = kBurstConfig;
  stricter.replace(stricter.find("\"score\": 300"), 12, "\"score\": 700");
  REQUIRE(engine.reload_json(stricter).ok());
  tx.at("2019-01-01 12:00:00");
  CHECK(engine.score(tx.build()).score == 700);

  std::string typo = stricter;
  typo.replace(typo.find("amt > 1000"), 10, "amount > 1000");
  const Status bad = engine.reload_json(typo);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.message(), Catch::Contains("BIG"));
  tx.at("2019-01-01 14:00:00");
  CHECK(engine.score(tx.build()).score == 700);

  std::string other_features = stricter;
  other_features.replace(other_features.find("\"1h\""), 4, "\"2h\"");
  CHECK_THAT(engine.reload_json(other_features).message(), Catch::Contains("feature declarations"));
}

TEST_CASE("engine: process() on columnar batches matches feed()", "[engine]") {
  const std::string input = vigil::test::generated_ndjson(40, 10, 21);
  const std::string via_feed = run_stream(input, 1 << 16);
  auto streamed = Engine::create_default();
  auto batched = Engine::create_default();
  REQUIRE(streamed.ok());
  REQUIRE(batched.ok());
  // Re-play the feed engine's batches into a second engine through process().
  Recorder rec;
  rec.attach(*batched);
  streamed->set_decision_sink([&](const TransactionBatch& b, std::span<const Decision>) {
    TransactionBatch copy(b.capacity());
    for (std::size_t i = 0; i < b.size(); ++i) {
      Transaction t = b.row(i);
      // Strings move between dictionaries by value.
      for (StrId* s :
           {&t.merchant, &t.category, &t.first, &t.last, &t.street, &t.city, &t.state, &t.job}) {
        *s = batched->dictionary().intern(streamed->dictionary().view(*s));
      }
      copy.push_back(t);
    }
    (void)batched->process(copy);
  });
  REQUIRE(streamed->feed(input).ok());
  REQUIRE(streamed->finish().ok());
  CHECK(rec.decisions + rec.features ==
        via_feed.substr(0, rec.decisions.size() + rec.features.size()));
}

TEST_CASE("engine: a status index of size zero forgets every trans_num and scores every row",
          "[engine]") {
  // With `status_index_size: 0` no transaction is remembered for later status changes: event
  // features stay at zero, status changes are unknown, and batches (with events in the stream)
  // are scored as usual.
  std::string config = kBurstConfig;
  const std::string anchor = "\"late_policy\": \"dead_letter\",";
  config.insert(config.find(anchor) + anchor.size(), "\n  \"limits\": {\"status_index_size\": 0},");
  Engine engine = testing::make_engine(config);
  std::size_t rows = 0;
  double disputes = 0;
  engine.set_feature_sink(
      [&](const TransactionBatch& b, std::span<const std::string> names, const FeatureMatrix& m) {
        const auto col = static_cast<std::size_t>(
            std::find(names.begin(), names.end(), "merchant_disputes_30d") - names.begin());
        for (std::size_t i = 0; i < b.size(); ++i) disputes += m.at(i, col);
        rows += b.size();
      });
  const std::string input = vigil::test::generated_ndjson(60, 30, 5, /*events=*/true);
  REQUIRE(engine.feed(input).ok());
  REQUIRE(engine.finish().ok());
  CHECK(rows > 0);
  CHECK(rows == engine.counters().transactions);
  CHECK(engine.counters().status_changes > 0);
  CHECK(disputes == 0);
}
