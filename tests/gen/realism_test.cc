// Does the generated stream look like Sparkov / Kaggle data? Shares, amounts, hours, places,
// compared with fixed expectations and, when present, with the real Kaggle rows.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gen/csv_reader.h"
#include "gen/gen_test_util.h"
#include "vigil/generate.h"

namespace {

using vigil::gen_test::big_stream;

// Kaggle's share of legitimate transactions per category (full fraudTrain.csv), in percent.
const std::map<std::string, double> kKaggleShare = {
    {"entertainment", 7.2}, {"food_dining", 7.0},    {"gas_transport", 10.2}, {"grocery_net", 3.5},
    {"grocery_pos", 9.5},   {"health_fitness", 6.6}, {"home", 9.5},           {"kids_pets", 8.7},
    {"misc_net", 4.9},      {"misc_pos", 6.1},       {"personal_care", 7.0},  {"shopping_net", 7.5},
    {"shopping_pos", 9.0},  {"travel", 3.1}};

bool at_night(vigil::Micros t) {
  const int h = vigil::hour_of(t);
  return h >= 22 || h < 4;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

}  // namespace

TEST_CASE("all 14 categories with Kaggle-like shares", "[gen]") {
  const auto& s = big_stream();
  std::map<std::string, double> count;
  for (const auto& tx : s.transactions) count[std::string(s.dictionary.view(tx.category))] += 1;
  REQUIRE(count.size() == 14);
  for (const auto& [name, share] : kKaggleShare) {
    INFO(name);
    const double got = 100.0 * count[name] / static_cast<double>(s.transactions.size());
    CHECK(got > share / 1.5);
    CHECK(got < share * 1.5);
  }
}

TEST_CASE("world size and activity like Sparkov's", "[gen]") {
  const auto& s = big_stream();
  std::set<std::uint64_t> cards;
  std::set<vigil::StrId> merchants;
  for (const auto& tx : s.transactions) {
    cards.insert(tx.cc_num);
    merchants.insert(tx.merchant);
  }
  CHECK(cards.size() >= 990);
  CHECK(s.merchants == 800);
  CHECK(merchants.size() > 700);
  const double per_card_day = static_cast<double>(s.transactions.size()) / (1000.0 * 45);
  CHECK(per_card_day > 1.5);
  CHECK(per_card_day < 3.5);
}

TEST_CASE("fraud is larger and more nocturnal than legitimate spending", "[gen]") {
  const auto& s = big_stream();
  std::vector<double> fraud_amt, legit_amt;
  double fraud_night = 0, legit_night = 0;
  std::map<std::uint64_t, int> fraud_per_card;
  for (const auto& tx : s.transactions) {
    if (tx.is_fraud == 1) {
      fraud_amt.push_back(tx.amt());
      fraud_night += at_night(tx.time);
      ++fraud_per_card[tx.cc_num];
    } else {
      legit_amt.push_back(tx.amt());
      legit_night += at_night(tx.time);
    }
  }
  REQUIRE(fraud_amt.size() > 200);
  CHECK(median(fraud_amt) > 2 * median(legit_amt));
  const double fraud_night_share = fraud_night / static_cast<double>(fraud_amt.size());
  const double legit_night_share = legit_night / static_cast<double>(legit_amt.size());
  CHECK(fraud_night_share > 0.6);
  CHECK(legit_night_share < 0.3);
  CHECK(legit_night_share > 0.1);  // nights are quiet, not empty
  // Bursts: most compromised cards show several fraud transactions.
  int multi = 0;
  for (const auto& [cc, n] : fraud_per_card) multi += n >= 2;
  CHECK(multi > static_cast<int>(fraud_per_card.size()) * 3 / 4);
  // Not trivially separable: some legitimate spending is as large as typical fraud.
  const auto big_legit =
      std::count_if(legit_amt.begin(), legit_amt.end(), [](double a) { return a > 700; });
  CHECK(big_legit > 100);
}

TEST_CASE("afternoons and evenings are busier than mornings", "[gen]") {
  const auto& s = big_stream();
  std::array<double, 24> by_hour{};
  for (const auto& tx : s.transactions) {
    if (tx.is_fraud == 0) by_hour[static_cast<std::size_t>(vigil::hour_of(tx.time))] += 1;
  }
  const double morning = by_hour[3] + by_hour[4] + by_hour[5];
  const double afternoon = by_hour[14] + by_hour[15] + by_hour[16];
  CHECK(afternoon > 1.8 * morning);
}

TEST_CASE("merchants lie within a degree of where the card is used", "[gen]") {
  const auto& s = big_stream();
  std::size_t near = 0;
  for (const auto& tx : s.transactions) {
    near += std::abs(tx.merch_lat - tx.lat) <= 1.0 && std::abs(tx.merch_lon - tx.lon) <= 1.0;
  }
  // The rest: trips and remote fraud.
  const double near_share = static_cast<double>(near) / static_cast<double>(s.transactions.size());
  CHECK(near_share > 0.95);
  CHECK(near_share < 1.0);
}

TEST_CASE("per-category amounts match the real Kaggle rows", "[gen][kaggle]") {
  const char* root = std::getenv("VIGIL_SOURCE_DIR");
  const std::string path =
      std::string(root != nullptr ? root : ".") + "/../shared/data/kaggle_fraudTrain_head.csv";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    WARN("real Kaggle sample not found at " << path << "; skipping the comparison");
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::vector<vigil::gen_test::CsvRow> rows;
  REQUIRE(vigil::gen_test::parse_csv(text.str(), rows));
  REQUIRE(rows.size() > 100);
  REQUIRE(rows[0].size() == 23);
  std::map<std::string, std::pair<double, double>> real;  // category -> (sum, count)
  for (std::size_t i = 1; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 23);
    if (rows[i][22] != "0") continue;
    auto& [sum, n] = real[rows[i][4]];
    sum += std::stod(rows[i][5]);
    n += 1;
  }
  REQUIRE(real.size() == 14);

  const auto& s = big_stream();
  std::map<std::string, std::pair<double, double>> ours;
  for (const auto& tx : s.transactions) {
    if (tx.is_fraud != 0) continue;
    auto& [sum, n] = ours[std::string(s.dictionary.view(tx.category))];
    sum += tx.amt();
    n += 1;
  }
  for (const auto& [category, stat] : real) {
    INFO(category);
    REQUIRE(ours.count(category) == 1);
    const double real_mean = stat.first / stat.second;
    const double our_mean = ours[category].first / ours[category].second;
    CHECK(our_mean > real_mean / 1.6);
    CHECK(our_mean < real_mean * 1.6);
  }
}
