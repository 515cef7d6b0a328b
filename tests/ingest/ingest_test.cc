#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <string>

#include "ingest/values.h"
#include "log_sink.h"
#include "vigil/ingest.h"

using vigil::Field;
using vigil::Format;
using vigil::IngestOptions;
using vigil::RejectKind;
using vigil::testing::LogSink;
using vigil::testing::read_file;
using vigil::testing::run;

namespace {

IngestOptions opts(Format f) {
  IngestOptions o;
  o.format = f;
  return o;
}

// Runs `input` once and returns the sink for inspection (dictionary kept alive by the caller).
struct Harness {
  vigil::Dictionary dict;
  LogSink sink{dict};
  vigil::IngestStats stats;
  Harness(std::string_view input, IngestOptions o) {
    auto ing = vigil::Ingestor::create(std::move(o), dict, sink);
    REQUIRE(ing.ok());
    REQUIRE(ing->feed(input).ok());
    REQUIRE(ing->finish().ok());
    stats = ing->stats();
  }
  std::string str(vigil::StrId id) const { return std::string(dict.view(id)); }
};

constexpr std::int64_t kUs = 1'000'000;

}  // namespace

TEST_CASE("amounts and times parse exactly from decimal text", "[ingest]") {
  using vigil::ingest::NumError;
  using vigil::ingest::parse_scaled;
  std::int64_t v = 0;
  const std::int64_t kMax = 100'000'000'000'000;
  CHECK(parse_scaled("4.97", 2, kMax, v) == NumError::kOk);
  CHECK(v == 497);
  CHECK(parse_scaled("0.1", 2, kMax, v) == NumError::kOk);
  CHECK(v == 10);
  CHECK(parse_scaled("0.005", 2, kMax, v) == NumError::kOk);
  CHECK(v == 1);  // half away from zero
  CHECK(parse_scaled("-0.005", 2, kMax, v) == NumError::kOk);
  CHECK(v == -1);
  CHECK(parse_scaled("0.00499999", 2, kMax, v) == NumError::kOk);
  CHECK(v == 0);
  CHECK(parse_scaled("1.2e2", 2, kMax, v) == NumError::kOk);
  CHECK(v == 12000);
  CHECK(parse_scaled("12345E-3", 2, kMax, v) == NumError::kOk);
  CHECK(v == 1235);
  CHECK(parse_scaled(" 7 ", 2, kMax, v) == NumError::kOk);
  CHECK(v == 700);
  CHECK(parse_scaled("1e12", 2, kMax, v) == NumError::kOk);
  CHECK(parse_scaled("1000000000000.01", 2, kMax, v) == NumError::kRange);
  CHECK(parse_scaled("1e400", 2, kMax, v) == NumError::kRange);
  CHECK(parse_scaled("1e-400", 2, kMax, v) == NumError::kOk);
  CHECK(v == 0);
  CHECK(parse_scaled("NaN", 2, kMax, v) == NumError::kNonFinite);
  CHECK(parse_scaled("-Infinity", 2, kMax, v) == NumError::kNonFinite);
  CHECK(parse_scaled("abc", 2, kMax, v) == NumError::kNotNumber);
  CHECK(parse_scaled("1.2.3", 2, kMax, v) == NumError::kNotNumber);
  CHECK(parse_scaled("", 2, kMax, v) == NumError::kNotNumber);
  CHECK(parse_scaled("1e", 2, kMax, v) == NumError::kNotNumber);
  std::uint64_t u = 0;
  CHECK(vigil::ingest::parse_unsigned("18446744073709551615", UINT64_MAX, u) == NumError::kOk);
  CHECK(u == UINT64_MAX);
  CHECK(vigil::ingest::parse_unsigned("18446744073709551616", UINT64_MAX, u) == NumError::kRange);
  CHECK(vigil::ingest::parse_unsigned("-5", UINT64_MAX, u) == NumError::kRange);
  vigil::Micros t = 0;
  CHECK(vigil::ingest::parse_epoch("1546300800", t) == NumError::kOk);
  CHECK(t == 1546300800 * kUs);
  CHECK(vigil::ingest::parse_epoch("1546300800123", t) == NumError::kOk);
  CHECK(t == 1546300800123000);
  CHECK(vigil::ingest::parse_epoch("1546300800.25", t) == NumError::kOk);
  CHECK(t == 1546300800250000);
}

