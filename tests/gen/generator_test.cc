#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "gen/csv_reader.h"
#include "gen/gen_test_util.h"
#include "vigil/generate.h"

namespace {

using vigil::GeneratorOptions;
using vigil::OutputFormat;
using vigil::RecordKind;
using vigil::gen_test::generate;
using vigil::gen_test::generate_text;

GeneratorOptions small(std::uint64_t seed = 1) {
  GeneratorOptions o;
  o.cards = 60;
  o.days = 20;
  o.seed = seed;
  o.fraud_rate = 0.02;
  o.with_events = true;
  return o;
}

std::string error_of(const GeneratorOptions& o) {
  const vigil::Status s = o.validate();
  CHECK(s.code() == vigil::ErrorCode::kInvalidArgument);
  auto gen = vigil::Generator::create(o);
  CHECK_FALSE(gen.ok());
  return s.message();
}

}  // namespace

TEST_CASE("options validate", "[gen]") {
  CHECK(GeneratorOptions{}.validate().ok());
  CHECK(GeneratorOptions{}.start == *vigil::parse_timestamp("2019-01-01 00:00:00"));
  GeneratorOptions o;
  o.cards = 0;
  CHECK_THAT(error_of(o), Catch::Contains("cards"));
  o = {};
  o.days = 0;
  CHECK_THAT(error_of(o), Catch::Contains("days"));
  o.days = -3;
  CHECK_THAT(error_of(o), Catch::Contains("days"));
  o = {};
  for (double bad : {-0.01, 0.5, 0.9, std::numeric_limits<double>::quiet_NaN()}) {
    o.fraud_rate = bad;
    CHECK_THAT(error_of(o), Catch::Contains("fraud rate"));
  }
  o.fraud_rate = 0.0;
  CHECK(o.validate().ok());
  o.fraud_rate = 0.49;
  CHECK(o.validate().ok());
  o = {};
  o.start += 1;  // a microsecond off a whole second
  CHECK_THAT(error_of(o), Catch::Contains("whole second"));
  o.start = *vigil::parse_timestamp("1850-01-01");
  CHECK_THAT(error_of(o), Catch::Contains("start"));
}

