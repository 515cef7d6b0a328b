#include <catch2/catch.hpp>

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

#include "gen/csv_reader.h"
#include "gen/gen_test_util.h"
#include "vigil/generate.h"

namespace {

using vigil::gen_test::CsvRow;
using vigil::gen_test::parse_csv;

std::string amount(std::int64_t cents) {
  std::string s;
  vigil::append_amount(cents, s);
  return s;
}

// A transaction with awkward strings, every field set.
vigil::Transaction awkward(vigil::Dictionary& dict) {
  vigil::Transaction tx;
  tx.time = *vigil::parse_timestamp("2019-01-01 00:00:18");
  tx.unix_time = tx.time / vigil::kMicrosPerSecond;
  tx.cc_num = 2703186189652095;
  tx.merchant = dict.intern("fraud_Rippin, Kub and Mann");
  tx.category = dict.intern("misc_net");
  tx.amt_cents = 497;
  tx.first = dict.intern("Jennifer");
  tx.last = dict.intern("O'Banks \"Jr\"");
  tx.gender = 'F';
  tx.street = dict.intern("561 Perry Cove\nSuite 1");
  tx.city = dict.intern("Moravian Falls");
  tx.state = dict.intern("NC");
  tx.zip = 28654;
  tx.lat = 36.0788;
  tx.lon = -81.1781;
  tx.city_pop = 3495;
  tx.job = dict.intern("Psychologist, counselling");
  tx.dob = *vigil::parse_date("1988-03-09");
  tx.trans_num = *vigil::TransId::from("0b242abb623afc578575680df30655b9");
  tx.merch_lat = 36.011293;
  tx.merch_lon = -82.048315;
  tx.is_fraud = 0;
  return tx;
}

}  // namespace

TEST_CASE("CSV header is Kaggle's with the unnamed index column", "[gen]") {
  CHECK(vigil::kaggle_csv_header() ==
        ",trans_date_trans_time,cc_num,merchant,category,amt,first,last,gender,street,city,state,"
        "zip,lat,long,city_pop,job,dob,trans_num,unix_time,merch_lat,merch_long,is_fraud");
  vigil::Dictionary dict;
  vigil::RecordWriter csv(vigil::OutputFormat::kCsv, dict);
  std::string out;
  csv.append_header(out);
  CHECK(out == std::string(vigil::kaggle_csv_header()) + "\n");
  vigil::RecordWriter ndjson(vigil::OutputFormat::kNdjson, dict);
  out.clear();
  ndjson.append_header(out);
  CHECK(out.empty());
}

TEST_CASE("amounts print exactly two decimals from cents", "[gen]") {
  CHECK(amount(0) == "0.00");
  CHECK(amount(5) == "0.05");
  CHECK(amount(497) == "4.97");
  CHECK(amount(4500) == "45.00");
  CHECK(amount(123456789) == "1234567.89");
  CHECK(amount(-5) == "-0.05");
  CHECK(amount(-4500) == "-45.00");
  CHECK(amount(std::numeric_limits<std::int64_t>::min()) == "-92233720368547758.08");
  CHECK(amount(std::numeric_limits<std::int64_t>::max()) == "92233720368547758.07");
}

TEST_CASE("CSV row matches the Kaggle layout and quotes like RFC 4180", "[gen]") {
  vigil::Dictionary dict;
  vigil::RecordWriter writer(vigil::OutputFormat::kCsv, dict);
  const vigil::Transaction tx = awkward(dict);
  std::string out;
  writer.append(tx, out);
  writer.append(tx, out);
  CHECK(out.substr(0, out.find('\n')) ==
        "0,2019-01-01 00:00:18,2703186189652095,\"fraud_Rippin, Kub and Mann\",misc_net,4.97,"
        "Jennifer,\"O'Banks \"\"Jr\"\"\",F,\"561 Perry Cove");

  std::vector<CsvRow> rows;
  REQUIRE(parse_csv(out, rows));
  REQUIRE(rows.size() == 2);
  const CsvRow expected = {"0",
                           "2019-01-01 00:00:18",
                           "2703186189652095",
                           "fraud_Rippin, Kub and Mann",
                           "misc_net",
                           "4.97",
                           "Jennifer",
                           "O'Banks \"Jr\"",
                           "F",
                           "561 Perry Cove\nSuite 1",
                           "Moravian Falls",
                           "NC",
                           "28654",
                           "36.0788",
                           "-81.1781",
                           "3495",
                           "Psychologist, counselling",
                           "1988-03-09",
                           "0b242abb623afc578575680df30655b9",
                           "1546300818",
                           "36.011293",
                           "-82.048315",
                           "0"};
  CHECK(rows[0] == expected);
  CHECK(rows[1][0] == "1");  // the index counts rows
}

