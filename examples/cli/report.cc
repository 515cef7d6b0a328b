#include "cli/report.h"

#include <algorithm>
#include <numeric>

#include "cli/io.h"

namespace vigil::cli {
namespace {

double ratio(std::uint64_t a, std::uint64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}

}  // namespace

DetectionReport::DetectionReport(const Engine& engine) : engine_(engine) {}

void DetectionReport::add(const TransactionBatch& b, std::span<const Decision> d) {
  if (reason_hits_.size() != engine_.reason_count()) {
    reason_hits_.assign(engine_.reason_count(), 0);
    reason_fraud_hits_.assign(engine_.reason_count(), 0);
  }
  for (std::size_t i = 0; i < b.size(); ++i) {
    ++transactions_;
    const auto action = static_cast<std::size_t>(d[i].action);
    ++by_action_[action];
    const bool labelled = b.is_fraud[i] == 0 || b.is_fraud[i] == 1;
    if (labelled) ++by_label_[static_cast<std::size_t>(b.is_fraud[i])][action];
    if (d[i].action == Action::kApprove) continue;  // reasons are tallied over alerts
    for (std::size_t k = 0; k < d[i].reason_count; ++k) {
      const ReasonCode code = d[i].reasons[k];
      // Model reasons are numbered after the rules (see Engine::reason_count()).
      const std::size_t slot =
          code >= kModelReasonBase ? engine_.rule_count() + (code - kModelReasonBase) : code;
      if (slot >= reason_hits_.size()) continue;
      ++reason_hits_[slot];
      if (b.is_fraud[i] == 1) ++reason_fraud_hits_[slot];
    }
  }
}

double DetectionReport::recall() const {
  return ratio(by_label_[1][1] + by_label_[1][2], labelled_fraud());
}
double DetectionReport::false_alert_rate() const {
  return ratio(by_label_[0][1] + by_label_[0][2], labelled_legit());
}
double DetectionReport::precision() const {
  const std::uint64_t alerts_fraud = by_label_[1][1] + by_label_[1][2];
  return ratio(alerts_fraud, alerts_fraud + by_label_[0][1] + by_label_[0][2]);
}

void DetectionReport::print(std::FILE* f, std::uint64_t bytes, double seconds) const {
  const EngineCounters& counters = engine_.counters();
  const std::uint64_t records = transactions_ + counters.rejected;
  std::fprintf(
      f,
      "vigil: %s transactions scored, %s rejected, in %.2f s (%.2f M records/s, %.0f MB/s) on %s\n",
      with_commas(transactions_).c_str(), with_commas(counters.rejected).c_str(), seconds,
      seconds > 0 ? static_cast<double>(records) / seconds / 1e6 : 0.0,
      seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0.0,
      std::string(engine_.arch()).c_str());
  if (!counters.rejected_by_reason.empty()) {
    std::fprintf(f, "rejected by reason:\n");
    std::vector<std::pair<std::string, std::uint64_t>> rows = counters.rejected_by_reason;
    std::stable_sort(rows.begin(), rows.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    for (std::size_t i = 0; i < rows.size() && i < 10; ++i) {
      std::fprintf(f, "  %10s  %s\n", with_commas(rows[i].second).c_str(), rows[i].first.c_str());
    }
  }
  std::fprintf(f, "decisions: approve %s (%.2f%%), review %s (%.2f%%), decline %s (%.2f%%)\n",
               with_commas(by_action_[0]).c_str(), 100 * ratio(by_action_[0], transactions_),
               with_commas(by_action_[1]).c_str(), 100 * ratio(by_action_[1], transactions_),
               with_commas(by_action_[2]).c_str(), 100 * ratio(by_action_[2], transactions_));
  const std::uint64_t fraud = labelled_fraud(), legit = labelled_legit();
  if (fraud + legit == 0) return;
  std::fprintf(f, "\ndetection (is_fraud labels: %s fraud, %s legitimate)\n",
               with_commas(fraud).c_str(), with_commas(legit).c_str());
  std::fprintf(f, "  %-12s %12s %12s %12s %14s\n", "class", "approve", "review", "decline",
               "alert rate");
  const char* names[2] = {"legitimate", "fraud"};
  for (int label = 1; label >= 0; --label) {
    const auto& row = by_label_[static_cast<std::size_t>(label)];
    std::fprintf(f, "  %-12s %12s %12s %12s %13.2f%%\n", names[label], with_commas(row[0]).c_str(),
                 with_commas(row[1]).c_str(), with_commas(row[2]).c_str(),
                 100 * ratio(row[1] + row[2], row[0] + row[1] + row[2]));
  }
  std::fprintf(f, "  precision %.1f%%   recall %.1f%%   alert rate %.2f%% of all transactions\n",
               100 * precision(), 100 * recall(),
               100 * ratio(by_label_[0][1] + by_label_[0][2] + by_label_[1][1] + by_label_[1][2],
                           fraud + legit));

  std::vector<std::size_t> order(reason_hits_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return reason_hits_[a] > reason_hits_[b]; });
  std::fprintf(f, "\ntop reasons of alerts (review or decline)\n  %8s %8s %9s  %s\n", "alerts",
               "fraud", "precision", "reason");
  const std::size_t rule_count = engine_.rule_count();
  for (std::size_t i = 0; i < order.size() && i < 12; ++i) {
    const std::size_t slot = order[i];
    if (reason_hits_[slot] == 0) break;
    const ReasonCode code = slot < rule_count
                                ? static_cast<ReasonCode>(slot)
                                : static_cast<ReasonCode>(kModelReasonBase + (slot - rule_count));
    const std::string id(engine_.reason_id(code));
    std::fprintf(f, "  %8s %8s %8.1f%%  %s\n", with_commas(reason_hits_[slot]).c_str(),
                 with_commas(reason_fraud_hits_[slot]).c_str(),
                 100 * ratio(reason_fraud_hits_[slot], reason_hits_[slot]), id.c_str());
  }

  auto states = engine_.rollups().by_state(engine_.dictionary());
  std::stable_sort(states.begin(), states.end(), [](const auto& a, const auto& b) {
    return a.second.transactions > b.second.transactions;
  });
  std::fprintf(f, "\nby state (top 10 by transactions)\n  %-6s %12s %14s %8s %8s\n", "state",
               "transactions", "amount", "alerts", "fraud");
  for (std::size_t i = 0; i < states.size() && i < 10; ++i) {
    const RollupCell& c = states[i].second;
    std::fprintf(f, "  %-6s %12s %14.2f %8s %8s\n",
                 states[i].first.empty() ? "?" : states[i].first.c_str(),
                 with_commas(c.transactions).c_str(), static_cast<double>(c.amount_cents) / 100.0,
                 with_commas(c.alerts).c_str(), with_commas(c.fraud).c_str());
  }
}

}  // namespace vigil::cli
