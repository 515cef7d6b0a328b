// RecordBuilder's per-card memo against the full path: on a randomized stream of transactions
// of many cards (more than the memo holds, so ways are evicted and replaced) whose attributes
// mostly repeat but sometimes change bytes, kind, presence or validity, a builder with the memo
// and one without give the same outcome, the same Transaction (bit for bit), the same error and
// the same dictionary, record by record.
#include <catch2/catch.hpp>

#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "ingest/builder.h"
#include "ingest/row.h"

namespace {

using vigil::Field;
using vigil::ingest::Row;
using vigil::ingest::ValueKind;

struct Card {
  std::uint64_t cc;
  std::vector<std::pair<Field, std::string>> attrs;
};

std::string random_word(std::mt19937_64& rng, std::size_t min, std::size_t max) {
  std::string s(min + rng() % (max - min + 1), 'a');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

Card make_card(std::mt19937_64& rng, std::uint64_t cc) {
  Card c{cc, {}};
  c.attrs = {{Field::kFirst, random_word(rng, 3, 9)},
             {Field::kLast, random_word(rng, 3, 9)},
             {Field::kGender, rng() % 2 ? "F" : "M"},
             {Field::kStreet, std::to_string(rng() % 9999) + " " + random_word(rng, 4, 20)},
             {Field::kCity, random_word(rng, 3, 15)},
             {Field::kState, random_word(rng, 2, 2)},
             {Field::kZip, std::to_string(10000 + rng() % 89999)},
             {Field::kLat, std::to_string(static_cast<double>(rng() % 180000) / 1000.0 - 90)},
             {Field::kLong, std::to_string(static_cast<double>(rng() % 360000) / 1000.0 - 180)},
             {Field::kCityPop, std::to_string(rng() % 3000000)},
             {Field::kJob, random_word(rng, 5, 40)},
             {Field::kDob, "19" + std::to_string(40 + rng() % 60) + "-0" +
                               std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10)}};
  return c;
}

// Texts that are unusual for their field: other spellings of the same value, invalid values,
// values too long, other kinds.
std::string variant(std::mt19937_64& rng, const std::string& base) {
  switch (rng() % 8) {
    case 0: return base + " ";
    case 1: return " " + base;
    case 2: return "X";
    case 3: return "-1";
    case 4: return "2019-02-30";
    case 5: return std::string(300, 'z');
    case 6: return "1e2";
    default: return base.substr(0, base.size() / 2);
  }
}

struct Outcome {
  bool ok;
  vigil::Transaction tx;
  vigil::ingest::RecordError error;
  std::size_t dict_size;
};

void require_same(const Outcome& a, const Outcome& b) {
  REQUIRE(a.ok == b.ok);
  REQUIRE(a.dict_size == b.dict_size);
  if (!a.ok) {
    REQUIRE(a.error.kind == b.error.kind);
    REQUIRE(a.error.field == b.error.field);
    REQUIRE(a.error.reason == b.error.reason);
    return;
  }
  // Bit for bit (NaN coordinates included).
  const auto bits = [](double d) {
    std::uint64_t u;
    std::memcpy(&u, &d, sizeof u);
    return u;
  };
  const vigil::Transaction& x = a.tx;
  const vigil::Transaction& y = b.tx;
  REQUIRE(x.time == y.time);
  REQUIRE(x.unix_time == y.unix_time);
  REQUIRE(x.cc_num == y.cc_num);
  REQUIRE(x.amt_cents == y.amt_cents);
  REQUIRE(bits(x.lat) == bits(y.lat));
  REQUIRE(bits(x.lon) == bits(y.lon));
  REQUIRE(bits(x.merch_lat) == bits(y.merch_lat));
  REQUIRE(bits(x.merch_lon) == bits(y.merch_lon));
  REQUIRE(x.merchant == y.merchant);
  REQUIRE(x.category == y.category);
  REQUIRE(x.first == y.first);
  REQUIRE(x.last == y.last);
  REQUIRE(x.street == y.street);
  REQUIRE(x.city == y.city);
  REQUIRE(x.state == y.state);
  REQUIRE(x.job == y.job);
  REQUIRE(x.zip == y.zip);
  REQUIRE(x.city_pop == y.city_pop);
  REQUIRE(x.dob == y.dob);
  REQUIRE(x.gender == y.gender);
  REQUIRE(x.is_fraud == y.is_fraud);
  REQUIRE(x.trans_num.view() == y.trans_num.view());
}

}  // namespace