TEST_CASE("NDJSON golden file: values, events and stream order", "[ingest]") {
  Harness h(read_file(vigil::testing::data_path("sparkov.ndjson")), opts(Format::kNdjson));
  const auto& s = h.sink;
  INFO(s.text());
  REQUIRE(s.rows.size() == 3);
  REQUIRE(s.rejects.empty());
  const vigil::Transaction& a = s.rows[0];
  CHECK(a.trans_num.view() == "0b242abb623afc578575680df30655b9");
  CHECK(a.cc_num == 2703186189652095ULL);
  CHECK(a.amt_cents == 497);
  CHECK(a.time == *vigil::parse_timestamp("2019-01-01 00:00:18"));
  CHECK(a.unix_time == 1325376018);
  CHECK(h.str(a.merchant) == "fraud_Rippin, Kub and Mann");
  CHECK(h.str(a.category) == "misc_net");
  CHECK(h.str(a.job) == "Psychologist, counselling");
  CHECK(h.str(a.state) == "NC");
  CHECK(a.zip == 28654);
  CHECK(a.lat == 36.0788);
  CHECK(a.lon == -81.1781);
  CHECK(a.merch_lat == 36.011293);
  CHECK(a.merch_lon == -82.048315);
  CHECK(a.city_pop == 3495);
  CHECK(a.dob == *vigil::parse_date("1988-03-09"));
  CHECK(a.gender == 'F');
  CHECK(a.is_fraud == 0);

  const vigil::Transaction& b = s.rows[1];  // strings for numbers, cc_num > 2^53 exact
  CHECK(b.cc_num == 4992346398065154184ULL);
  CHECK(b.amt_cents == 10723);
  CHECK(b.time == 1325376044 * kUs);
  CHECK(b.zip == 99160);
  CHECK(b.is_fraud == 1);
  CHECK(h.str(b.merchant) == "fraud_\"Quoted\" \xC3\xA9");
  CHECK(std::isnan(b.merch_lat));
  CHECK(b.category == vigil::kNoStr);
  CHECK(b.dob == vigil::kNoDate);
  CHECK(b.gender == '\0');

  const vigil::Transaction& c = s.rows[2];
  CHECK(c.amt_cents == 10000);
  CHECK(c.gender == 'M');
  CHECK(c.is_fraud == 1);
  CHECK(c.unix_time == vigil::kNoUnixTime);

  REQUIRE(s.statuses.size() == 1);
  CHECK(s.statuses[0].trans_num.view() == "0b242abb623afc578575680df30655b9");
  CHECK(h.str(s.statuses[0].status) == "disputed");
  CHECK(h.str(s.statuses[0].previous) == "processed");
  CHECK(s.statuses[0].time == *vigil::parse_timestamp("2019-01-09 14:02:11"));
  REQUIRE(s.flags.size() == 2);
  CHECK(s.flags[0].flagged);
  CHECK(s.flags[0].entity == Field::kCcNum);
  CHECK(s.flags[0].key == 2703186189652095ULL);
  CHECK(s.flags[0].time == 1546300800 * kUs);
  CHECK(s.flags[0].until == *vigil::parse_timestamp("2019-03-01 00:00:00"));
  CHECK(h.str(s.flags[0].reason) == "reported stolen");
  CHECK_FALSE(s.flags[1].flagged);
  CHECK(s.flags[1].entity == Field::kMerchant);
  CHECK(s.flags[1].key == a.merchant);  // what TransactionBatch::key(kMerchant, row) gives
  // Order: the partial batch of two is delivered before the status event.
  REQUIRE(s.log.size() >= 4);
  CHECK(s.log[0] == "batch 2");
  CHECK(s.log[3].rfind("status ", 0) == 0);
  CHECK(h.stats.records == 6);
  CHECK(h.stats.transactions == 3);
  CHECK(h.stats.batches == 2);
}

TEST_CASE("last record without newline, half-cent rounding, fractional unix_time", "[ingest]") {
  Harness h(read_file(vigil::testing::data_path("no_newline.ndjson")), opts(Format::kNdjson));
  REQUIRE(h.sink.rows.size() == 1);
  CHECK(h.sink.rows[0].amt_cents == 1);
  CHECK(h.sink.rows[0].time == 1325376018 * kUs + 500000);
  CHECK(h.sink.rows[0].unix_time == 1325376018);
}

TEST_CASE("CSV golden file: RFC 4180 quoting, index column, embedded newline", "[ingest]") {
  Harness h(read_file(vigil::testing::data_path("sparkov.csv")), opts(Format::kCsv));
  INFO(h.sink.text());
  REQUIRE(h.sink.rows.size() == 3);
  REQUIRE(h.sink.rejects.empty());
  CHECK(h.str(h.sink.rows[0].merchant) == "fraud_Rippin, Kub and Mann");
  CHECK(h.str(h.sink.rows[1].merchant) == "fraud_Heller, Gutmann and \"Zieme\"");
  CHECK(h.str(h.sink.rows[1].street) == "43039 Riley Greens\nSuite 393");
  CHECK(h.sink.rows[1].merch_lat == 49.159046999999994);
  CHECK(h.sink.rows[1].is_fraud == 1);
  CHECK(h.sink.rows[2].cc_num == 38859492057661ULL);
  CHECK(std::isnan(h.sink.rows[2].merch_lat));
  CHECK(h.sink.rows[2].is_fraud == vigil::kUnlabelled);
  CHECK(h.stats.records == 3);
}

