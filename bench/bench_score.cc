// Scorer benchmarks: 64 realistic rules over 32 features and an 8-term logistic model at batch
// 1024, SIMD per arch against the scalar evaluator of the same program (on realistic traffic
// and on a dense worst case, see ScoreWorld), and the flagged-entity join over 1M flagged keys
// against a hash-map lookup per key. BM_Score_Default/<arch> scores the built-in default config
// on FeatureStore output for generated traffic: the scorer's part of BM_EndToEnd_Batches.
//
//   vigil_bench --benchmark_filter='BM_Score|BM_Join' --benchmark_repetitions=5
//               --benchmark_report_aggregates_only=true
//
// items_per_second is transactions (or probed keys) per second; ns per transaction is its
// inverse.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common.h"
#include "vigil/config.h"
#include "vigil/features.h"
#include "vigil/score.h"

namespace {

using vigil::Config;
using vigil::Decision;
using vigil::FeatureMatrix;
using vigil::FlagSet;
using vigil::ScoreArch;
using vigil::Scorer;
using vigil::TransactionBatch;

constexpr std::size_t kBatch = 1024;

std::vector<std::string> feature_names() {
  return {"amt", "hour", "weekday", "age", "city_pop", "km_home_merchant", "secs_since_prev",
          "km_from_prev", "kmh_from_prev",
          // 23 declared window features
          "card_count_1h", "card_count_24h", "card_count_7d", "card_amt_avg_30d",
          "card_amt_std_30d", "card_amt_max_7d", "card_amt_sum_24h", "card_merchants_24h",
          "card_categories_7d", "merchant_count_1h", "merchant_count_24h", "merchant_disputes_30d",
          "merchant_amt_avg_7d", "card_night_count_7d", "card_states_30d", "card_amt_min_7d",
          "card_cities_30d", "zip_count_24h", "state_count_1h", "card_km_max_24h",
          "merchant_fraud_30d", "card_declines_24h", "category_amt_avg_7d"};
}

// 16 rule shapes × 4 thresholds: the kind of rule set a fraud team writes (night bursts,
// spend spikes, impossible travel, risky categories, merchant disputes, flags).
Config rule_config() {
  struct Shape {
    const char* when;  // {} is replaced by the threshold
    const char* values[4];
  };
  static const Shape shapes[] = {
      {"(hour >= 22 || hour < 4) && card_count_1h >= 3 && amt > {} * card_amt_avg_30d",
       {"2", "3", "4", "5"}},
      {"amt > card_amt_avg_30d + {} * card_amt_std_30d && card_amt_std_30d > 0",
       {"3", "4", "5", "6"}},
      {"in(category, [\"shopping_net\", \"misc_net\"]) && amt > {}", {"200", "300", "500", "700"}},
      {"kmh_from_prev > {} && secs_since_prev < 3600", {"500", "800", "900", "1200"}},
      {"card_merchants_24h >= {} && card_count_24h > 8", {"5", "6", "8", "10"}},
      {"between(age, 18, 25) && amt > {} && category == \"shopping_net\"",
       {"300", "500", "700", "900"}},
      {"merchant_disputes_30d >= 2 && amt > merchant_amt_avg_7d * {}", {"2", "3", "4", "5"}},
      {"log1p(amt) - log1p(card_amt_avg_30d) > {}", {"1.5", "2", "2.5", "3"}},
      {"card_states_30d >= 3 && km_home_merchant > {}", {"100", "200", "300", "500"}},
      {"card_amt_sum_24h > {} && card_count_24h >= 5", {"2000", "3000", "5000", "8000"}},
      {"merchant_count_1h > {} && card_count_1h >= 2", {"50", "100", "150", "200"}},
      {"abs(amt - card_amt_avg_30d) > {} && weekday >= 5", {"500", "800", "1000", "1500"}},
      {"city_pop < 5000 && amt > {} && !(category == \"gas_transport\")",
       {"400", "600", "800", "1000"}},
      {"card_night_count_7d >= {} && hour < 5 && amt > card_amt_min_7d * 10", {"3", "4", "5", "6"}},
      {"card_declines_24h >= {} || zip_count_24h > 400 && state_count_1h > 90",
       {"2", "3", "4", "5"}},
      {"max(card_amt_max_7d, amt) > {} && card_km_max_24h > 300", {"3000", "4000", "5000", "6000"}},
  };
  Config c;
  int n = 0;
  for (const Shape& s : shapes) {
    for (const char* v : s.values) {
      std::string when = s.when;
      when.replace(when.find("{}"), 2, v);
      vigil::RuleSpec r;
      r.id = "R" + std::to_string(n);
      r.when = when;
      r.score = 50 + 10 * (n % 30);
      r.reason = "rule " + std::to_string(n);
      c.rules.push_back(r);
      ++n;
    }
  }
  // Two of the 64 are flag rules (replacing the last shape's loosest thresholds).
  c.rules[62].when = "flagged(cc_num)";
  c.rules[63].when = "flagged(merchant)";
  c.model.kind = vigil::ModelSpec::Kind::kLogistic;
  c.model.bias = -6.5;
  c.model.scale = 600;
  c.model.terms = {{"amt", 0.9, 70, 150},
                   {"card_count_1h", 0.6, 1, 1},
                   {"card_count_24h", 0.1, 4, 3},
                   {"merchant_disputes_30d", 0.3, 0, 1},
                   {"kmh_from_prev", 0.002, 0, 1},
                   {"card_merchants_24h", 0.2, 2, 2},
                   {"card_amt_avg_30d", -0.2, 70, 60},
                   {"hour", 0.05, 12, 7}};
  return c;
}

// Two data sets over the same columns:
// - realistic (the default): per-card spending habits with amounts, counts and distances
//   drawn around them, rare disputes / declines / multi-state cards, and a 0.5% burst of
//   fraud-like rows (large amounts at night in a short burst). Like real traffic, most rows fire
//   no rule (about 5% fire one) and the model names the reasons.
// - dense (the first version of this benchmark): every column drawn independently, so spends
//   and averages are unrelated and counts of declines and disputes are high; 63% of rows
//   fire a rule, 2.6 rules a row. Kept as the worst case of the per-row finishing work.
enum class Data { kRealistic, kDense };

struct ScoreWorld {
  vigil::Dictionary dict;
  std::vector<std::string> names = feature_names();
  TransactionBatch batch{kBatch};
  FeatureMatrix features{names.size(), kBatch};
  FlagSet flags;
  Config config = rule_config();