TEST_CASE("NDJSON transaction has the Sparkov names and numbers as numbers", "[gen]") {
  vigil::Dictionary dict;
  vigil::RecordWriter writer(vigil::OutputFormat::kNdjson, dict);
  vigil::Transaction tx = awkward(dict);
  tx.last = dict.intern("Banks");
  tx.street = dict.intern("561 Perry Cove");
  std::string out;
  writer.append(tx, out);
  CHECK(out ==
        "{\"trans_date_trans_time\":\"2019-01-01 00:00:18\",\"cc_num\":2703186189652095,"
        "\"merchant\":\"fraud_Rippin, Kub and Mann\",\"category\":\"misc_net\",\"amt\":4.97,"
        "\"first\":\"Jennifer\",\"last\":\"Banks\",\"gender\":\"F\",\"street\":\"561 Perry Cove\","
        "\"city\":\"Moravian Falls\",\"state\":\"NC\",\"zip\":28654,\"lat\":36.0788,"
        "\"long\":-81.1781,\"city_pop\":3495,\"job\":\"Psychologist, counselling\","
        "\"dob\":\"1988-03-09\",\"trans_num\":\"0b242abb623afc578575680df30655b9\","
        "\"unix_time\":1546300818,\"merch_lat\":36.011293,\"merch_long\":-82.048315,"
        "\"is_fraud\":0}\n");

  out.clear();
  tx.last = dict.intern("a\"b\\c\x01");
  writer.append(tx, out);
  CHECK(out.find("\"last\":\"a\\\"b\\\\c\\u0001\"") != std::string::npos);
}

TEST_CASE("event records have the documented NDJSON form and CSV refuses them", "[gen]") {
  vigil::Dictionary dict;
  vigil::RecordWriter writer(vigil::OutputFormat::kNdjson, dict);
  vigil::GeneratedRecord rec;
  std::string out;

  rec.kind = vigil::RecordKind::kStatus;
  rec.status.trans_num = *vigil::TransId::from("0b242abb623afc578575680df30655b9");
  rec.status.status = dict.intern("disputed");
  rec.status.time = *vigil::parse_timestamp("2019-01-09 14:02:11");
  REQUIRE(writer.append(rec, out).ok());
  CHECK(out ==
        "{\"type\":\"status\",\"trans_num\":\"0b242abb623afc578575680df30655b9\","
        "\"status\":\"disputed\",\"time\":\"2019-01-09 14:02:11\"}\n");

  out.clear();
  rec.kind = vigil::RecordKind::kFlag;
  rec.flag.entity = vigil::Field::kCcNum;
  rec.flag.key = 2703186189652095;
  rec.flag.flagged = true;
  rec.flag.reason = dict.intern("reported stolen");
  rec.flag.until = *vigil::parse_timestamp("2019-03-01 00:00:00");
  rec.flag.time = *vigil::parse_timestamp("2019-01-05 10:00:00");
  REQUIRE(writer.append(rec, out).ok());
  CHECK(out ==
        "{\"type\":\"flag\",\"entity\":\"cc_num\",\"id\":\"2703186189652095\","
        "\"reason\":\"reported stolen\",\"until\":\"2019-03-01 00:00:00\","
        "\"time\":\"2019-01-05 10:00:00\"}\n");

  out.clear();
  rec.flag.until = std::numeric_limits<vigil::Micros>::max();
  rec.flag.entity = vigil::Field::kMerchant;
  rec.flag.key = dict.intern("fraud_Kub-Mann");
  REQUIRE(writer.append(rec, out).ok());
  CHECK(out ==
        "{\"type\":\"flag\",\"entity\":\"merchant\",\"id\":\"fraud_Kub-Mann\","
        "\"reason\":\"reported stolen\",\"time\":\"2019-01-05 10:00:00\"}\n");

  out.clear();
  rec.flag.flagged = false;
  REQUIRE(writer.append(rec, out).ok());
  CHECK(out ==
        "{\"type\":\"unflag\",\"entity\":\"merchant\",\"id\":\"fraud_Kub-Mann\","
        "\"time\":\"2019-01-05 10:00:00\"}\n");

  vigil::RecordWriter csv(vigil::OutputFormat::kCsv, dict);
  out.clear();
  const vigil::Status s = csv.append(rec, out);
  CHECK(s.code() == vigil::ErrorCode::kInvalidArgument);
  CHECK(out.empty());
}

TEST_CASE("cc_num prints and parses back exactly for 11 to 20 digits", "[gen]") {
  vigil::Dictionary dict;
  vigil::Transaction tx = awkward(dict);
  for (std::uint64_t cc : {std::uint64_t{30263540414123}, std::uint64_t{2703186189652095},
                           std::uint64_t{4540918741478375729}, std::uint64_t{9999999999999999999u},
                           std::uint64_t{9007199254740993},  // 2^53 + 1: a double would lose it
                           std::numeric_limits<std::uint64_t>::max()}) {
    tx.cc_num = cc;
    for (auto format : {vigil::OutputFormat::kCsv, vigil::OutputFormat::kNdjson}) {
      vigil::RecordWriter writer(format, dict);
      std::string out;
      writer.append(tx, out);
      const std::string_view key =
          format == vigil::OutputFormat::kCsv ? ",2019-01-01 00:00:18," : "\"cc_num\":";
      const std::size_t at = out.find(key);
      REQUIRE(at != std::string::npos);
      const char* first = out.data() + at + key.size();
      std::uint64_t parsed = 0;
      const auto r = std::from_chars(first, out.data() + out.size(), parsed);
      CHECK(r.ec == std::errc());
      CHECK(parsed == cc);
    }
  }
}

TEST_CASE("output format names", "[gen]") {
  CHECK(vigil::output_format_from_name("csv") == vigil::OutputFormat::kCsv);
  CHECK(vigil::output_format_from_name("ndjson") == vigil::OutputFormat::kNdjson);
  CHECK_FALSE(vigil::output_format_from_name("json"));
  CHECK(vigil::output_format_name(vigil::OutputFormat::kNdjson) == "ndjson");
}
