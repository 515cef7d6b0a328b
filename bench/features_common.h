// Shared pieces of the feature store benchmarks (bench_features.cc, bench_features_kernel.cc):
// the benchmark configuration, the realistic stream split into a warm and a timed half, and the
// store's memory counters. Inline, so that every benchmark file shares one cache of the data.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "common.h"
#include "vigil/config.h"
#include "vigil/features.h"
#include "vigil/model.h"
#include "vigil/time.h"

namespace vigil::bench::features {

inline constexpr Micros kMin = kMicrosPerMinute, kHour = kMicrosPerHour, kDay = kMicrosPerDay;

inline FeatureSpec spec(const char* name, Field key, Agg agg, std::optional<Field> field,
                        Micros window) {
  FeatureSpec f;
  f.name = name;
  f.key = key;
  f.agg = agg;
  f.field = field;
  f.window = window;
  return f;
}

/// The 8 declared features of the benchmarks (windows 1m / 1h / 24h / 7d); the 9 built-ins
/// come first in the matrix.
inline Config bench_config() {
  Config cfg;
  cfg.features = {
      spec("card_count_1m", Field::kCcNum, Agg::kCount, std::nullopt, kMin),
      spec("card_count_1h", Field::kCcNum, Agg::kCount, std::nullopt, kHour),
      spec("card_amt_sum_24h", Field::kCcNum, Agg::kSum, Field::kAmt, kDay),
      spec("card_amt_avg_7d", Field::kCcNum, Agg::kAvg, Field::kAmt, 7 * kDay),
      spec("card_amt_max_24h", Field::kCcNum, Agg::kMax, Field::kAmt, kDay),
      spec("card_merchants_7d", Field::kCcNum, Agg::kDistinct, Field::kMerchant, 7 * kDay),
      spec("merchant_count_1h", Field::kMerchant, Agg::kCount, std::nullopt, kHour),
      spec("category_amt_avg_1h", Field::kCategory, Agg::kAvg, Field::kAmt, kHour),
  };
  return cfg;
}

// 100k cards transact ~2.2 times a day: 4M rows span ~18 days, the warm half ~9 days (> 7d).
inline constexpr std::size_t kRows = 4'000'000;
inline constexpr std::size_t kWarmRows = 2'000'000;  // untimed: fills the windows (steady state)

inline std::vector<TransactionBatch> to_batches(std::span<const Transaction> rows, std::size_t from,
                                                std::size_t to) {
  std::vector<TransactionBatch> out;
  for (std::size_t i = from; i < to; ++i) {
    if (out.empty() || out.back().full()) out.emplace_back(1024);
    out.back().push_back(rows[i]);
  }
  return out;
}

/// bench_transactions(kRows, cards) in batches of 1024: the first kWarmRows (warm-up,
/// untimed) and the rest (timed).
struct Data {
  std::span<const Transaction> rows;
  std::vector<TransactionBatch> warm, timed;
  std::size_t timed_rows = 0;
};
inline const Data& data(std::size_t cards) {
  static std::map<std::size_t, Data> cache;
  auto it = cache.find(cards);
  if (it != cache.end()) return it->second;
  const auto rows = bench_transactions(kRows, cards);
  Data d;
  d.rows = rows;
  d.warm = to_batches(rows, 0, kWarmRows);
  d.timed = to_batches(rows, kWarmRows, rows.size());
  d.timed_rows = rows.size() - kWarmRows;
  return cache.emplace(cards, std::move(d)).first->second;
}

/// Keys, held events, bytes per card and per held event as counters, one formula for the store
/// and the hand kernel (bench_features_kernel.cc) so that their figures compare.
inline void report_bytes(benchmark::State& state, std::uint64_t keys, std::uint64_t events_held,
                         std::uint64_t key_bytes, std::uint64_t event_bytes, double cards) {
  state.counters["keys"] = static_cast<double>(keys);
  state.counters["events_held"] = static_cast<double>(events_held);
  state.counters["B_per_card"] = static_cast<double>(key_bytes) / cards;
  state.counters["B_per_event"] =
      static_cast<double>(event_bytes) / std::max<double>(1, static_cast<double>(events_held));
}

/// The store's accounting as counters: report_bytes(), other bytes per card, the total.
inline void report_memory(benchmark::State& state, const FeatureStore& store, double cards) {
  const FeatureStoreStats st = store.stats();
  report_bytes(state, st.keys, st.events_held, st.key_bytes, st.event_bytes, cards);
  state.counters["B_other_per_card"] = static_cast<double>(st.other_bytes) / cards;
  state.counters["MB_total"] = static_cast<double>(st.bytes()) / 1e6;
}

}  // namespace vigil::bench::features
