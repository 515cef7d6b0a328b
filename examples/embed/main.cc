// A host program embedding vigil, as a payment switch would: one engine per shard, transactions
// handed over one at a time (the authorisation path) and as raw bytes (a replayed topic),
// decisions and alerts routed to callbacks, a checkpoint taken and restored on "another host".
//
// Built and run by the test suite (ctest: example:embed); exits non-zero if anything is off.
#include <cstdio>
#include <sstream>
#include <string>

#include "vigil/engine.h"

namespace {

int failures = 0;
void expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "embed example: FAILED: %s\n", what);
    ++failures;
  }
}

// Two NDJSON transactions as a producer would send them (Sparkov field names).
constexpr const char* kTopicBytes =
    R"({"trans_date_trans_time":"2019-01-02 01:15:00","cc_num":4000000000000002,"merchant":"fraud_Kub PLC","category":"shopping_net","amt":1199.99,"state":"TX","trans_num":"a1","unix_time":1546391700,"is_fraud":1})"
    "\n"
    R"({"trans_date_trans_time":"2019-01-02 09:40:00","cc_num":4000000000000010,"merchant":"fraud_Lind-Buckridge","category":"grocery_pos","amt":45.10,"state":"NY","trans_num":"a2","unix_time":1546422000,"is_fraud":0})"
    "\n";

}  // namespace

int main() {
  // The shard this process owns: partition 3 of 12, as Kafka's default partitioner assigns it.
  const std::uint32_t partitions = 12;
  std::printf("card 4000000000000002 belongs to partition %u of %u\n",
              vigil::partition_for_card(4000000000000002ULL, partitions), partitions);

  vigil::Result<vigil::Engine> made = vigil::Engine::create_default();
  if (!made.ok()) {
    std::fprintf(stderr, "engine: %s\n", made.status().to_string().c_str());
    return 1;
  }
  vigil::Engine& engine = *made;
  std::size_t decisions = 0, alerts = 0, dead = 0;
  engine.set_decision_sink(
      [&](const vigil::TransactionBatch& b, std::span<const vigil::Decision> d) {
        for (std::size_t i = 0; i < b.size(); ++i, ++decisions) {
          std::printf("%-4s score %4d %-8s", std::string(b.trans_num[i].view()).c_str(), d[i].score,
                      std::string(vigil::action_name(d[i].action)).c_str());
          for (std::size_t k = 0; k < d[i].reason_count; ++k)
            std::printf(" %s", std::string(engine.reason_id(d[i].reasons[k])).c_str());
          std::printf("\n");
        }
      });
  engine.set_alert_sink([&](const vigil::Alert&) { ++alerts; });
  engine.set_dead_letter_sink([&](const vigil::Rejected& r) {
    ++dead;
    std::printf("dead letter at line %llu: %s %s\n", static_cast<unsigned long long>(r.line),
                r.field.c_str(), r.reason.c_str());
  });

  // 1. Authorisation path: one transaction at a time.
  vigil::Dictionary& dict = engine.dictionary();
  vigil::Transaction tx;
  tx.time = *vigil::parse_timestamp("2019-01-01 23:05:00");
  tx.cc_num = 4000000000000002ULL;
  tx.amt_cents = 2'350;
  tx.merchant = dict.intern("fraud_Kub PLC");
  tx.category = dict.intern("grocery_pos");
  tx.state = dict.intern("TX");
  tx.trans_num = *vigil::TransId::from("a0");
  const vigil::Decision d = engine.score(tx);
  expect(d.score >= 0 && d.score <= 1000, "score in 0..1000");

  // 2. A replayed topic, fed in two arbitrary pieces, with one bad record in the middle.
  const std::string bytes = std::string(kTopicBytes) + "{\"trans_num\": \"broken\"\n";
  expect(engine.feed(std::string_view(bytes).substr(0, 100)).ok(), "feed part 1");
  expect(engine.feed(std::string_view(bytes).substr(100)).ok(), "feed part 2");
  expect(engine.finish().ok(), "finish");
  expect(decisions == 3, "three decisions");
  expect(dead == 1, "one dead letter");

  // 3. Checkpoint, and restore on "another host".
  std::stringstream checkpoint;
  expect(engine.snapshot(checkpoint).ok(), "snapshot");
  vigil::Result<vigil::Engine> moved = vigil::Engine::create_default();
  expect(moved.ok() && moved->restore(checkpoint).ok(), "restore");
  expect(moved.ok() && moved->counters().transactions == 3, "restored counters");

  const vigil::LatencySummary lat = engine.score_latency();
  std::printf("score(): %llu calls, p50 %.0f ns; %zu alerts; %zu bytes of state\n",
              static_cast<unsigned long long>(lat.count), lat.p50_ns, alerts,
              engine.memory_bytes());
  std::printf("%s\n", failures == 0 ? "embed example: ok" : "embed example: FAILED");
  return failures == 0 ? 0 : 1;
}