TEST_CASE("same seed gives the same bytes and another seed other bytes", "[gen]") {
  for (auto format : {OutputFormat::kNdjson, OutputFormat::kCsv}) {
    GeneratorOptions o = small();
    o.with_events = format == OutputFormat::kNdjson;
    const std::string a = generate_text(o, format);
    const std::string b = generate_text(o, format);
    CHECK(a.size() > 100'000);
    CHECK(a == b);
    o.seed = 2;
    CHECK(generate_text(o, format) != a);
  }
}

TEST_CASE("records come in time order within the period", "[gen]") {
  GeneratorOptions o = small();
  o.start = *vigil::parse_timestamp("2020-06-21 12:14:25");  // not midnight
  const auto s = generate(o);
  REQUIRE(s.records.size() > 1000);
  const vigil::Micros end = o.start + o.days * vigil::kMicrosPerDay;
  vigil::Micros prev = o.start;
  for (const auto& r : s.records) {
    REQUIRE(r.time() >= prev);
    REQUIRE(r.time() < end);
    prev = r.time();
  }
  // Every day of the period has transactions.
  std::set<std::int64_t> days;
  for (const auto& tx : s.transactions) days.insert((tx.time - o.start) / vigil::kMicrosPerDay);
  CHECK(days.size() == static_cast<std::size_t>(o.days));
}

TEST_CASE("transaction fields are complete and consistent", "[gen]") {
  const auto s = generate(small());
  std::unordered_set<std::string> ids;
  for (const auto& tx : s.transactions) {
    REQUIRE(tx.unix_time * vigil::kMicrosPerSecond == tx.time);
    REQUIRE(tx.trans_num.size == 32);
    for (char c : tx.trans_num.view()) REQUIRE(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')));
    REQUIRE(ids.insert(std::string(tx.trans_num.view())).second);
    REQUIRE(tx.amt_cents >= 100);
    REQUIRE((tx.is_fraud == 0 || tx.is_fraud == 1));
    REQUIRE((tx.gender == 'F' || tx.gender == 'M'));
    const std::string cc = std::to_string(tx.cc_num);
    REQUIRE(cc.size() >= 12);
    REQUIRE(cc.size() <= 19);
    for (vigil::StrId id :
         {tx.merchant, tx.category, tx.first, tx.last, tx.street, tx.city, tx.state, tx.job}) {
      REQUIRE(!s.dictionary.view(id).empty());
    }
    REQUIRE(s.dictionary.view(tx.merchant).substr(0, 6) == "fraud_");
    REQUIRE(s.dictionary.view(tx.state).size() == 2);
    REQUIRE(tx.zip > 0);
    REQUIRE(tx.city_pop > 0);
    // Customers are adults of 18 to 91 at the start of the stream.
    const double age = static_cast<double>(tx.time / vigil::kMicrosPerDay - tx.dob) / 365.2425;
    REQUIRE(age >= 18);
    REQUIRE(age < 92);
    REQUIRE(std::abs(tx.merch_lat - std::round(tx.merch_lat * 1e6) / 1e6) == 0);
  }
}

TEST_CASE("CSV output has the Kaggle header and 23 fields a row with two-decimal amounts",
          "[gen]") {
  GeneratorOptions o = small();
  o.with_events = false;
  const std::string text = generate_text(o, OutputFormat::kCsv);
  std::vector<vigil::gen_test::CsvRow> rows;
  REQUIRE(vigil::gen_test::parse_csv(text, rows));
  REQUIRE(rows.size() > 1000);
  REQUIRE(text.substr(0, text.find('\n')) == vigil::kaggle_csv_header());
  bool some_quoted = false;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& row = rows[i];
    REQUIRE(row.size() == 23);
    REQUIRE(row[0] == std::to_string(i - 1));
    const std::string& amt = row[5];
    const auto dot = amt.find('.');
    REQUIRE(dot != std::string::npos);
    REQUIRE(amt.size() - dot == 3);
    REQUIRE(vigil::parse_timestamp(row[1]).has_value());
    REQUIRE(*vigil::parse_timestamp(row[1]) / vigil::kMicrosPerSecond == std::stoll(row[19]));
    some_quoted = some_quoted || row[3].find(',') != std::string::npos;
  }
  CHECK(some_quoted);  // Sparkov merchant names such as "fraud_Rippin, Kub and Mann"
}

TEST_CASE("events refer to earlier transactions and cards of the stream", "[gen]") {
  GeneratorOptions o = small();
  o.days = 60;
  o.fraud_rate = 0.05;
  const auto s = generate(o);
  std::unordered_map<std::string, vigil::Micros> seen;  // trans_num -> time
  std::unordered_set<std::uint64_t> cards;
  std::uint64_t statuses = 0, flags = 0, unflags = 0, fraud_disputed = 0;
  for (const auto& r : s.records) {
    switch (r.kind) {
      case RecordKind::kTransaction:
        seen[std::string(r.transaction.trans_num.view())] = r.transaction.time;
        cards.insert(r.transaction.cc_num);
        break;
      case RecordKind::kStatus: {
        ++statuses;
        const auto it = seen.find(std::string(r.status.trans_num.view()));
        REQUIRE(it != seen.end());
        CHECK(r.status.time >= it->second + vigil::kMicrosPerDay);
        CHECK(r.status.time <= it->second + 30 * vigil::kMicrosPerDay);
        CHECK(s.dictionary.view(r.status.status) == "disputed");
        break;
      }
      case RecordKind::kFlag:
        ++(r.flag.flagged ? flags : unflags);
        if (r.flag.entity == vigil::Field::kCcNum) {
          CHECK(cards.count(r.flag.key) == 1);
        } else {
          REQUIRE(r.flag.entity == vigil::Field::kMerchant);
          CHECK(s.dictionary.view(static_cast<vigil::StrId>(r.flag.key)).substr(0, 6) == "fraud_");
        }
        if (r.flag.flagged) {
          CHECK(!s.dictionary.view(r.flag.reason).empty());
          CHECK(r.flag.until > r.flag.time);
        }
        break;
    }
  }
  for (const auto& tx : s.transactions) fraud_disputed += tx.is_fraud == 1;
  CHECK(statuses > 0);
  CHECK(flags > 0);
  CHECK(statuses == s.stats.status_changes);
  CHECK(flags == s.stats.flags);
  CHECK(unflags == s.stats.unflags);
  CHECK(s.stats.transactions == s.transactions.size());

  // Without events there are none.
  o.with_events = false;
  const auto plain = generate(o);
  CHECK(plain.records.size() == plain.transactions.size());
}

TEST_CASE("fraud rate follows the option", "[gen]") {
  const auto& big = vigil::gen_test::big_stream();
  const double rate = static_cast<double>(big.stats.fraud_transactions) /
                      static_cast<double>(big.stats.transactions);
  CHECK(rate == Approx(0.005).epsilon(0.25));
  GeneratorOptions o;
  o.cards = 300;
  o.days = 30;
  o.fraud_rate = 0.05;
  auto s = generate(o);
  CHECK(static_cast<double>(s.stats.fraud_transactions) / s.stats.transactions ==
        Approx(0.05).epsilon(0.15));
  o.fraud_rate = 0;
  s = generate(o);
  CHECK(s.stats.fraud_transactions == 0);
  CHECK(s.stats.transactions > 10'000);
}

TEST_CASE("tiny worlds still work", "[gen]") {
  GeneratorOptions o;
  o.cards = 1;
  o.days = 1;
  o.fraud_rate = 0.4;
  o.with_events = true;
  const auto s = generate(o);
  CHECK(s.merchants >= 14);
  std::set<std::uint64_t> cards;
  for (const auto& tx : s.transactions) cards.insert(tx.cc_num);
  CHECK(cards.size() <= 1);
}
