// Shared data for benchmarks: generated Sparkov-schema streams, built once per process.
//
// Every benchmark of the project reads its input from here so that figures are comparable:
// the same fixed seed, a card count proportional to the row count (default_cards), and the
// same realistic mix of categories, amounts and fraud as `vigil generate`. Data is generated
// on first use and cached for the life of the process (the first call is not timed by the
// caller's loop if made before `for (auto _ : state)`); the references stay valid until exit.
//
// **Example**
//   static void BM_Ingest_Ndjson(benchmark::State& state) {
//     const std::string& input = vigil::bench::bench_ndjson(100'000);
//     for (auto _ : state) benchmark::DoNotOptimize(ingest(input));
//     state.SetBytesProcessed(state.iterations() * input.size());
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vigil/dictionary.h"
#include "vigil/generate.h"
#include "vigil/model.h"

namespace vigil::bench {

/// The seed of every benchmark stream.
inline constexpr std::uint64_t kBenchSeed = 42;

/// Cards for a stream of `rows` transactions when the caller does not choose: about a month of
/// activity per card (~65 rows per card), at least 10. Overloads taking `cards` give exactly
/// `rows` rows as long as cards >= rows / 50'000 (the generator simulates at most a century).
std::uint64_t default_cards(std::size_t rows);

/// Exactly `rows` transactions as NDJSON (no events), one object per line, newline-terminated.
const std::string& bench_ndjson(std::size_t rows);
const std::string& bench_ndjson(std::size_t rows, std::uint64_t cards);

/// NDJSON with event records (disputes, flags, unflags) interleaved: `rows` transactions plus
/// the events among them.
const std::string& bench_ndjson_with_events(std::size_t rows);

/// Exactly `rows` transactions as Kaggle CSV, header line first.
const std::string& bench_csv(std::size_t rows);
const std::string& bench_csv(std::size_t rows, std::uint64_t cards);

/// Exactly `rows` generated transactions in event-time order, with the dictionary of their
/// strings.
struct BenchTransactions {
  std::vector<Transaction> rows;
  Dictionary dictionary;
};
const BenchTransactions& bench_data(std::size_t rows);
const BenchTransactions& bench_data(std::size_t rows, std::uint64_t cards);

/// The rows of bench_data(rows[, cards]); `dictionary` (if not null) receives a pointer to the
/// dictionary of their StrIds.
std::span<const Transaction> bench_transactions(std::size_t rows,
                                                const Dictionary** dictionary = nullptr);
std::span<const Transaction> bench_transactions(std::size_t rows, std::uint64_t cards,
                                                const Dictionary** dictionary = nullptr);

/// Rewrites the StrIds of `t` (merchant, category, names, street, city, state, job) from
/// `from`'s ids to `to`'s, interning the strings there: bench_data's rows for an engine or
/// store with a dictionary of its own.
void reintern(Transaction& t, const Dictionary& from, Dictionary& to);

/// bench_data(rows) split into columnar batches of `batch_capacity` (a power of two) rows; the
/// last batch may be partial.
std::span<const TransactionBatch> bench_batches(std::size_t rows,
                                                std::size_t batch_capacity = 1024);

}  // namespace vigil::bench
