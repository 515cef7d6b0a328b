// Shared helpers of the gen tests: whole streams generated once per test binary.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "vigil/generate.h"

namespace vigil::gen_test {

/// All records of a stream with its dictionary.
struct Stream {
  std::vector<GeneratedRecord> records;
  std::vector<Transaction> transactions;
  Dictionary dictionary;
  GeneratorStats stats;
  std::size_t merchants = 0;
};

inline Stream generate(const GeneratorOptions& options) {
  Stream s;
  Result<Generator> gen = Generator::create(options);
  if (!gen.ok()) return s;
  GeneratedRecord rec;
  while (gen->next(rec)) {
    s.records.push_back(rec);
    if (rec.kind == RecordKind::kTransaction) s.transactions.push_back(rec.transaction);
  }
  std::stringstream image;
  if (gen->dictionary().save(image).ok()) (void)s.dictionary.load(image);
  s.stats = gen->stats();
  s.merchants = gen->merchant_count();
  return s;
}

/// The whole stream as text.
inline std::string generate_text(const GeneratorOptions& options, OutputFormat format) {
  std::string out;
  Result<Generator> gen = Generator::create(options);
  if (!gen.ok()) return out;
  RecordWriter writer(format, gen->dictionary());
  writer.append_header(out);
  GeneratedRecord rec;
  while (gen->next(rec)) (void)writer.append(rec, out);
  return out;
}

/// A month-and-a-half of 1000 cards with events (~100k transactions), shared by the
/// statistical tests.
inline const Stream& big_stream() {
  static const Stream stream = [] {
    GeneratorOptions o;
    o.cards = 1000;
    o.days = 45;
    o.seed = 7;
    o.with_events = true;
    return generate(o);
  }();
  return stream;
}

}  // namespace vigil::gen_test
