// Ingest benchmarks. Every figure runs on the same generated stream (common.h, 100k Sparkov
// records) and is read against BM_Ingest_SimdjsonRaw in the same run: plain simdjson On-Demand
// iterate_many reading every field of every record into a checksum, on one thread, the
// practical limit of any JSON reader built on simdjson. Target: BM_Ingest_Ndjson >= 50% of its
// bytes/s.
#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

#include "common.h"
#include "ingest/json_reader.h"
#include "simdjson.h"
#include "vigil/ingest.h"

namespace {

constexpr std::size_t kRows = 100'000;
// Hosts hand the ingestor what their socket / Kafka fetch gives them; 64 KiB is typical.
constexpr std::size_t kChunk = 64 * 1024;

// Consumes deliveries into a checksum so the compiler cannot drop the work.
struct ChecksumSink final : vigil::IngestSink {
  std::uint64_t sum = 0;
  void on_batch(const vigil::TransactionBatch& b) override {
    for (std::size_t i = 0; i < b.size(); ++i) {
      sum += b.cc_num[i] ^ static_cast<std::uint64_t>(b.amt_cents[i]) ^ b.merchant[i];
    }
  }
  void on_status(const vigil::StatusChange& s) override { sum += s.status; }
  void on_flag(const vigil::FlagChange& f) override { sum += f.key; }
  void on_reject(const vigil::Rejected& r) override { sum += r.offset; }
};

// The Debezium form of the NDJSON stream: each record becomes the "after" image of a create.
const std::string& bench_cdc(std::size_t rows) {
  static const std::string cdc = [&] {
    const std::string& ndjson = vigil::bench::bench_ndjson(rows);
    std::string out;
    out.reserve(ndjson.size() * 2);
    std::size_t pos = 0;
    while (pos < ndjson.size()) {
      const std::size_t nl = ndjson.find('\n', pos);
      const std::size_t end = nl == std::string::npos ? ndjson.size() : nl;
      out += R"({"before":null,"after":)";
      out.append(ndjson, pos, end - pos);
      out += R"(,"source":{"version":"2.1.2.Final","connector":"postgresql","name":"vigil",)"
             R"("ts_ms":1546300800000,"snapshot":"false","db":"vigil","schema":"public",)"
             R"("table":"tx","txId":555,"lsn":24023128},"op":"c","ts_ms":1546300800100,)"
             R"("transaction":null})"
             "\n";
      pos = end + 1;
    }
    return out;
  }();
  return cdc;
}

void run_ingest(benchmark::State& state, vigil::Format format, const std::string& input) {
  vigil::Dictionary dict;  // shared across iterations: an engine's dictionary is warm
  ChecksumSink sink;
  vigil::IngestStats last;
  for (auto _ : state) {
    vigil::IngestOptions options;
    options.format = format;
    auto ing = vigil::Ingestor::create(options, dict, sink);
    if (!ing.ok()) {
      state.SkipWithError("Ingestor::create failed");
      return;
    }
    for (std::size_t p = 0; p < input.size(); p += kChunk) {
      if (!ing->feed(std::string_view(input).substr(p, kChunk)).ok()) {
        state.SkipWithError("feed failed");
        return;
      }
    }
    if (!ing->finish().ok()) state.SkipWithError("finish failed");
    last = ing->stats();
    benchmark::DoNotOptimize(sink.sum);
  }
  if (last.transactions != kRows || last.rejected != 0) {
    state.SkipWithError("bench data was not ingested cleanly");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRows));
}

void BM_Ingest_Ndjson(benchmark::State& state) {
  run_ingest(state, vigil::Format::kNdjson, vigil::bench::bench_ndjson(kRows));
}
BENCHMARK(BM_Ingest_Ndjson)->Unit(benchmark::kMillisecond);

void BM_Ingest_Csv(benchmark::State& state) {
  run_ingest(state, vigil::Format::kCsv, vigil::bench::bench_csv(kRows));
}
BENCHMARK(BM_Ingest_Csv)->Unit(benchmark::kMillisecond);

void BM_Ingest_Cdc(benchmark::State& state) {
  run_ingest(state, vigil::Format::kCdc, bench_cdc(kRows));
}
BENCHMARK(BM_Ingest_Cdc)->Unit(benchmark::kMillisecond);

// The baseline: simdjson alone, reading every value of every record (strings unescaped,
// numbers parsed) into a checksum. No validation, no interning, no columns. It runs in the
// ingestor's JSON unit for the best arch of this CPU (simdjson On-Demand compiled for it, as
// the ingestor's reader is), so both figures are at their best.
//
// BM_Ingest_SimdjsonRaw keeps simdjson on one thread: the targets are per core, and the
// ingestor starts no threads. Debian's simdjson is built with threads, and iterate_many then
// runs its first pass (stage 1, ~40% of its instructions here) in a second thread by default,
// which Google Benchmark's CPU time (the main thread's) does not see:
// BM_Ingest_SimdjsonRawThreaded shows that default, with the process's CPU time measured so
// the worker thread's share is counted.
void raw_baseline(benchmark::State& state, const std::string& text, bool threaded) {
  const simdjson::padded_string input(text);
  const vigil::Schema schema;
  const vigil::IngestLimits limits;
  const vigil::ingest::KeyTable keys(schema);
  const auto reader =
      vigil::ingest::make_json_reader(vigil::ingest::default_json_arch(), keys, limits);
  if (reader == nullptr) {
    state.SkipWithError("no JSON reader");
    return;
  }
  std::size_t docs = 0;
  for (auto _ : state) {
    std::uint64_t sum = reader->raw_checksum(input.data(), input.size(), docs, threaded);
    benchmark::DoNotOptimize(sum);
  }
  if (docs != kRows) state.SkipWithError("raw parse did not read every record");
  state.SetLabel(std::string(vigil::ingest::json_arch_name(reader->arch())));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * input.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRows));
}
void BM_Ingest_SimdjsonRaw(benchmark::State& state) {
  raw_baseline(state, vigil::bench::bench_ndjson(kRows), false);
}
BENCHMARK(BM_Ingest_SimdjsonRaw)->Unit(benchmark::kMillisecond);
void BM_Ingest_SimdjsonRawThreaded(benchmark::State& state) {
  raw_baseline(state, vigil::bench::bench_ndjson(kRows), true);
}
BENCHMARK(BM_Ingest_SimdjsonRawThreaded)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

// The same 100k records drawn from 50k cards (about two each) instead of ~1.5k: a large
// processor's stream, where a card's next transaction is far behind its last. The per-card memo
// then mostly misses and the card holder's strings are looked up in a dictionary of ~76k
// strings, mostly out of cache, which the ~65 transactions per card of the stream above hide.
// Read against its own raw baseline.
constexpr std::uint64_t kManyCards = 50'000;
void BM_Ingest_Ndjson_ManyCards(benchmark::State& state) {
  run_ingest(state, vigil::Format::kNdjson, vigil::bench::bench_ndjson(kRows, kManyCards));
}
BENCHMARK(BM_Ingest_Ndjson_ManyCards)->Unit(benchmark::kMillisecond);
void BM_Ingest_SimdjsonRaw_ManyCards(benchmark::State& state) {
  raw_baseline(state, vigil::bench::bench_ndjson(kRows, kManyCards), false);
}
BENCHMARK(BM_Ingest_SimdjsonRaw_ManyCards)->Unit(benchmark::kMillisecond);

}  // namespace