TEST_CASE("CSV line numbers count newlines inside quoted fields", "[ingest]") {
  std::string in = read_file(vigil::testing::data_path("sparkov.csv"));
  in += "3,2019-01-01 00:01:00,1,m,c,bad,,,,,,,,,,,,,x,,,,\n";
  Harness h(in, opts(Format::kCsv));
  REQUIRE(h.sink.rejects.size() == 1);
  CHECK(h.sink.rejects[0].line == 6);  // header, row, row spanning 2 lines, row, this
  CHECK(h.sink.rejects[0].field == "amt");
  CHECK(h.sink.rejects[0].reason == "amt: not a decimal number: 'bad'");
}

TEST_CASE("Kaggle head CSV: every row accepted, values exact", "[ingest]") {
  const char* root = std::getenv("VIGIL_SOURCE_DIR");
  const std::string path =
      std::string(root != nullptr ? root : ".") + "/../shared/data/kaggle_fraudTrain_head.csv";
  const std::string data = read_file(path);
  if (data.empty()) {
    WARN("kaggle_fraudTrain_head.csv not found; skipped");
    return;
  }
  Harness h(data, opts(Format::kCsv));
  INFO((h.sink.rejects.empty() ? std::string() : h.sink.rejects[0].reason));
  CHECK(h.sink.rejects.empty());
  CHECK(h.sink.rows.size() == 5039);
  const vigil::Transaction& r = h.sink.rows[0];
  CHECK(r.trans_num.view() == "0b242abb623afc578575680df30655b9");
  CHECK(r.cc_num == 2703186189652095ULL);
  CHECK(r.amt_cents == 497);
  CHECK(r.time == *vigil::parse_timestamp("2019-01-01 00:00:18"));
  CHECK(r.unix_time == 1325376018);
  CHECK(h.str(r.merchant) == "fraud_Rippin, Kub and Mann");
  CHECK(h.str(r.job) == "Psychologist, counselling");
  CHECK(r.merch_lon == -82.048315);
  const vigil::Transaction& r1 = h.sink.rows[1];
  CHECK(r1.cc_num == 630423337322ULL);
  CHECK(r1.amt_cents == 10723);
  CHECK(r1.merch_lat == 49.159046999999994);
}

TEST_CASE("DynamoDB Streams golden file", "[ingest]") {
  Harness h(read_file(vigil::testing::data_path("dynamodb.ndjson")), opts(Format::kCdc));
  const auto& s = h.sink;
  INFO(s.text());
  REQUIRE(s.rejects.empty());
  REQUIRE(s.rows.size() == 1);
  CHECK(s.rows[0].cc_num == 2703186189652095ULL);
  CHECK(s.rows[0].amt_cents == 497);
  CHECK(s.rows[0].is_fraud == 0);
  REQUIRE(s.statuses.size() == 1);  // MODIFY processed → disputed; disputed → disputed ignored
  CHECK(h.str(s.statuses[0].status) == "disputed");
  CHECK(h.str(s.statuses[0].previous) == "processed");
  CHECK(s.statuses[0].time == 1547043731 * kUs);
  REQUIRE(s.flags.size() == 2);  // flags table: INSERT → flag, REMOVE → unflag
  CHECK(s.flags[0].flagged);
  CHECK(s.flags[0].key == 2703186189652095ULL);
  CHECK(s.flags[0].time == 1546905600 * kUs);
  CHECK_FALSE(s.flags[1].flagged);
  CHECK(h.stats.ignored == 2);  // same-status MODIFY, REMOVE of a transaction
  CHECK(h.stats.records == 6);
}

TEST_CASE("Debezium golden file", "[ingest]") {
  Harness h(read_file(vigil::testing::data_path("debezium.ndjson")), opts(Format::kCdc));
  const auto& s = h.sink;
  INFO(s.text());
  REQUIRE(s.rejects.empty());
  REQUIRE(s.rows.size() == 2);  // c (with schema wrapper) and r (snapshot read)
  CHECK(s.rows[0].trans_num.view() == "1f76529f8574734946361c461b024d99");
  CHECK(s.rows[0].time == 1546300844 * kUs);  // TIMESTAMP column as epoch ms
  CHECK(s.rows[0].amt_cents == 10723);
  CHECK(s.rows[1].cc_num == 38859492057661ULL);
  CHECK(s.rows[1].amt_cents == 22011);
  REQUIRE(s.statuses.size() == 2);
  CHECK(h.str(s.statuses[0].status) == "refunded");
  CHECK(h.str(s.statuses[0].previous) == "processed");
  CHECK(s.statuses[0].time == 1547000000000 * 1000);
  CHECK(h.str(s.statuses[1].status) == "chargeback");  // native event row
  REQUIRE(s.flags.size() == 2);
  CHECK(s.flags[0].entity == Field::kMerchant);
  CHECK(s.flags[0].flagged);
  CHECK(h.str(s.flags[0].reason) == "collusion");
  CHECK(s.flags[0].time == 1547000003000 * 1000);
  CHECK_FALSE(s.flags[1].flagged);
  CHECK(s.flags[1].key == s.flags[0].key);
  CHECK(h.stats.ignored == 3);  // update without status change, delete of a tx, tombstone
}

