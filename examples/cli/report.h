// The replay / train summary: throughput, dead letters, decisions by class and, where the input
// carries is_fraud labels, detection quality (precision, recall, alert rate per class, top
// rules, per-state table).
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "vigil/engine.h"

namespace vigil::cli {

class DetectionReport {
 public:
  explicit DetectionReport(const Engine& engine);

  /// Counts one scored batch.
  void add(const TransactionBatch& batch, std::span<const Decision> decisions);

  std::uint64_t labelled_fraud() const {
    return by_label_[1][0] + by_label_[1][1] + by_label_[1][2];
  }
  std::uint64_t labelled_legit() const {
    return by_label_[0][0] + by_label_[0][1] + by_label_[0][2];
  }
  /// Share of fraud transactions in review or decline.
  double recall() const;
  /// Share of legitimate transactions in review or decline.
  double false_alert_rate() const;
  /// Share of alerts (review or decline) that are fraud.
  double precision() const;

  /// Prints the summary; `bytes` and `seconds` give the throughput line.
  void print(std::FILE* out, std::uint64_t bytes, double seconds) const;

 private:
  const Engine& engine_;
  std::uint64_t transactions_ = 0;
  std::array<std::uint64_t, 3> by_action_{};
  std::array<std::array<std::uint64_t, 3>, 2> by_label_{};
  std::vector<std::uint64_t> reason_hits_;
  std::vector<std::uint64_t> reason_fraud_hits_;
};

}  // namespace vigil::cli