TEST_CASE("per-card memo gives exactly the full path's transactions, errors and dictionary",
          "[ingest]") {
  const vigil::Schema schema;
  const vigil::ingest::KeyTable keys(schema);
  vigil::IngestLimits limits;
  limits.max_string_bytes = 100;
  vigil::Dictionary dict_memo, dict_full;
  vigil::ingest::RecordBuilder with_memo(dict_memo, limits, keys);
  vigil::ingest::RecordBuilder full(dict_full, limits, keys);
  full.set_card_memo(false);

  std::mt19937_64 rng(20261122);
  std::vector<Card> cards;
  // Far more cards than the memo's 4096 ways, drawn from a small hot set most of the time.
  for (std::uint64_t i = 0; i < 12000; ++i)
    cards.push_back(make_card(rng, 4000000000000000 + i * 7919));
  std::deque<std::string> texts;  // Row views point here
  std::size_t hits_possible = 0, accepted = 0;
  for (int n = 0; n < 60000; ++n) {
    const Card& card = cards[rng() % 8 == 0 ? rng() % cards.size() : rng() % 300];
    Row row;
    const auto put = [&](Field f, std::string text, ValueKind kind) {
      texts.push_back(std::move(text));
      row.set(vigil::ingest::slot_of(f), texts.back(), kind);
    };
    const ValueKind text_kind = rng() % 4 == 0 ? ValueKind::kText : ValueKind::kString;
    put(Field::kTransNum, rng() % 500 == 0 ? "" : "t" + std::to_string(n), text_kind);
    put(Field::kCcNum, std::to_string(card.cc), ValueKind::kNumber);
    if (rng() % 300 != 0)
      put(Field::kAmt, std::to_string(rng() % 100000) + ".25", ValueKind::kNumber);
    put(Field::kUnixTime, std::to_string(1325376000 + n), ValueKind::kNumber);
    put(Field::kMerchant, "fraud_" + std::to_string(rng() % 700), text_kind);
    put(Field::kCategory, "cat" + std::to_string(rng() % 14), text_kind);
    put(Field::kMerchLat, "40." + std::to_string(rng() % 1000000), ValueKind::kNumber);
    put(Field::kMerchLong, "-7" + std::to_string(rng() % 10) + ".5", ValueKind::kNumber);
    put(Field::kIsFraud, rng() % 100 == 0 ? "1" : "0", ValueKind::kNumber);
    const bool unusual = rng() % 6 == 0;
    if (!unusual) ++hits_possible;
    for (const auto& [field, base] : card.attrs) {
      const bool numeric = field == Field::kZip || field == Field::kLat || field == Field::kLong ||
                           field == Field::kCityPop;
      ValueKind kind = numeric ? ValueKind::kNumber : text_kind;
      std::string text = base;
      if (unusual && rng() % 4 == 0) {
        switch (rng() % 5) {
          case 0: continue;  // absent
          case 1:
            kind = ValueKind::kNull;
            text.clear();
            break;
          case 2: kind = numeric ? ValueKind::kString : ValueKind::kNumber; break;
          case 3:
            kind = ValueKind::kBool;
            text = "true";
            break;
          default: text = variant(rng, base); break;
        }
      }
      put(field, std::move(text), kind);
    }
    Outcome a, b;
    a.ok = with_memo.transaction(row, a.tx);
    a.error = with_memo.error();
    a.dict_size = dict_memo.size();
    b.ok = full.transaction(row, b.tx);
    b.error = full.error();
    b.dict_size = dict_full.size();
    INFO("record " << n);
    require_same(a, b);
    accepted += a.ok;
    if (texts.size() > 100000) texts.erase(texts.begin(), texts.begin() + 50000);
  }
  CHECK(accepted > 40000);
  CHECK(hits_possible > 40000);
}