namespace {

struct BadCase {
  const char* line;
  RejectKind kind;
  const char* field;
  const char* reason;
};

}  // namespace

TEST_CASE("every bad NDJSON record goes to the dead letter with a precise reason", "[ingest]") {
  const std::string good = R"({"trans_num":"ok","cc_num":1,"amt":1,"unix_time":1})";
  const BadCase cases[] = {
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1)", RejectKind::kMalformed, "", ""},
      {R"([1,2,3])", RejectKind::kMalformed, "", "record is not a JSON object"},
      {R"({"a":1} {"b":2})", RejectKind::kMalformed, "",
       "malformed JSON: content after the object"},
      {R"({"cc_num":1,"amt":1,"unix_time":1})", RejectKind::kMissingField, "trans_num",
       "missing required field trans_num"},
      {R"({"trans_num":"a","amt":1,"unix_time":1})", RejectKind::kMissingField, "cc_num",
       "missing required field cc_num"},
      {R"({"trans_num":"a","cc_num":1,"unix_time":1})", RejectKind::kMissingField, "amt",
       "missing required field amt"},
      {R"({"trans_num":"a","cc_num":1,"amt":1})", RejectKind::kMissingField,
       "trans_date_trans_time",
       "missing required time: neither trans_date_trans_time nor unix_time"},
      {R"({"trans_num":"a","cc_num":1,"amt":true,"unix_time":1})", RejectKind::kWrongType, "amt",
       "amt: expected a number, got a boolean"},
      {R"({"trans_num":"a","cc_num":1,"amt":"abc","unix_time":1})", RejectKind::kWrongType, "amt",
       "amt: not a decimal number: 'abc'"},
      {R"({"trans_num":"a","cc_num":1,"amt":"NaN","unix_time":1})", RejectKind::kOutOfRange, "amt",
       "amt: non-finite value 'NaN'"},
      {R"({"trans_num":"a","cc_num":1,"amt":1e13,"unix_time":1})", RejectKind::kOutOfRange, "amt",
       "amt: '1e13' out of range"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"lat":123})", RejectKind::kOutOfRange,
       "lat", "lat 123 out of range [-90, 90]"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"merch_long":-180.5})",
       RejectKind::kOutOfRange, "merch_long", "merch_long -180.5 out of range [-180, 180]"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"long":"inf"})",
       RejectKind::kOutOfRange, "long", "long: non-finite value 'inf'"},
      {R"({"trans_num":"a","cc_num":-4,"amt":1,"unix_time":1})", RejectKind::kOutOfRange, "cc_num",
       "cc_num: '-4' out of range [0, 18446744073709551615]"},
      {R"({"trans_num":"a","cc_num":18446744073709551616,"amt":1,"unix_time":1})",
       RejectKind::kOutOfRange, "cc_num",
       "cc_num: '18446744073709551616' out of range [0, 18446744073709551615]"},
      {R"({"trans_num":"a","cc_num":0,"amt":1,"unix_time":1})", RejectKind::kOutOfRange, "cc_num",
       "cc_num must not be 0"},
      {R"({"trans_num":"a","cc_num":4.5,"amt":1,"unix_time":1})", RejectKind::kWrongType, "cc_num",
       "cc_num: not a non-negative integer: '4.5'"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"dob":"1988-02-30"})",
       RejectKind::kOutOfRange, "dob", "dob: not a valid YYYY-MM-DD date: '1988-02-30'"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"gender":"X"})",
       RejectKind::kOutOfRange, "gender", "gender must be 'M' or 'F', got 'X'"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"is_fraud":2})",
       RejectKind::kOutOfRange, "is_fraud", "is_fraud must be 0 or 1, got '2'"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"zip":"28654-1"})",
       RejectKind::kWrongType, "zip", "zip: not a non-negative integer: '28654-1'"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"city_pop":-3})",
       RejectKind::kOutOfRange, "city_pop", "city_pop: '-3' out of range [0, 4294967295]"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"merchant":{"x":1}})",
       RejectKind::kWrongType, "merchant", "merchant: expected a string, got an object or array"},
      {R"({"trans_num":"a","cc_num":1,"amt":1,"trans_date_trans_time":"2019-13-01 00:00:00"})",
       RejectKind::kOutOfRange, "trans_date_trans_time",
       "trans_date_trans_time: not a valid timestamp: '2019-13-01 00:00:00'"},
      {R"({"trans_num":"0123456789012345678901234567890123456789012345678","cc_num":1,"amt":1,"unix_time":1})",
       RejectKind::kTooLarge, "trans_num", "trans_num is 49 bytes, limit 47"},
      {R"({"type":"refund","trans_num":"a"})", RejectKind::kUnsupported, "type",
       "unknown event type 'refund' (expected transaction, status, flag or unflag)"},
      {R"({"type":"status","trans_num":"a","time":1})", RejectKind::kMissingField, "status",
       "missing required field status"},
      {R"({"type":"flag","entity":"amt","id":"1","time":1})", RejectKind::kOutOfRange, "entity",
       ""},
      {R"({"type":"flag","entity":"cc_num","id":"x1","time":1})", RejectKind::kWrongType, "id",
       "id 'x1' is not a valid cc_num"},
      {R"({"type":"unflag","entity":"cc_num","id":"1"})", RejectKind::kMissingField, "time",
       "missing required field time"},
      {"{\"trans_num\":\"a\",\"cc_num\":1,\"amt\":1,\"unix_time\":1,\"city\":\"M\xC3\x28nchen\"}",
       RejectKind::kInvalidUtf8, "", "invalid UTF-8 at byte 59 of the record"},
  };
  for (const BadCase& c : cases) {
    const std::string input = good + "\n" + c.line + "\n" + good + "\n";
    Harness h(input, opts(Format::kNdjson));
    INFO(c.line);
    INFO(h.sink.text());
    REQUIRE(h.sink.rejects.size() == 1);
    CHECK(h.sink.rows.size() == 2);  // the good records around it are kept
    const vigil::Rejected& r = h.sink.rejects[0];
    CHECK(r.offset == good.size() + 1);
    CHECK(r.line == 2);
    CHECK(h.sink.records[0] == c.line);
    CHECK(r.field == c.field);
    if (*c.reason != '\0') CHECK(r.reason == c.reason);
    CHECK(h.stats.rejected_by[static_cast<std::size_t>(c.kind)] == 1);
  }
}

