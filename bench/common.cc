#include "common.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <tuple>

namespace vigil::bench {
namespace {

enum class Kind { kNdjson, kNdjsonEvents, kCsv };

// Enough days that `rows` transactions are reached whatever the card count (cards average
// ~2.2 transactions a day; the generator is simply stopped once `rows` are out).
int days_for(std::size_t rows, std::uint64_t cards) {
  const double per_day = static_cast<double>(cards) * 1.5;
  return static_cast<int>(std::min<double>(36'000, static_cast<double>(rows) / per_day * 2 + 2));
}

Generator make_generator(std::size_t rows, std::uint64_t cards, bool with_events) {
  GeneratorOptions opts;
  opts.cards = cards;
  opts.days = days_for(rows, cards);
  opts.seed = kBenchSeed;
  opts.with_events = with_events;
  Result<Generator> gen = Generator::create(opts);
  return std::move(gen).value();  // fixed, valid options
}

std::string make_text(Kind kind, std::size_t rows, std::uint64_t cards) {
  Generator gen = make_generator(rows, cards, kind == Kind::kNdjsonEvents);
  RecordWriter writer(kind == Kind::kCsv ? OutputFormat::kCsv : OutputFormat::kNdjson,
                      gen.dictionary());
  std::string out;
  out.reserve(rows * 420);
  writer.append_header(out);
  GeneratedRecord rec;
  std::size_t n = 0;
  while (n < rows && gen.next(rec)) {
    n += rec.kind == RecordKind::kTransaction;
    (void)writer.append(rec, out);  // NDJSON whenever events are on
  }
  return out;
}

// Benchmarks may run threaded; the caches are built under one lock and never modified after.
std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

std::uint64_t default_cards(std::size_t rows) { return std::max<std::uint64_t>(10, rows / 65); }

namespace {
const std::string& cached_text(Kind kind, std::size_t rows, std::uint64_t cards) {
  static std::map<std::tuple<Kind, std::size_t, std::uint64_t>, std::string> cache;
  std::lock_guard lock(cache_mutex());
  auto [it, fresh] = cache.try_emplace({kind, rows, cards});
  if (fresh) it->second = make_text(kind, rows, cards);
  return it->second;
}
}  // namespace

const std::string& bench_ndjson(std::size_t rows) {
  return cached_text(Kind::kNdjson, rows, default_cards(rows));
}
const std::string& bench_ndjson(std::size_t rows, std::uint64_t cards) {
  return cached_text(Kind::kNdjson, rows, cards);
}
const std::string& bench_ndjson_with_events(std::size_t rows) {
  return cached_text(Kind::kNdjsonEvents, rows, default_cards(rows));
}
const std::string& bench_csv(std::size_t rows) {
  return cached_text(Kind::kCsv, rows, default_cards(rows));
}
const std::string& bench_csv(std::size_t rows, std::uint64_t cards) {
  return cached_text(Kind::kCsv, rows, cards);
}

const BenchTransactions& bench_data(std::size_t rows, std::uint64_t cards) {
  static std::map<std::pair<std::size_t, std::uint64_t>, std::unique_ptr<BenchTransactions>> cache;
  std::lock_guard lock(cache_mutex());
  auto& slot = cache[{rows, cards}];
  if (!slot) {
    Generator gen = make_generator(rows, cards, false);
    auto data = std::make_unique<BenchTransactions>();
    data->rows.reserve(rows);
    GeneratedRecord rec;
    while (data->rows.size() < rows && gen.next(rec)) data->rows.push_back(rec.transaction);
    // The generator's dictionary holds every id of the rows; copy it out through its image.
    std::stringstream image;
    if (gen.dictionary().save(image).ok()) (void)data->dictionary.load(image);
    slot = std::move(data);
  }
  return *slot;
}
const BenchTransactions& bench_data(std::size_t rows) {
  return bench_data(rows, default_cards(rows));
}

std::span<const Transaction> bench_transactions(std::size_t rows, std::uint64_t cards,
                                                const Dictionary** dictionary) {
  const BenchTransactions& data = bench_data(rows, cards);
  if (dictionary != nullptr) *dictionary = &data.dictionary;
  return data.rows;
}
std::span<const Transaction> bench_transactions(std::size_t rows, const Dictionary** dictionary) {
  return bench_transactions(rows, default_cards(rows), dictionary);
}

std::span<const TransactionBatch> bench_batches(std::size_t rows, std::size_t batch_capacity) {
  static std::map<std::pair<std::size_t, std::size_t>, std::vector<TransactionBatch>> cache;
  const std::span<const Transaction> txs = bench_transactions(rows);
  std::lock_guard lock(cache_mutex());
  auto [it, fresh] = cache.try_emplace({rows, batch_capacity});
  if (fresh) {
    std::vector<TransactionBatch>& batches = it->second;
    for (const Transaction& tx : txs) {
      if (batches.empty() || batches.back().full()) batches.emplace_back(batch_capacity);
      batches.back().push_back(tx);
    }
  }
  return it->second;
}

void reintern(Transaction& t, const Dictionary& from, Dictionary& to) {
  for (StrId* s :
       {&t.merchant, &t.category, &t.first, &t.last, &t.street, &t.city, &t.state, &t.job}) {
    *s = to.intern(from.view(*s));
  }
}

}  // namespace vigil::bench
