// File: vigil/engine.h
//
// The façade a payment switch links: one `Engine` owns one shard's state (dictionary, feature
// windows, flags, compiled rules and model, rollups) and turns transactions into decisions.
// Feed it bytes (NDJSON, CSV or CDC envelopes, any chunking), columnar batches, or one
// transaction at a time. An Engine is single-threaded, starts no threads, reads no wall clock
// for its results and has no global state: scale out with one engine per core / partition,
// sharding on the card key with `partition_for_card` (Kafka's default partitioner).
//
// Determinism: the same input gives byte-identical decisions, features and snapshots whatever
// the batch size or the chunking of the bytes, and snapshot → restore → continue equals one
// uninterrupted run.
//
// **Example**
//   auto engine = vigil::Engine::create_default();
//   engine->set_decision_sink([](const vigil::TransactionBatch& b, std::span<const vigil::Decision>
//   d) {
//     for (std::size_t i = 0; i < b.size(); ++i) route(b.trans_num[i].view(), d[i]);
//   });
//   (void)engine->feed(bytes_from_kafka);   // any chunking
//   (void)engine->finish();
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/config.h"
#include "vigil/dictionary.h"
#include "vigil/model.h"
#include "vigil/rollup.h"
#include "vigil/status.h"

namespace vigil {

/// Input format of Engine::feed().
enum class InputFormat : std::uint8_t { kAuto, kNdjson, kCsv, kCdc };

/// How an engine is run (as opposed to what it computes, which is the Config).
struct EngineOptions {
  InputFormat format = InputFormat::kAuto;  ///< kAuto: detected from the first bytes fed
  std::size_t batch_capacity = 1024;        ///< rows per batch from feed() (power of two)
  std::size_t max_record_bytes = 1 << 20;   ///< larger records are dead-lettered
  std::size_t max_string_bytes = 4096;      ///< larger string fields are dead-lettered
  bool measure_latency = true;              ///< steady-clock latency histograms (metrics only)
};

/// A transaction in review or decline, as sent to the alert sink.
struct Alert {
  const TransactionBatch* batch = nullptr;  ///< the batch holding the transaction
  std::size_t row = 0;
  Decision decision;
};

/// A transaction whose key hit an active flag (the flagged-entity join's output).
struct FlaggedHit {
  const TransactionBatch* batch = nullptr;
  std::size_t row = 0;
  Field entity = Field::kCcNum;  ///< which key field hit
  StrId reason = kNoStr;         ///< the flag's reason (engine dictionary)
};

/// Latency distribution in nanoseconds (log-linear histogram, ≤ 1/16 relative error).
struct LatencySummary {
  std::uint64_t count = 0;
  double p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
};

/// Monotonic counters, readable at any time.
struct EngineCounters {
  std::uint64_t records = 0;       ///< records read by feed() (good and bad)
  std::uint64_t transactions = 0;  ///< transactions scored
  std::uint64_t status_changes = 0;
  std::uint64_t flag_changes = 0;
  std::uint64_t rejected = 0;       ///< dead letters of every kind
  std::uint64_t late_rejected = 0;  ///< transactions beyond the lateness bound, dead-lettered
  std::uint64_t flagged_hits = 0;
  std::array<std::uint64_t, 3> decisions{};  ///< by Action
  /// Decisions by is_fraud label (row 0: legitimate, row 1: fraud) and Action; unlabelled
  /// transactions are not counted here.
  std::array<std::array<std::uint64_t, 3>, 2> labelled{};
  /// Times each reason (rule or model feature) was among a decision's reasons, by ReasonCode
  /// order: rules first, then model terms.
  std::vector<std::uint64_t> reason_hits;
  /// Dead letters by reason text, sorted by reason.
  std::vector<std::pair<std::string, std::uint64_t>> rejected_by_reason;
};

/// The fraud-scoring engine of one shard.
class Engine {
 public:
  using DecisionSink = std::function<void(const TransactionBatch&, std::span<const Decision>)>;
  using AlertSink = std::function<void(const Alert&)>;
  using FlaggedSink = std::function<void(const FlaggedHit&)>;
  using DeadLetterSink = std::function<void(const Rejected&)>;
  /// Features of each scored batch: column names (built-ins, then declared) and values.
  using FeatureSink = std::function<void(const TransactionBatch&, std::span<const std::string>,
                                         const FeatureMatrix&)>;