TEST_CASE("CSV bad records: quoting, field count, invalid UTF-8", "[ingest]") {
  const std::string header = "trans_num,cc_num,amt,unix_time,city\n";
  const BadCase cases[] = {
      {"a,1,1,1,\"unterminated", RejectKind::kMalformed, "city",
       "malformed CSV in field 5: unterminated quoted field"},
      {"a,1,\"1\"x,1,c", RejectKind::kMalformed, "amt",
       "malformed CSV in field 3: unexpected character after a closing quote"},
      {"a,1,1,1", RejectKind::kMalformed, "", "expected 5 fields as in the header, got 4"},
      {"a,1,1,1,c,d", RejectKind::kMalformed, "", "expected 5 fields as in the header, got 6"},
      {"a,1,1,1,M\xC3\x28nchen", RejectKind::kInvalidUtf8, "city",
       "city: invalid UTF-8 at byte 1 of the value"},
      {"a,1,1,1,\"M\xFFnchen\"", RejectKind::kInvalidUtf8, "city",
       "city: invalid UTF-8 at byte 1 of the value"},
  };
  for (const BadCase& c : cases) {
    const std::string input = header + "ok,1,1,1,x\n" + c.line + "\nok2,1,1,1,y\n";
    Harness h(input, opts(Format::kCsv));
    INFO(c.line);
    INFO(h.sink.text());
    REQUIRE(h.sink.rejects.size() == 1);
    // An unterminated quote runs to the end of the stream, as RFC 4180 reads it.
    const bool swallows = std::string_view(c.reason).find("unterminated") != std::string_view::npos;
    CHECK(h.sink.rows.size() == (swallows ? 1u : 2u));
    CHECK(h.sink.rejects[0].line == 3);
    CHECK(h.sink.rejects[0].offset == header.size() + 11);
    CHECK(h.sink.rejects[0].field == c.field);
    CHECK(h.sink.rejects[0].reason == c.reason);
    CHECK(h.stats.rejected_by[static_cast<std::size_t>(c.kind)] == 1);
  }
  // Invalid UTF-8 in a column vigil does not keep is fine.
  Harness ok(header.substr(0, header.size() - 1) + ",note\na,1,1,1,c,\xFF\n", opts(Format::kCsv));
  CHECK(ok.sink.rejects.empty());
  CHECK(ok.sink.rows.size() == 1);
}

