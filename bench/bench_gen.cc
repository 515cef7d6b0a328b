// Generator throughput: records produced, and records produced and formatted as NDJSON / CSV.
// Baseline: BM_Gen_Generate alone (no text), so the formatting cost reads as a ratio.
#include <benchmark/benchmark.h>

#include <string>

#include "common.h"
#include "vigil/generate.h"

namespace {

constexpr std::uint64_t kCards = 2'000;
constexpr int kDays = 30;  // ~130k transactions

vigil::Generator make_generator() {
  vigil::GeneratorOptions opts;
  opts.cards = kCards;
  opts.days = kDays;
  opts.seed = vigil::bench::kBenchSeed;
  return std::move(vigil::Generator::create(opts)).value();
}

void BM_Gen_Generate(benchmark::State& state) {
  std::int64_t records = 0;
  for (auto _ : state) {
    vigil::Generator gen = make_generator();
    vigil::GeneratedRecord rec;
    while (gen.next(rec)) {
      benchmark::DoNotOptimize(rec);
      ++records;
    }
  }
  state.SetItemsProcessed(records);
}
BENCHMARK(BM_Gen_Generate)->Unit(benchmark::kMillisecond);

void generate_text(benchmark::State& state, vigil::OutputFormat format) {
  std::int64_t records = 0, bytes = 0;
  std::string out;
  for (auto _ : state) {
    vigil::Generator gen = make_generator();
    vigil::RecordWriter writer(format, gen.dictionary());
    vigil::GeneratedRecord rec;
    out.clear();
    writer.append_header(out);
    while (gen.next(rec)) {
      (void)writer.append(rec, out);
      ++records;
      if (out.size() > (1 << 20)) {
        bytes += static_cast<std::int64_t>(out.size());
        benchmark::DoNotOptimize(out.data());
        out.clear();
      }
    }
    bytes += static_cast<std::int64_t>(out.size());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(bytes);
}

void BM_Gen_GenerateNdjson(benchmark::State& state) {
  generate_text(state, vigil::OutputFormat::kNdjson);
}
BENCHMARK(BM_Gen_GenerateNdjson)->Unit(benchmark::kMillisecond);

void BM_Gen_GenerateCsv(benchmark::State& state) {
  generate_text(state, vigil::OutputFormat::kCsv);
}
BENCHMARK(BM_Gen_GenerateCsv)->Unit(benchmark::kMillisecond);

}  // namespace