  explicit ScoreWorld(Data data) {
    std::mt19937_64 rng(42);
    const char* categories[] = {"grocery_pos", "shopping_net", "misc_net",      "gas_transport",
                                "home",        "kids_pets",    "entertainment", "food_dining"};
    batch.set_size(kBatch);
    features.set_rows(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      batch.cc_num[i] = rng() % 5000;
      batch.merchant[i] = static_cast<vigil::StrId>(1 + rng() % 800);
      batch.category[i] = dict.intern(categories[rng() % 8]);
      batch.time[i] = static_cast<vigil::Micros>(i) * 1'000'000;
      if (data == Data::kDense) {
        dense_row(rng, i);
      } else {
        realistic_row(rng, i);
      }
    }
    for (std::uint64_t k = 0; k < 50; ++k) {
      vigil::FlagChange f;
      f.key = k * 97;
      flags.apply(f);
    }
  }

  void set(std::size_t row, const char* name, double v) {
    for (std::size_t j = 0; j < names.size(); ++j) {
      if (names[j] == name) {
        features.column(j)[row] = v;
        return;
      }
    }
    std::abort();
  }

  void realistic_row(std::mt19937_64& rng, std::size_t i) {
    auto logn = [&](double mu, double sigma) {
      return std::lognormal_distribution<double>(mu, sigma)(rng);
    };
    auto pois = [&](double mean) {
      return static_cast<double>(std::poisson_distribution<int>(mean)(rng));
    };
    auto unit = [&] { return std::uniform_real_distribution<double>(0, 1)(rng); };
    const bool fraud = unit() < 0.005;
    const double habit = logn(3.8, 0.8);  // the card's usual spend
    double amt = habit * logn(0, 0.5);
    double hour = static_cast<double>(7 + rng() % 16);  // mostly daytime
    if (unit() < 0.1) hour = static_cast<double>(rng() % 24);
    double count_1h = 1 + pois(0.3);
    if (fraud) {
      amt = habit * logn(2.2, 0.5);
      hour = static_cast<double>((22 + rng() % 6) % 24);
      count_1h = 3 + pois(1.5);
    }
    const double count_24h = count_1h + pois(2);
    set(i, "amt", std::round(amt * 100) / 100);
    set(i, "hour", hour);
    set(i, "weekday", static_cast<double>(rng() % 7));
    set(i, "age", static_cast<double>(18 + rng() % 70));
    set(i, "city_pop", std::round(logn(9, 1.8)));
    set(i, "km_home_merchant", 150 * unit());
    const bool first = unit() < 0.1;  // a card's first transaction: no previous one
    const double secs = logn(10, 1.5), km = 150 * unit() * unit();
    set(i, "secs_since_prev", first ? std::nan("") : secs);
    set(i, "km_from_prev", first ? std::nan("") : km);
    set(i, "kmh_from_prev", first ? std::nan("") : km / (secs / 3600 + 1.0 / 60));
    set(i, "card_count_1h", count_1h);
    set(i, "card_count_24h", count_24h);
    set(i, "card_count_7d", count_24h + pois(10));
    set(i, "card_amt_avg_30d", habit);
    set(i, "card_amt_std_30d", habit * (0.3 + 0.7 * unit()));
    set(i, "card_amt_max_7d", std::max(amt, habit * 2.5));
    set(i, "card_amt_sum_24h", amt + habit * (count_24h - 1));
    set(i, "card_merchants_24h", std::min(count_24h, 1 + pois(1)));
    set(i, "card_categories_7d", 1 + pois(2));
    set(i, "merchant_count_1h", pois(5));
    set(i, "merchant_count_24h", pois(80));
    set(i, "merchant_disputes_30d", pois(0.05));
    set(i, "merchant_amt_avg_7d", logn(4, 0.5));
    set(i, "card_night_count_7d", fraud ? 2 + pois(2) : pois(0.3));
    set(i, "card_states_30d", 1 + pois(0.05));
    set(i, "card_amt_min_7d", habit * 0.2 * (0.5 + unit()));
    set(i, "card_cities_30d", 1 + pois(0.5));
    set(i, "zip_count_24h", pois(30));
    set(i, "state_count_1h", pois(20));
    set(i, "card_km_max_24h", 150 * unit());
    set(i, "merchant_fraud_30d", pois(0.01));
    set(i, "card_declines_24h", fraud ? pois(1) : pois(0.01));
    set(i, "category_amt_avg_7d", logn(4, 0.3));
  }