TEST_CASE("CDC bad envelopes", "[ingest]") {
  const BadCase cases[] = {
      {R"({"eventName":"UPSERT","dynamodb":{"NewImage":{}}})", RejectKind::kUnsupported,
       "eventName", "DynamoDB eventName 'UPSERT' is not INSERT, MODIFY or REMOVE"},
      {R"({"op":"x","after":{}})", RejectKind::kUnsupported, "op",
       "Debezium op 'x' is not c, u, d, r, t or m"},
      {R"({"hello":"world"})", RejectKind::kUnsupported, "", ""},
      {R"({"op":"c","before":null,"after":null})", RejectKind::kMissingField, "NewImage", ""},
      {R"({"eventName":"INSERT","dynamodb":{"NewImage":{"trans_num":{"S":"a"},"cc_num":{"N":"1"},"amt":{"N":"x"},"unix_time":{"N":"1"}}}})",
       RejectKind::kWrongType, "amt", "amt: not a decimal number: 'x'"},
      {R"({"eventName":"INSERT","dynamodb":{"NewImage":{"trans_num":{"S":"a"},"cc_num":{"N":"1"},"amt":{"M":{}},"unix_time":{"N":"1"}}}})",
       RejectKind::kWrongType, "amt", "amt: expected a number, got an object or array"},
      {R"({"Records":[{"eventName":"INSERT","dynamodb":{"NewImage":{"trans_num":{"S":"a"}}}}]})",
       RejectKind::kMissingField, "cc_num", "Records[0]: missing required field cc_num"},
  };
  const std::string good =
      R"({"op":"c","after":{"trans_num":"ok","cc_num":1,"amt":1,"unix_time":1}})";
  for (const BadCase& c : cases) {
    Harness h(good + "\n" + c.line + "\n" + good + "\n", opts(Format::kCdc));
    INFO(c.line);
    INFO(h.sink.text());
    REQUIRE(h.sink.rejects.size() == 1);
    CHECK(h.sink.rows.size() == 2);
    CHECK(h.sink.rejects[0].line == 2);
    CHECK(h.sink.rejects[0].field == c.field);
    if (*c.reason != '\0') CHECK(h.sink.rejects[0].reason == c.reason);
    CHECK(h.stats.rejected_by[static_cast<std::size_t>(c.kind)] == 1);
  }
}

TEST_CASE("limits: record size, huge line, string size, field count", "[ingest]") {
  const std::string good = R"({"trans_num":"ok","cc_num":1,"amt":1,"unix_time":1})";
  IngestOptions o = opts(Format::kNdjson);
  o.limits.max_record_bytes = 100;
  o.limits.max_string_bytes = 10;
  o.limits.max_fields = 6;
  const std::string huge = "{\"trans_num\":\"" + std::string(1 << 20, 'x') + "\"}";
  const std::string long_str =
      R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1,"city":"abcdefghijk"})";
  const std::string many = R"({"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7})";
  const std::string input = good + "\n" + huge + "\n" + long_str + "\n" + many + "\n" + good + "\n";
  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
    vigil::Dictionary dict;
    LogSink sink(dict);
    auto ing = vigil::Ingestor::create(o, dict, sink);
    REQUIRE(ing.ok());
    for (std::size_t p = 0; p < input.size(); p += chunk == 0 ? input.size() : chunk) {
      REQUIRE(ing->feed(std::string_view(input).substr(p, chunk == 0 ? input.size() : chunk)).ok());
    }
    REQUIRE(ing->finish().ok());
    INFO(sink.text());
    REQUIRE(sink.rejects.size() == 3);
    CHECK(sink.rows.size() == 2);
    CHECK(sink.rejects[0].reason == "record is 1048592 bytes, limit 100");
    CHECK(sink.records[0].size() == 100);
    CHECK(sink.rejects[0].line == 2);
    CHECK(sink.rejects[1].reason == "city is 11 bytes, limit 10");
    CHECK(sink.rejects[1].line == 3);
    CHECK(sink.rejects[1].offset == good.size() + huge.size() + 2);
    CHECK(sink.rejects[2].reason == "record has more than 6 fields");
  }
}

TEST_CASE("CRLF, empty lines, BOM, whitespace lines", "[ingest]") {
  const std::string good1 = R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1})";
  const std::string good2 = R"({"trans_num":"b","cc_num":2,"amt":2,"unix_time":2})";
  Harness h("\xEF\xBB\xBF" + good1 + "\r\n\r\n   \n\n" + good2 + "\r\n", opts(Format::kNdjson));
  CHECK(h.sink.rejects.empty());
  CHECK(h.sink.rows.size() == 2);
  CHECK(h.stats.records == 2);

  Harness c("\xEF\xBB\xBFtrans_num,cc_num,amt,unix_time\r\na,1,1.5,1\r\n\r\nb,2,2,2\r\nc,3,x,3\r\n",
            opts(Format::kCsv));
  CHECK(c.sink.rows.size() == 2);
  CHECK(c.sink.rows[0].amt_cents == 150);
  REQUIRE(c.sink.rejects.size() == 1);
  CHECK(c.sink.rejects[0].line == 5);
  CHECK(c.sink.records[0] == "c,3,x,3");
}

