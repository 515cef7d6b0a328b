// File: vigil/testing.h
//
// Helpers for the unit tests of hosts that embed vigil: a fluent transaction builder that interns
// strings into the engine's dictionary, and an engine built from an inline config. Everything is
// deterministic and cheap to construct (no files, no clock).
//
// **Example**
//   auto engine = vigil::testing::make_engine(R"({"features": [
//       {"name": "card_count_1h", "key": "cc_num", "agg": "count", "window": "1h"}],
//     "rules": [{"id": "BURST", "when": "card_count_1h >= 3", "score": 600, "reason":
//     "burst"}]})");
//   vigil::testing::TxBuilder tx(engine.dictionary());
//   tx.card(4000123412341234).at("2019-01-01 10:00:00").amount("25.00").category("misc_net");
//   vigil::Decision d = engine.score(tx.build());
#pragma once

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vigil/engine.h"
#include "vigil/model.h"

namespace vigil::testing {

/// An engine from an inline JSON config. Test-only convenience: an invalid config throws
/// std::invalid_argument with the precise error (tests want a loud failure, not a Result).
inline Engine make_engine(std::string_view config_json, EngineOptions options = {}) {
  Result<Engine> e = Engine::create_from_json(config_json, options);
  if (!e.ok()) throw std::invalid_argument(e.status().to_string());
  return std::move(e).value();
}

/// Builds Transactions whose strings are interned into a given dictionary (the engine's).
/// Defaults: a card, an amount of 10.00, time 2019-01-01 00:00:00, a trans_num unique per
/// build() call ("t1", "t2", …), everything else missing.
class TxBuilder {
 public:
  explicit TxBuilder(Dictionary& dict) : dict_(dict) { reset(); }

  TxBuilder& card(std::uint64_t cc_num) {
    tx_.cc_num = cc_num;
    return *this;
  }
  /// Event time from "YYYY-MM-DD HH:MM:SS" (throws std::invalid_argument on bad text).
  TxBuilder& at(std::string_view timestamp) {
    const auto t = parse_timestamp(timestamp);
    if (!t)
      throw std::invalid_argument("TxBuilder::at: bad timestamp '" + std::string(timestamp) + "'");
    tx_.time = *t;
    return *this;
  }
  TxBuilder& at(Micros t) {
    tx_.time = t;
    return *this;
  }
  /// Amount from decimal text such as "12.34" (exact cents).
  TxBuilder& amount(std::string_view dollars) {
    std::int64_t units = 0, cents = 0;
    const std::size_t dot = dollars.find('.');
    const std::string_view whole = dollars.substr(0, dot);
    if (std::from_chars(whole.data(), whole.data() + whole.size(), units).ec != std::errc()) {
      throw std::invalid_argument("TxBuilder::amount: bad amount '" + std::string(dollars) + "'");
    }
    if (dot != std::string_view::npos) {
      std::string frac(dollars.substr(dot + 1));
      frac.resize(2, '0');
      std::from_chars(frac.data(), frac.data() + 2, cents);
    }
    tx_.amt_cents = units * 100 + (units < 0 || dollars.starts_with('-') ? -cents : cents);
    return *this;
  }
  TxBuilder& amount_cents(std::int64_t cents) {
    tx_.amt_cents = cents;
    return *this;
  }
  TxBuilder& merchant(std::string_view m) {
    tx_.merchant = dict_.intern(m);
    return *this;
  }
  TxBuilder& category(std::string_view c) {
    tx_.category = dict_.intern(c);
    return *this;
  }
  TxBuilder& state(std::string_view s) {
    tx_.state = dict_.intern(s);
    return *this;
  }
  TxBuilder& city(std::string_view c) {
    tx_.city = dict_.intern(c);
    return *this;
  }
  TxBuilder& home(double lat, double lon) {
    tx_.lat = lat;
    tx_.lon = lon;
    return *this;
  }
  TxBuilder& merchant_at(double lat, double lon) {
    tx_.merch_lat = lat;
    tx_.merch_lon = lon;
    return *this;
  }
  TxBuilder& gender(char g) {
    tx_.gender = g;
    return *this;
  }
  TxBuilder& dob(std::string_view date) {
    const auto d = parse_date(date);
    if (!d) throw std::invalid_argument("TxBuilder::dob: bad date '" + std::string(date) + "'");
    tx_.dob = *d;
    return *this;
  }
  TxBuilder& fraud(bool is_fraud) {
    tx_.is_fraud = is_fraud ? 1 : 0;
    return *this;
  }
  TxBuilder& trans_num(std::string_view id) {
    const auto t = TransId::from(id);
    if (!t) throw std::invalid_argument("TxBuilder::trans_num: longer than 47 bytes");
    tx_.trans_num = *t;
    explicit_id_ = true;
    return *this;
  }

  /// The transaction built so far; fields stay set for the next build() (change what differs).
  Transaction build() {
    Transaction out = tx_;
    ++serial_;
    if (!explicit_id_) out.trans_num = *TransId::from("t" + std::to_string(serial_));
    explicit_id_ = false;
    return out;
  }
  /// Back to the defaults.
  void reset() {
    tx_ = Transaction{};
    tx_.cc_num = 4000000000000002ULL;
    tx_.amt_cents = 1000;
    tx_.time = days_from_civil(2019, 1, 1) * kMicrosPerDay;
    explicit_id_ = false;
  }

 private:
  Dictionary& dict_;
  Transaction tx_;
  std::uint64_t serial_ = 0;
  bool explicit_id_ = false;
};

}  // namespace vigil::testing
