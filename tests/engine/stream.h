// Test helpers: generated streams and a canonical text form of an engine's outputs, so runs can
// be compared byte for byte.
#pragma once

#include <charconv>
#include <cmath>
#include <string>

#include "vigil/engine.h"
#include "vigil/generate.h"

namespace vigil::test {

/// A generated NDJSON stream (with events when asked).
inline std::string generated_ndjson(std::uint64_t cards, int days, std::uint64_t seed,
                                    bool events = false) {
  GeneratorOptions o;
  o.cards = cards;
  o.days = days;
  o.seed = seed;
  o.with_events = events;
  o.fraud_rate = 0.02;  // enough fraud for rules to fire in small streams
  auto gen = Generator::create(o);
  std::string out;
  RecordWriter w(OutputFormat::kNdjson, gen->dictionary());
  GeneratedRecord rec;
  while (gen->next(rec)) (void)w.append(rec, out);
  return out;
}

/// Records everything an engine emits as text: decisions with reasons, features, dead letters.
struct Recorder {
  std::string decisions;
  std::string features;
  std::string dead_letters;

  void attach(Engine& e) {
    e.set_decision_sink([this, &e](const TransactionBatch& b, std::span<const Decision> d) {
      for (std::size_t i = 0; i < b.size(); ++i) {
        decisions += std::string(b.trans_num[i].view()) + " " + std::to_string(d[i].score) + " " +
                     std::string(action_name(d[i].action));
        for (std::size_t k = 0; k < d[i].reason_count; ++k)
          decisions += " " + std::string(e.reason_id(d[i].reasons[k]));
        decisions += "\n";
      }
    });
    e.set_feature_sink([this](const TransactionBatch& b, std::span<const std::string> names,
                              const FeatureMatrix& m) {
      char buf[32];
      for (std::size_t i = 0; i < b.size(); ++i) {
        features += b.trans_num[i].view();
        for (std::size_t j = 0; j < names.size(); ++j) {
          features += ',';
          const double v = m.at(i, j);
          if (std::isnan(v)) continue;
          features.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
        }
        features += '\n';
      }
    });
    e.set_dead_letter_sink([this](const Rejected& r) {
      dead_letters += std::to_string(r.line) + ":" + r.field + ":" + r.reason + "\n";
    });
  }
};

}  // namespace vigil::test