TEST_CASE("chunking property: whole, 1, 7, 4096 and random chunks give identical output",
          "[ingest]") {
  struct Input {
    std::string name;
    Format format;
    std::string data;
  };
  std::vector<Input> inputs;
  for (auto [name, format] :
       {std::pair{"sparkov.ndjson", Format::kNdjson},
        std::pair{"no_newline.ndjson", Format::kNdjson}, std::pair{"sparkov.csv", Format::kCsv},
        std::pair{"dynamodb.ndjson", Format::kCdc}, std::pair{"debezium.ndjson", Format::kCdc}}) {
    inputs.push_back({name, format, read_file(vigil::testing::data_path(name))});
  }
  // Mixed good and bad input, CRLF, no trailing newline.
  inputs.push_back({"mixed ndjson", Format::kNdjson,
                    "\xEF\xBB\xBF" + inputs[0].data +
                        "{\"trans_num\":\"x\",\"cc_num\":1,\"amt\":\"1e999\",\"unix_time\":1}\r\n"
                        "{bad json\n\n[1]\r\n" +
                        inputs[0].data +
                        "{\"trans_num\":\"tail\",\"cc_num\":9,\"amt\":9,"
                        "\"unix_time\":9}"});
  inputs.push_back(
      {"mixed csv", Format::kCsv, inputs[2].data + "9,x,1,\"unterminated\n...\n" + inputs[2].data});
  const char* root = std::getenv("VIGIL_SOURCE_DIR");
  std::string kaggle = read_file(std::string(root != nullptr ? root : ".") +
                                 "/../shared/data/kaggle_fraudTrain_head.csv");
  if (!kaggle.empty()) inputs.push_back({"kaggle", Format::kCsv, kaggle.substr(0, 60000)});

  for (const Input& in : inputs) {
    INFO(in.name);
    IngestOptions o = opts(in.format);
    o.batch_capacity = 16;  // several batches even for small inputs
    const auto whole = run(in.data, o);
    CHECK(whole.stats.records > 0);
    for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
      INFO("chunk " << chunk);
      CHECK(run(in.data, o, chunk).log == whole.log);
    }
    for (unsigned seed = 1; seed <= 5; ++seed) {
      INFO("random seed " << seed);
      CHECK(run(in.data, o, SIZE_MAX - 1, seed).log == whole.log);
    }
  }
}

TEST_CASE("batches: full batches delivered, partial before events and at finish", "[ingest]") {
  std::string in;
  for (int i = 0; i < 40; ++i) {
    in += "{\"trans_num\":\"t" + std::to_string(i) + "\",\"cc_num\":1,\"amt\":1,\"unix_time\":1}\n";
    if (i == 20)
      in += R"({"type":"flag","entity":"state","id":"NC","time":5})"
            "\n";
  }
  IngestOptions o = opts(Format::kNdjson);
  o.batch_capacity = 16;
  Harness h(in, o);
  std::vector<std::string> batches;
  for (const auto& l : h.sink.log) {
    if (l.rfind("batch", 0) == 0 || l.rfind("flag", 0) == 0) batches.push_back(l.substr(0, 8));
  }
  CHECK(batches ==
        std::vector<std::string>{"batch 16", "batch 5", "flag sta", "batch 16", "batch 3"});
}

TEST_CASE("schema aliases and unknown fields", "[ingest]") {
  IngestOptions o = opts(Format::kNdjson);
  o.schema.alias("amount", Field::kAmt).alias("card", Field::kCcNum).alias("id", Field::kTransNum);
  Harness h(R"({"id":"x","card":"42","amount":"3.14159","unix_time":1,"whatever":[{}]})"
            "\n",
            o);
  REQUIRE(h.sink.rows.size() == 1);
  CHECK(h.sink.rows[0].cc_num == 42);
  CHECK(h.sink.rows[0].amt_cents == 314);
  CHECK(h.sink.rows[0].trans_num.view() == "x");
}

TEST_CASE("detect_format", "[ingest]") {
  CHECK(vigil::detect_format(R"({"trans_num":"a"})") == Format::kNdjson);
  CHECK(vigil::detect_format("\xEF\xBB\xBF\n"
                             R"({"op" : "c","after":{}})") == Format::kCdc);
  CHECK(vigil::detect_format(R"({"Records":[]})") == Format::kCdc);
  CHECK(vigil::detect_format(R"({"eventName":"INSERT"})") == Format::kCdc);
  CHECK(vigil::detect_format(R"({"schema":{},"payload":{}})") == Format::kCdc);
  CHECK(vigil::detect_format(",trans_date_trans_time,cc_num\n0,1,2\n") == Format::kCsv);
  CHECK_FALSE(vigil::detect_format("").has_value());
  CHECK_FALSE(vigil::detect_format("hello").has_value());
  CHECK(vigil::format_from_name("csv") == Format::kCsv);
  CHECK(vigil::format_name(Format::kCdc) == "cdc");
}

