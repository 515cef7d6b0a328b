#include <benchmark/benchmark.h>

#include "vigil/model.h"

// Dictionary lookups happen for every string field of every ingested record.
static void BM_Model_DictionaryIntern(benchmark::State& state) {
  vigil::Dictionary dict;
  std::vector<std::string> words;
  for (int i = 0; i < 800; ++i) words.push_back("fraud_Merchant_" + std::to_string(i));
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dict.intern(words[i++ % words.size()]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Model_DictionaryIntern);
