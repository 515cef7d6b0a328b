// A sink that records everything an Ingestor delivers as canonical text lines, so two runs can
// be compared exactly (chunking invariance) and tests can spot-check values.
#pragma once

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "vigil/ingest.h"

namespace vigil::testing {

struct LogSink final : IngestSink {
  explicit LogSink(const Dictionary& d) : dict(d) {}
  void on_batch(const TransactionBatch& b) override {
    log.push_back("batch " + std::to_string(b.size()));
    for (std::size_t i = 0; i < b.size(); ++i) {
      rows.push_back(b.row(i));
      log.push_back(describe(rows.back()));
    }
  }
  void on_status(const StatusChange& s) override {
    statuses.push_back(s);
    log.push_back("status " + std::string(s.trans_num.view()) + " " +
                  std::string(dict.view(s.status)) + " prev=" + std::string(dict.view(s.previous)) +
                  " t=" + std::to_string(s.time));
  }
  void on_flag(const FlagChange& f) override {
    flags.push_back(f);
    log.push_back(std::string(f.flagged ? "flag " : "unflag ") + std::string(field_name(f.entity)) +
                  " " + std::to_string(f.key) + " t=" + std::to_string(f.time) + " until=" +
                  std::to_string(f.until) + " reason=" + std::string(dict.view(f.reason)));
  }
  void on_reject(const Rejected& r) override {
    rejects.push_back(r);
    rejects.back().record = {};
    records.emplace_back(r.record);
    log.push_back("reject @" + std::to_string(r.offset) + " line " + std::to_string(r.line) + " [" +
                  r.field + "] " + r.reason + " | " + std::string(r.record));
  }
  std::string describe(const Transaction& t) const {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "tx %s t=%lld ut=%lld cc=%llu amt=%lld lat=%.17g lon=%.17g mlat=%.17g mlon=%.17g "
                  "zip=%u pop=%u dob=%d g=%d fraud=%d",
                  std::string(t.trans_num.view()).c_str(), static_cast<long long>(t.time),
                  static_cast<long long>(t.unix_time), static_cast<unsigned long long>(t.cc_num),
                  static_cast<long long>(t.amt_cents), t.lat, t.lon, t.merch_lat, t.merch_lon,
                  t.zip, t.city_pop, t.dob, t.gender, t.is_fraud);
    std::string s = buf;
    for (StrId id : {t.merchant, t.category, t.first, t.last, t.street, t.city, t.state, t.job}) {
      s += '|';
      s += dict.view(id);
    }
    return s;
  }
  std::string text() const {
    std::string s;
    for (const auto& l : log) s += l + "\n";
    return s;
  }

  const Dictionary& dict;
  std::vector<std::string> log;
  std::vector<Transaction> rows;
  std::vector<StatusChange> statuses;
  std::vector<FlagChange> flags;
  std::vector<Rejected> rejects;
  std::vector<std::string> records;
};

/// Everything one run delivered, plus the stats.
struct RunResult {
  std::string log;
  IngestStats stats;
};

inline std::string stats_text(const IngestStats& s) {
  // Appends (not operator+ chains: GCC 12 emits a false -Wrestrict for "lit" + std::string).
  std::string t;
  for (auto [name, n] : {std::pair{"bytes", s.bytes},
                         {"records", s.records},
                         {"tx", s.transactions},
                         {"st", s.status_changes},
                         {"fl", s.flags},
                         {"ign", s.ignored},
                         {"rej", s.rejected},
                         {"batches", s.batches}}) {
    t += name;
    t += '=';
    t += std::to_string(n);
    t += ' ';
  }
  for (auto n : s.rejected_by) {
    t += std::to_string(n);
    t += ' ';
  }
  return t;
}

/// Feeds `input` in chunks of `chunk` bytes (0 = whole; SIZE_MAX-1 = random sizes from `seed`).
inline RunResult run(std::string_view input, IngestOptions options, std::size_t chunk = 0,
                     unsigned seed = 1) {
  Dictionary dict;
  LogSink sink(dict);
  auto ing = Ingestor::create(std::move(options), dict, sink);
  if (!ing.ok()) return {"create failed: " + ing.status().to_string(), {}};
  std::mt19937 rng(seed);
  std::size_t pos = 0;
  while (pos < input.size()) {
    std::size_t n = chunk == 0 ? input.size() : chunk;
    if (chunk == SIZE_MAX - 1) n = std::uniform_int_distribution<std::size_t>(1, 300)(rng);
    n = std::min(n, input.size() - pos);
    if (!ing->feed(input.substr(pos, n)).ok()) return {"feed failed", {}};
    pos += n;
  }
  if (!ing->finish().ok()) return {"finish failed", {}};
  return {sink.text() + stats_text(ing->stats()), ing->stats()};
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string data_path(const std::string& name) {
  const char* root = std::getenv("VIGIL_SOURCE_DIR");
  return std::string(root != nullptr ? root : ".") + "/tests/ingest/data/" + name;
}

}  // namespace vigil::testing