TEST_CASE("options are validated, a throwing sink is reported, not propagated", "[ingest]") {
  vigil::Dictionary dict;
  LogSink sink(dict);
  IngestOptions bad;
  bad.limits.max_record_bytes = 0;
  CHECK_FALSE(vigil::Ingestor::create(bad, dict, sink).ok());
  IngestOptions bad_alias;
  bad_alias.schema.alias("", Field::kAmt);
  CHECK_FALSE(vigil::Ingestor::create(bad_alias, dict, sink).ok());

  struct Throwing final : vigil::IngestSink {
    void on_batch(const vigil::TransactionBatch&) override { throw std::runtime_error("boom"); }
    void on_status(const vigil::StatusChange&) override {}
    void on_flag(const vigil::FlagChange&) override {}
    void on_reject(const vigil::Rejected&) override {}
  } throwing;
  auto ing = vigil::Ingestor::create({}, dict, throwing);
  REQUIRE(ing.ok());
  CHECK(ing->feed(R"({"trans_num":"a","cc_num":1,"amt":1,"unix_time":1})"
                  "\n")
            .ok());
  const vigil::Status s = ing->finish();
  CHECK_FALSE(s.ok());
  CHECK(s.message() == "ingestor: sink threw: boom");
  CHECK_FALSE(ing->feed("{}\n").ok());
}

TEST_CASE("CSV separators: the original Sparkov generator's '|' layout, tab and semicolon",
          "[ingest]") {
  // Two rows as Sparkov_Data_Generation writes them: '|' separated, unquoted commas inside the
  // merchant name, date and time in separate columns (unix_time carries the event time), and
  // columns vigil does not use (ssn, acct_num, profile).
  const std::string pipe =
      "ssn|cc_num|first|last|gender|street|city|state|zip|lat|long|city_pop|job|dob|acct_num|"
      "profile|trans_num|trans_date|trans_time|unix_time|category|amt|is_fraud|merchant|"
      "merch_lat|merch_long\n"
      "045-74-5650|3573869538621003|Vickie|Walker|F|161 Moyer Locks|Mont Alto|PA|17237|39.8417|"
      "-77.5537|1917|Press sub|1948-10-25|355104838454|adults_50up_female_rural.json|"
      "e8432e6b0f236e1a778238f78a29a28e|2013-05-26|19:58:38|1369598318|entertainment|73.07|0|"
      "fraud_Turcotte, McKenzie and Koss|40.389649|-77.677457\n"
      "045-74-5650|3573869538621003|Vickie|Walker|F|161 Moyer Locks|Mont Alto|PA|17237|39.8417|"
      "-77.5537|1917|Press sub|1948-10-25|355104838454|adults_50up_female_rural.json|"
      "857d4af9c18e39c7b0961db6f58cfb07|2013-09-20|22:08:45|1379714925|misc_pos|50.80|1|"
      "\"fraud_Reynolds|Schinner\"|40.754953|-77.233002\n";
  CHECK(vigil::detect_format(pipe) == Format::kCsv);
  const Harness h(pipe, opts(Format::kCsv));
  CHECK(h.stats.rejected == 0);
  REQUIRE(h.sink.rows.size() == 2);
  const vigil::Transaction& a = h.sink.rows[0];
  CHECK(a.cc_num == 3573869538621003u);
  CHECK(a.amt_cents == 7307);
  CHECK(a.time == 1369598318 * kUs);
  CHECK(h.str(a.merchant) == "fraud_Turcotte, McKenzie and Koss");
  CHECK(h.str(a.city) == "Mont Alto");
  CHECK(a.merch_lon == -77.677457);
  CHECK(h.str(h.sink.rows[1].merchant) == "fraud_Reynolds|Schinner");  // quoted separator
  CHECK(h.sink.rows[1].is_fraud == 1);

  // The same rows separated by tabs and by ';' (no quoted separators), and by ',' with the
  // merchant quoted, read identically; under any chunking too.
  std::string plain = pipe;
  const std::size_t q = plain.find("\"fraud_Reynolds|Schinner\"");
  plain.replace(q, 25, "fraud_Reynolds-Schinner");
  const auto ref = run(plain, opts(Format::kCsv));
  CHECK(ref.stats.records == 2);
  CHECK(ref.stats.rejected == 0);
  for (const char sep : {'\t', ';', ','}) {
    std::string text = plain;
    if (sep == ',') {
      const std::size_t m = text.find("fraud_Turcotte, McKenzie and Koss");
      text.replace(m, 33, "\"fraud_Turcotte, McKenzie and Koss\"");
    }
    std::replace(text.begin(), text.end(), '|', sep);
    INFO("separator " << static_cast<int>(sep));
    CHECK(vigil::detect_format(text) == Format::kCsv);
    // (Everything but the byte count, which the ',' form's quotes change.)
    const auto rows = [](const std::string& log) { return log.substr(0, log.find("bytes=")); };
    for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
      const auto got = run(text, opts(Format::kCsv), chunk);
      CHECK(got.stats.rejected == 0);
      CHECK(rows(got.log) == rows(ref.log));
    }
  }
}
