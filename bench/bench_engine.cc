// End-to-end benchmarks of the Engine façade: bytes → decisions, parsed batches → decisions,
// and one transaction at a time through score(). The baseline of the first figure is
// BM_Ingest_SimdjsonRaw (bench_ingest.cc) on the same 100k records, in the same binary.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common.h"
#include "vigil/engine.h"

namespace {

constexpr std::size_t kRows = 100'000;

vigil::Engine make_engine() {
  vigil::EngineOptions o;
  o.measure_latency = false;
  auto e = vigil::Engine::create_default(o);
  if (!e.ok()) std::abort();
  return std::move(e).value();
}

// A fresh engine per iteration (windows start empty, as a replay of a new shard would), fed the
// whole NDJSON stream in 1 MiB chunks.
void BM_EndToEnd_Ndjson(benchmark::State& state) {
  const std::string& input = vigil::bench::bench_ndjson(kRows);
  std::uint64_t decided = 0;
  for (auto _ : state) {
    state.PauseTiming();
    vigil::Engine engine = make_engine();
    std::int64_t checksum = 0;
    engine.set_decision_sink(
        [&](const vigil::TransactionBatch& b, std::span<const vigil::Decision> d) {
          for (std::size_t i = 0; i < b.size(); ++i) checksum += d[i].score;
          decided += b.size();
        });
    state.ResumeTiming();
    constexpr std::size_t kChunk = 1 << 20;
    for (std::size_t pos = 0; pos < input.size(); pos += kChunk) {
      benchmark::DoNotOptimize(engine.feed(std::string_view(input).substr(pos, kChunk)).ok());
    }
    benchmark::DoNotOptimize(engine.finish().ok());
    benchmark::DoNotOptimize(checksum);
  }
  if (decided != kRows * state.iterations()) state.SkipWithError("not every record was decided");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRows));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
}
BENCHMARK(BM_EndToEnd_Ndjson)->Unit(benchmark::kMillisecond);

// Already-parsed columnar batches through process(): features + rules + model + rollups.
void BM_EndToEnd_Batches(benchmark::State& state) {
  const vigil::bench::BenchTransactions& data = vigil::bench::bench_data(kRows);
  for (auto _ : state) {
    state.PauseTiming();
    vigil::Engine engine = make_engine();
    // The batches' StrIds must be the engine's: build them against its dictionary (untimed).
    std::vector<vigil::TransactionBatch> batches;
    vigil::TransactionBatch batch;
    for (const vigil::Transaction& src : data.rows) {
      vigil::Transaction t = src;
      vigil::bench::reintern(t, data.dictionary, engine.dictionary());
      if (!batch.push_back(t)) {
        batches.push_back(std::move(batch));
        batch = vigil::TransactionBatch();
        batch.push_back(t);
      }
    }
    batches.push_back(std::move(batch));
    state.ResumeTiming();
    std::int64_t checksum = 0;
    for (const vigil::TransactionBatch& b : batches) {
      for (const vigil::Decision& d : engine.process(b)) checksum += d.score;
    }
    benchmark::DoNotOptimize(checksum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * data.rows.size()));
}
BENCHMARK(BM_EndToEnd_Batches)->Unit(benchmark::kMillisecond);

// One transaction at a time through score(), after the first half of the stream warmed the
// windows. p50 / p99 of the engine's own latency histogram are reported as counters (ns).
void BM_EndToEnd_Score(benchmark::State& state) {
  const vigil::bench::BenchTransactions& data = vigil::bench::bench_data(kRows);
  auto made = vigil::Engine::create_default();  // latency measured
  if (!made.ok()) std::abort();
  vigil::Engine& engine = *made;
  std::vector<vigil::Transaction> rows = data.rows;
  for (vigil::Transaction& t : rows)
    vigil::bench::reintern(t, data.dictionary, engine.dictionary());
  const std::size_t warm = rows.size() / 2;
  for (std::size_t i = 0; i < warm; ++i) benchmark::DoNotOptimize(engine.score(rows[i]).score);
  engine.reset_latency();
  std::size_t i = warm;
  std::int64_t checksum = 0;
  for (auto _ : state) {
    if (i == rows.size()) {
      // Start over on a shifted copy of the second half so times keep increasing.
      state.PauseTiming();
      const vigil::Micros shift = rows.back().time - rows[warm].time + vigil::kMicrosPerSecond;
      for (std::size_t k = warm; k < rows.size(); ++k) rows[k].time += shift;
      i = warm;
      state.ResumeTiming();
    }
    checksum += engine.score(rows[i++]).score;
  }
  benchmark::DoNotOptimize(checksum);
  const vigil::LatencySummary lat = engine.score_latency();
  state.counters["p50_ns"] = lat.p50_ns;
  state.counters["p99_ns"] = lat.p99_ns;
  state.counters["p999_ns"] = lat.p999_ns;
  state.counters["calls"] = static_cast<double>(lat.count);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_EndToEnd_Score);

}  // namespace
