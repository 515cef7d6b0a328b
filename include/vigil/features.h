// File: vigil/features.h
//
// The feature store: per-entity sliding windows over a card's (merchant's, any key field's)
// recent history, kept incrementally in memory, plus the built-in per-transaction features.
// It turns a `TransactionBatch` into a `FeatureMatrix` (one column per feature, one row per
// transaction, in arrival order) for the scorer.
//
// Window semantics (see DESIGN.md): the features of transaction t cover the same key's events
// with time in (t - W, t], t included; transactions with equal times count in arrival order.
// An event up to `Config::lateness` older than its key's newest is placed in time order and
// every window stays exact; an older one follows `Config::late_policy` and is counted.
//
// Built-in columns, always first and in this order:
//   amt               dollars (cents / 100)
//   hour, weekday     0..23 and 0..6 (Monday = 0) of the event time, UTC
//   age               whole years from dob to the transaction's date (birthday rule; a
//                     29 February birthday falls on 1 March in common years); NaN if no dob
//   city_pop          NaN when 0 / missing
//   km_home_merchant  haversine_km(lat, long, merch_lat, merch_long)
//   secs_since_prev   seconds since the card's previous transaction in event-time order
//   km_from_prev      haversine between the previous and this transaction's merchant
//   kmh_from_prev     km_from_prev / (max(secs_since_prev, 1) / 3600): the one-second floor
//                     keeps two same-second transactions finite (a speed, not a division
//                     by zero)
// The last three are NaN for a card's first transaction (or the first after its state was
// evicted) and for a transaction rejected as too late.
//
// Declared features (`Config::features`) follow in config order. Aggregations skip missing
// field values (NaN coordinates, city_pop / zip 0, no dob, unlabelled is_fraud); `count`
// counts transactions; sum / avg / min / max / std of a window with no value are NaN;
// `distinct` counts distinct non-missing values. Amounts are summed in integer cents,
// coordinates in integer nanodegrees (1e-9 deg, about 0.1 mm), so running sums never drift;
// `std` is the population standard deviation from exact 128-bit sums.
//
// Bounded memory: a key whose newest event is older than the stream's newest event time minus
// the idle TTL is forgotten, deterministically (StoreLimits::idle_ttl; 0 means the longest
// window plus lateness, but at least 7 days so that the "since previous" built-ins span a
// quiet week). A key idle StoreLimits::cold_after (3 days by default) or longer than all its
// windows keeps only its events, its newest time and a table entry (~56 bytes besides the
// events); its running sums, cursors, min / max queues and distinct sets are rebuilt from its
// events, exactly, when it is seen again — the same outputs, at the cost of that rebuild.
// Over StoreLimits::memory_budget the keys idle longest go first. Bucketed
// windows (FeatureSpec::granularity g, which must divide W) keep W / g buckets per key however
// busy the key: the window then covers [t - W + g - (t mod g), t], missing at most the oldest
// g of history and never counting anything older than t - W. A late transaction (within
// `lateness`) reads the buckets as they stand when it arrives: its own bucket may already hold
// newer events of the same bucket, and a bucket of its window whose ring slot a bucket W newer
// has taken is missing (at most `lateness` worth of the oldest history). tests/oracle checks
// exactly this against SQLite.
//
// **Example**
//   vigil::Dictionary dict;
//   auto store = vigil::FeatureStore::create(config, dict);
//   if (!store.ok()) return store.status();
//   vigil::FeatureMatrix features;
//   std::vector<std::uint32_t> late;
//   vigil::Status s = store->process(batch, features, &late);
//   double card_count_1h = features.at(row, index_of("card_count_1h"));
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/config.h"
#include "vigil/dictionary.h"
#include "vigil/model.h"
#include "vigil/status.h"

