#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "vigil/model.h"

using namespace vigil;

TEST_CASE("field names round-trip and classify", "[model]") {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    const auto f = static_cast<Field>(i);
    REQUIRE(field_from_name(field_name(f)) == f);
  }
  CHECK(field_name(Field::kLong) == "long");
  CHECK_FALSE(field_from_name("longitude").has_value());
  CHECK(is_key_field(Field::kCcNum));
  CHECK(is_key_field(Field::kState));
  CHECK_FALSE(is_key_field(Field::kAmt));
  CHECK(is_string_field(Field::kMerchant));
  CHECK_FALSE(is_string_field(Field::kCcNum));
}

TEST_CASE("TransId holds up to 47 bytes inline", "[model]") {
  const auto id = TransId::from("0b242abb623afc578575680df30655b9");
  REQUIRE(id.has_value());
  CHECK(id->view() == "0b242abb623afc578575680df30655b9");
  CHECK(TransId::from(std::string(47, 'x')).has_value());
  CHECK_FALSE(TransId::from(std::string(48, 'x')).has_value());
  CHECK(*TransId::from("a") == *TransId::from("a"));
  CHECK_FALSE(*TransId::from("a") == *TransId::from("b"));
}

TEST_CASE("TransactionBatch: power-of-two capacity, aligned columns, row round trip", "[model]") {
  TransactionBatch b(1000);
  CHECK(b.capacity() == 1024);
  CHECK(reinterpret_cast<std::uintptr_t>(b.amt_cents.data()) % 64 == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(b.lat.data()) % 64 == 0);
  CHECK(TransactionBatch(3).capacity() == 16);

  std::mt19937_64 rng(7);
  std::vector<Transaction> rows;
  while (!b.full()) {
    Transaction tx;
    tx.time = static_cast<Micros>(rng() >> 20);
    tx.cc_num = rng();  // full 64-bit range: never via double
    tx.amt_cents = static_cast<std::int64_t>(rng() % 10'000'000);
    tx.lat = 30.5;
    tx.merchant = static_cast<StrId>(rng() % 800);
    tx.gender = 'F';
    tx.is_fraud = 1;
    tx.trans_num = *TransId::from(std::to_string(rng()));
    rows.push_back(tx);
    REQUIRE(b.push_back(tx));
  }
  CHECK_FALSE(b.push_back(Transaction{}));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Transaction r = b.row(i);
    REQUIRE(r.cc_num == rows[i].cc_num);
    REQUIRE(r.amt_cents == rows[i].amt_cents);
    REQUIRE(r.trans_num == rows[i].trans_num);
    REQUIRE(r.merchant == rows[i].merchant);
    REQUIRE(std::isnan(r.lon));
    REQUIRE(b.key(Field::kCcNum, i) == rows[i].cc_num);
    REQUIRE(b.key(Field::kMerchant, i) == rows[i].merchant);
  }
  b.clear();
  CHECK(b.empty());
}

TEST_CASE("haversine matches known distances", "[model]") {
  // New York (40.7128, -74.0060) to Los Angeles (34.0522, -118.2437): ~3936 km.
  CHECK(haversine_km(40.7128, -74.0060, 34.0522, -118.2437) == Approx(3936).epsilon(0.005));
  CHECK(haversine_km(10, 20, 10, 20) == 0.0);
  CHECK(std::isnan(haversine_km(std::nan(""), 0, 0, 0)));
  // Antipodes: half the circumference.
  CHECK(haversine_km(0, 0, 0, 180) == Approx(3.14159265358979 * 6371.0088));
}

TEST_CASE("action names", "[model]") {
  CHECK(action_name(Action::kApprove) == "approve");
  CHECK(action_name(Action::kReview) == "review");
  CHECK(action_name(Action::kDecline) == "decline");
}