  std::lognormal_distribution<double> amount{4.0, 1.2};  // dense data
  std::poisson_distribution<int> small{1.5};

  void dense_row(std::mt19937_64& rng, std::size_t i) {
    for (std::size_t j = 0; j < names.size(); ++j) {
      double v;
      if (j == 0)
        v = std::round(amount(rng) * 100) / 100;
      else if (j == 1)
        v = static_cast<double>(rng() % 24);
      else if (j == 2)
        v = static_cast<double>(rng() % 7);
      else if (j == 3)
        v = static_cast<double>(18 + rng() % 70);
      else if (j == 4)
        v = static_cast<double>(rng() % 100000);
      else if (j >= 6 && j <= 8 && rng() % 10 == 0)
        v = std::nan("");  // first of the card
      else if (names[j].find("amt") != std::string::npos)
        v = amount(rng);
      else
        v = static_cast<double>(small(rng)) * (1 + static_cast<double>(j % 5));
      features.column(j)[i] = v;
    }
  }
};

ScoreWorld& world(Data data) {
  static ScoreWorld realistic(Data::kRealistic);
  static ScoreWorld dense(Data::kDense);
  return data == Data::kDense ? dense : realistic;
}

// The scorer of `config` for `arch`, or nullopt with the benchmark marked skipped (a config
// that does not compile).
std::optional<Scorer> compile_or_skip(benchmark::State& state, const Config& config,
                                      std::span<const std::string> names, vigil::Dictionary& dict,
                                      ScoreArch arch) {
  auto scorer = Scorer::compile(config, names, dict, {arch});
  if (!scorer.ok()) {
    state.SkipWithError(scorer.status().to_string().c_str());
    return std::nullopt;
  }
  return std::move(*scorer);
}

void run_score(benchmark::State& state, ScoreArch arch, Data data) {
  ScoreWorld& w = world(data);
  auto scorer = compile_or_skip(state, w.config, w.names, w.dict, arch);
  if (!scorer) return;
  vigil::ScoreScratch scratch;
  std::vector<Decision> out(kBatch);
  for (auto _ : state) {
    auto st = scorer->score(w.batch, w.features, w.flags, scratch, out);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  std::int64_t reasons = 0, rules = 0, rows_with_rule = 0;
  for (const Decision& d : out) {
    reasons += d.reason_count;
    int r = 0;
    for (int k = 0; k < d.reason_count; ++k) r += d.reasons[k] < vigil::kModelReasonBase;
    rules += r;
    rows_with_rule += r > 0;
  }
  state.counters["instructions"] = static_cast<double>(scorer->instruction_count());
  state.counters["reasons_per_tx"] = static_cast<double>(reasons) / kBatch;
  state.counters["rules_per_tx"] = static_cast<double>(rules) / kBatch;
  state.counters["rows_with_rule"] = static_cast<double>(rows_with_rule) / kBatch;
}

void BM_Score_Scalar(benchmark::State& state) {
  run_score(state, ScoreArch::kScalar, Data::kRealistic);
}
BENCHMARK(BM_Score_Scalar);
void BM_Score_Dense_Scalar(benchmark::State& state) {
  run_score(state, ScoreArch::kScalar, Data::kDense);
}
BENCHMARK(BM_Score_Dense_Scalar);

// One BM_Score_Simd/<arch> (and BM_Score_Dense_Simd/<arch>) per SIMD instruction set this CPU
// has.
const bool kSimdRegistered = [] {
  for (Data data : {Data::kRealistic, Data::kDense}) {
    for (ScoreArch a : vigil::available_score_archs()) {
      if (a == ScoreArch::kScalar) continue;
      const std::string name =
          std::string(data == Data::kDense ? "BM_Score_Dense_Simd/" : "BM_Score_Simd/") +
          std::string(vigil::score_arch_name(a));
      benchmark::RegisterBenchmark(name.c_str(),
                                   [a, data](benchmark::State& s) { run_score(s, a, data); });
    }
  }
  return true;
}();

// The built-in default config (12 features, 6 rules, a 40-term logistic model) on the
// features a FeatureStore computes for generated traffic: the scorer's share of
// BM_EndToEnd_Batches, alone. Features of the last 8 batches of a 100k-row stream (windows
// warm), scored batch after batch.
struct DefaultWorld {
  static constexpr std::size_t kRows = 100'000, kKept = 8;
  Config config;
  vigil::Dictionary dict;
  std::vector<std::string> names;
  std::vector<TransactionBatch> batches;
  std::vector<FeatureMatrix> features;
  FlagSet flags;

  DefaultWorld() {
    auto parsed = vigil::parse_config(vigil::default_config_json());
    if (!parsed.ok()) std::abort();
    config = *parsed;
    auto store = vigil::FeatureStore::create(config, dict);
    if (!store.ok()) std::abort();
    names = store->column_names();
    const vigil::bench::BenchTransactions& data = vigil::bench::bench_data(kRows);
    TransactionBatch batch;
    FeatureMatrix matrix;
    std::size_t done = 0;
    for (const vigil::Transaction& src : data.rows) {
      vigil::Transaction t = src;
      vigil::bench::reintern(t, data.dictionary, dict);
      if (!batch.push_back(t)) std::abort();
      ++done;
      if (!batch.full() && done < data.rows.size()) continue;
      if (!store->process(batch, matrix).ok()) std::abort();
      if (batches.size() == kKept) {
        batches.erase(batches.begin());
        features.erase(features.begin());
      }
      batches.push_back(std::move(batch));
      features.push_back(std::move(matrix));
      batch = TransactionBatch();
      matrix = FeatureMatrix();
    }
  }
};

void BM_Score_Default(benchmark::State& state, ScoreArch arch) {
  static DefaultWorld w;
  auto scorer = compile_or_skip(state, w.config, w.names, w.dict, arch);
  if (!scorer) return;
  vigil::ScoreScratch scratch;
  std::vector<Decision> out(kBatch);
  std::int64_t rows = 0;
  for (auto _ : state) {
    for (std::size_t b = 0; b < w.batches.size(); ++b) {
      auto st = scorer->score(w.batches[b], w.features[b], w.flags, scratch, out);
      benchmark::DoNotOptimize(st);
      benchmark::DoNotOptimize(out.data());
      benchmark::ClobberMemory();
      rows += static_cast<std::int64_t>(w.batches[b].size());
    }
  }
  state.SetItemsProcessed(rows);
}

// One BM_Score_Default/<arch> per instruction set this CPU has, scalar included.
const bool kDefaultRegistered = [] {
  for (ScoreArch a : vigil::available_score_archs()) {
    const std::string name = "BM_Score_Default/" + std::string(vigil::score_arch_name(a));
    benchmark::RegisterBenchmark(name.c_str(),
                                 [a](benchmark::State& s) { BM_Score_Default(s, a); });
  }
  return true;
}();

// Flagged-entity join: 1M flagged cards, a batch whose keys hit 1% of the time.
struct JoinWorld {
  FlagSet flags;
  TransactionBatch batch{kBatch};
  std::vector<std::uint64_t> keys;
  JoinWorld() {
    std::mt19937_64 rng(7);
    keys.reserve(1'000'000);
    for (int i = 0; i < 1'000'000; ++i) {
      vigil::FlagChange f;
      f.key = rng();
      f.until = 1'000'000'000;
      keys.push_back(f.key);
      flags.apply(f);
    }
    batch.set_size(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      batch.cc_num[i] = (rng() % 100 == 0) ? keys[rng() % keys.size()] : rng();
      batch.time[i] = static_cast<vigil::Micros>(i);
    }
  }
};

JoinWorld& join_world() {
  static JoinWorld w;
  return w;
}

void BM_Join_Flagged(benchmark::State& state) {
  JoinWorld& w = join_world();
  std::vector<std::uint8_t> hits(kBatch);
  for (auto _ : state) {
    w.flags.probe(w.batch, vigil::Field::kCcNum, hits);
    benchmark::DoNotOptimize(hits.data());
    benchmark::ClobberMemory();
  }
  std::int64_t n = 0;
  for (auto h : hits) n += h;
  state.counters["hit_rate"] = static_cast<double>(n) / kBatch;
  state.counters["flag_bytes_per_key"] =
      static_cast<double>(w.flags.memory_bytes()) / static_cast<double>(w.flags.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_Join_Flagged);

// Baseline: a hash-map lookup per key (what the join does without the filter).
void BM_Join_Flagged_MapOnly(benchmark::State& state) {
  JoinWorld& w = join_world();
  std::vector<std::uint8_t> hits(kBatch);
  for (auto _ : state) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      hits[i] = w.flags.find(vigil::Field::kCcNum, w.batch.cc_num[i], w.batch.time[i]) ? 1 : 0;
    }
    benchmark::DoNotOptimize(hits.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_Join_Flagged_MapOnly);

}  // namespace