  /// An engine for a validated config; errors name the rule / feature, line and column.
  static Result<Engine> create(const Config& config, EngineOptions options = {});
  /// An engine from a JSON config document.
  static Result<Engine> create_from_json(std::string_view json, EngineOptions options = {});
  /// An engine with the built-in default config (vigil/config.h, default_config_json()).
  static Result<Engine> create_default(EngineOptions options = {});

  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void set_decision_sink(DecisionSink sink);
  void set_alert_sink(AlertSink sink);
  void set_flagged_sink(FlaggedSink sink);
  void set_dead_letter_sink(DeadLetterSink sink);
  void set_feature_sink(FeatureSink sink);
  /// Raw values of the model's terms for each scored batch (one column per term, before
  /// standardisation; conditions 1 / 0, NaN when missing), with the terms' texts as names.
  /// What `vigil train` fits on. Costs one extra evaluation of the program per batch.
  void set_model_term_sink(FeatureSink sink);

  /// Streams bytes in any chunking; complete records are scored as batches fill. Bad records go
  /// to the dead-letter sink and the stream goes on. Errors only for unusable input as a whole
  /// (e.g. kAuto could not recognise the format).
  Status feed(std::string_view bytes);
  /// Flushes a final partial record and batch.
  Status finish();

  /// Scores a batch whose strings are ids of dictionary(); returns one decision per row (valid
  /// until the next call). Transactions are windowed in row order.
  std::span<const Decision> process(const TransactionBatch& batch);
  /// Scores one transaction (strings from dictionary()), for hosts that handle one at a time.
  Decision score(const Transaction& tx);
  /// A transaction's status changed (e.g. disputed): feeds status-event features.
  void apply(const StatusChange& change);
  /// Flag or unflag an entity.
  void apply(const FlagChange& change);

  /// Compiles `config` and swaps it in between batches. Rules, model, thresholds and flags may
  /// change freely; feature declarations and lateness must stay the same (windows hold state).
  /// On error the running config is kept.
  Status reload(const Config& config);
  Status reload_json(std::string_view json);

  /// Whole-engine image (dictionary, features, flags, counters, rollups, config): versioned,
  /// checksummed, byte-stable.
  Status snapshot(std::ostream& out) const;
  /// Restores an image written by snapshot() by an engine with the same feature declarations.
  /// On error the engine is unchanged.
  Status restore(std::istream& in);

  /// The engine's string dictionary: intern strings here before building transactions.
  Dictionary& dictionary() noexcept;
  const Dictionary& dictionary() const noexcept;
  const Config& config() const noexcept;
  /// Built-in then declared feature names, in feature-matrix column order.
  std::span<const std::string> feature_names() const noexcept;
  /// "NIGHT_BURST", or "model:amt" for a model term, or "" for an unknown code.
  std::string_view reason_id(ReasonCode code) const noexcept;
  /// The rule's reason text, or "model: <feature>".
  std::string_view reason_text(ReasonCode code) const noexcept;
  /// Number of reason codes (rules, then model terms), the size of counters().reason_hits.
  std::size_t reason_count() const noexcept;
  /// Number of rules: ReasonCode r < rule_count() is rule r; model term i is reported as
  /// kModelReasonBase + i and counted at slot rule_count() + i of counters().reason_hits.
  std::size_t rule_count() const noexcept;
  /// The SIMD instruction set the scorer runs on ("avx512", "avx2", "sse4.2", "scalar").
  std::string_view arch() const noexcept;

  const EngineCounters& counters() const noexcept;
  const Rollups& rollups() const noexcept;
  LatencySummary score_latency() const noexcept;  ///< per score() call
  LatencySummary batch_latency() const noexcept;  ///< per process() batch
  /// Empties both latency histograms (e.g. at the start of each metrics interval).
  void reset_latency() noexcept;
  /// Approximate bytes held by the feature store, flags and dictionary.
  std::size_t memory_bytes() const noexcept;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The partition (0 .. partitions−1) that owns a card, equal to Kafka's default partitioner
/// for a record keyed by the card number's decimal digits: toPositive(murmur2(key)) % n, with
/// murmur2 as in org.apache.kafka.common.utils.Utils (seed 0x9747b28c). A producer keyed by
/// card therefore lands on the shard whose engine owns the card.
std::uint32_t partition_for_card(std::uint64_t cc_num, std::uint32_t partitions) noexcept;
/// Kafka's murmur2 of arbitrary key bytes (signed 32-bit result as Java returns it).
std::int32_t kafka_murmur2(std::string_view key) noexcept;

}  // namespace vigil
