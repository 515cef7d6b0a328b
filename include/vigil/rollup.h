// File: vigil/rollup.h
//
// Live aggregates for dashboards — what a cloud pipeline computes with Athena / QuickSight over
// its processed topic: transactions, amount, alerts (review + decline) and labelled fraud by
// state × category × hour of day, and by gender × age band, the segments analysts ask for.
// Maintained by the Engine for every scored transaction; exported as JSON or CSV in a stable
// order (sorted by the segment's strings), so exports are byte-identical across runs.
#pragma once

#include <array>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/dictionary.h"
#include "vigil/model.h"
#include "vigil/status.h"

namespace vigil {

/// The measures of one segment.
struct RollupCell {
  std::uint64_t transactions = 0;
  std::int64_t amount_cents = 0;
  std::uint64_t alerts = 0;  ///< decisions in review or decline
  std::uint64_t fraud = 0;   ///< transactions labelled is_fraud = 1
  friend bool operator==(const RollupCell&, const RollupCell&) = default;
};

/// Age bands of the demographic rollup: <25, 25–34, 35–44, 45–54, 55–64, 65+, unknown.
inline constexpr std::size_t kAgeBands = 7;
/// "<25", "25-34", …, "65+", "unknown".
std::string_view age_band_name(std::size_t band) noexcept;
/// The band of an age in whole years (negative or NaN: unknown).
std::size_t age_band_of(double age_years) noexcept;
/// Whole years from a date of birth (days since epoch) to an event time; -1 when unknown.
int age_in_years(std::int32_t dob_days, Micros at) noexcept;

/// One row of the state × category × hour rollup, with strings resolved.
struct SegmentRow {
  std::string state;
  std::string category;
  int hour = 0;
  RollupCell cell;
};

/// Aggregates by segment. Not thread-safe (owned by one Engine).
class Rollups {
 public:
  Rollups();
  ~Rollups();
  Rollups(Rollups&&) noexcept;
  Rollups& operator=(Rollups&&) noexcept;

  /// Adds a scored batch (decisions[i] belongs to row i).
  void add(const TransactionBatch& batch, std::span<const Decision> decisions);
  /// Forgets everything.
  void clear();

  /// Totals over every transaction added.
  RollupCell total() const noexcept;
  /// The state × category × hour rows, sorted by state, category, hour.
  std::vector<SegmentRow> segments(const Dictionary& dict) const;
  /// Sums by state, sorted by state.
  std::vector<std::pair<std::string, RollupCell>> by_state(const Dictionary& dict) const;
  /// Gender ('F', 'M', or '?' for missing) × age band.
  RollupCell demographic(char gender, std::size_t age_band) const noexcept;

  /// {"total": {…}, "segments": [{"state", "category", "hour", "transactions", "amount",
  /// "alerts", "fraud"}…], "demographics": [{"gender", "age_band", …}…]}
  std::string to_json(const Dictionary& dict) const;
  /// CSV with header
  /// `dimension,state,category,hour,gender,age_band,transactions,amount,alerts,fraud`.
  std::string to_csv(const Dictionary& dict) const;

  /// Byte-stable binary image (for engine snapshots), and its inverse.
  void save(std::string& out) const;
  Status load(std::string_view in);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