namespace vigil {

/// Names of the built-in per-transaction features, in column order.
std::span<const std::string_view> builtin_feature_names() noexcept;

/// Number of built-in columns (they come first in every feature matrix).
inline constexpr std::size_t kBuiltinFeatureCount = 9;

/// Counters and memory figures of a feature store.
struct FeatureStoreStats {
  std::uint64_t keys = 0;         ///< live keys, all key fields together
  std::uint64_t cold_keys = 0;    ///< of which idle keys holding only their events (cold_after)
  std::uint64_t events_held = 0;  ///< events held in windows (ring buffers)
  /// Heap bytes held: per-key state (hash slots, key records, running aggregates)…
  std::uint64_t key_bytes = 0;
  /// …event rings (allocated capacity)…
  std::uint64_t event_bytes = 0;
  /// …and the rest: distinct-value maps, min/max queues, buckets, status index.
  std::uint64_t other_bytes = 0;
  /// Logical size the memory budget is checked against (independent of allocator slack, so
  /// that eviction, and thus the output, is the same after a snapshot / restore).
  std::uint64_t charged_bytes = 0;
  std::uint64_t late_in_order = 0;         ///< late events placed in time order (within lateness)
  std::uint64_t late_rejected = 0;         ///< beyond lateness, dead-lettered (kDeadLetter)
  std::uint64_t late_as_arrival = 0;       ///< beyond lateness, moved to the key's newest time
  std::uint64_t evicted_keys = 0;          ///< keys dropped by the idle TTL or the memory budget
  std::uint64_t status_applied = 0;        ///< status changes that matched a known transaction
  std::uint64_t status_unknown = 0;        ///< status changes for a trans_num not in the index
  std::uint64_t status_index_entries = 0;  ///< trans_num entries currently indexed

  /// Total heap bytes.
  std::uint64_t bytes() const noexcept { return key_bytes + event_bytes + other_bytes; }
};

/// Sliding-window feature store. Single-threaded (one per engine shard), deterministic: the
/// same input gives bit-identical features whatever the batch size. Never throws, never
/// prints, never reads the clock: time is the events' time.
class FeatureStore {
 public:
  /// Validates `config.features` (keys are key fields, a field for every aggregation but
  /// count, numeric fields for sum / avg / min / max / std, a key-like field for distinct,
  /// positive windows, unique names not clashing with built-ins, `events` of the form
  /// "status:<value>" with agg count) and builds an empty store. The status values named by
  /// `events` are interned in `dict`, the dictionary whose ids later `StatusChange`s carry.
  static Result<FeatureStore> create(const Config& config, Dictionary& dict);

  FeatureStore(FeatureStore&&) noexcept;
  FeatureStore& operator=(FeatureStore&&) noexcept;
  FeatureStore(const FeatureStore&) = delete;
  FeatureStore& operator=(const FeatureStore&) = delete;
  ~FeatureStore();

  /// Column names: the built-ins (builtin_feature_names()), then declared features in
  /// config order.
  const std::vector<std::string>& column_names() const noexcept;
  /// Number of columns.
  std::size_t column_count() const noexcept;
  /// The column of `name`, or -1.
  std::ptrdiff_t column_index(std::string_view name) const noexcept;

  /// Adds the batch's transactions (rows in arrival order) to the windows and writes their
  /// features to `out` (reshaped to column_count() x batch.capacity(), rows = batch.size()).
  /// Rows rejected as too late under LatePolicy::kDeadLetter get NaN window features, are not
  /// added to any window, and (if `late_rows` is given) are appended to `*late_rows`.
  Status process(const TransactionBatch& batch, FeatureMatrix& out,
                 std::vector<std::uint32_t>* late_rows = nullptr);

  /// One transaction: writes column_count() values to `out` (must be at least that long).
  /// `*late` (if given) is set to whether it was rejected as too late. Same results as
  /// process() on a batch of one.
  Status process_one(const Transaction& tx, std::span<double> out, bool* late = nullptr);

  /// A transaction's status changed (CDC). If its trans_num is still in the bounded
  /// trans_num index (StoreLimits::status_index_size, FIFO), the change is counted, at its own
  /// time, by the `events: "status:<value>"` features on the original transaction's keys;
  /// otherwise it is counted in stats().status_unknown and ignored.
  void on_status(const StatusChange& change);

  /// Writes a versioned, checksummed image of the whole state. Keys are written in sorted
  /// order, so the same state always gives the same bytes.
  Status snapshot(std::ostream& out) const;
  /// Replaces the state with an image from snapshot() of a store with the same feature
  /// configuration. A truncated, corrupted or mismatched image is refused with an error and
  /// the store is left as it was.
  Status restore(std::istream& in);

  /// Counters and memory figures (walks the state: not for the hot path).
  FeatureStoreStats stats() const;

  /// Internal state (lib/features/store_impl.h).
  struct Impl;

 private:
  explicit FeatureStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
