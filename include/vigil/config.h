// File: vigil/config.h
//
// The one JSON document that configures an engine: declared window features, rules, the
// model, decision thresholds, initial flags, and stream-time policies (see DESIGN.md,
// "Configuration"). `parse_config` validates structure and values and reports the first
// error with its line and column; rule expressions are compiled (and their errors reported)
// by the scorer, see vigil/score.h.
//
// **Example**
//   auto cfg = vigil::parse_config(R"({"features": [
//       {"name": "card_count_1h", "key": "cc_num", "agg": "count", "window": "1h"}]})");
//   if (!cfg.ok()) std::cerr << cfg.status().to_string() << "\n";
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vigil/model.h"
#include "vigil/status.h"

namespace vigil {

/// Aggregation of a declared window feature.
enum class Agg : std::uint8_t { kCount, kSum, kAvg, kMin, kMax, kStd, kDistinct };
/// "count", "sum", …
std::string_view agg_name(Agg a) noexcept;
std::optional<Agg> agg_from_name(std::string_view name) noexcept;

/// What to do with an event older than its key's newest by more than `lateness`.
enum class LatePolicy : std::uint8_t {
  kDeadLetter,      ///< reject to the dead-letter sink (the transaction is still scored)
  kAcceptAsArrival  ///< treat it as if it happened at its key's newest time
};

/// A declared window feature, e.g. {"name":"card_amt_avg_7d","key":"cc_num","agg":"avg",
/// "field":"amt","window":"7d"}.
struct FeatureSpec {
  std::string name;
  Field key = Field::kCcNum;
  Agg agg = Agg::kCount;
  std::optional<Field> field;  ///< aggregated field (required except for count)
  Micros window = 0;
  Micros granularity = 0;  ///< 0: exact window; > 0: bucketed window of that bucket width
  std::string events;      ///< "" (transactions) or "status:<value>" (status changes)
  std::uint32_t line = 0;  ///< position in the config document, for error messages
  std::uint32_t column = 0;
};

/// A rule: when `when` holds, add `score` and report `reason`.
struct RuleSpec {
  std::string id;
  std::string when;
  double score = 0;
  std::string reason;
  std::uint32_t line = 0;  ///< position of the "when" string's first character in the document
  std::uint32_t column = 0;
};

/// Logistic (or linear) model over features: p = sigmoid(bias + Σ w_i · z_i) where
/// z_i = (x_i − mean_i) / std_i when standardization is given, else x_i. A missing (NaN)
/// feature contributes 0. The model adds `scale · p` (logistic) or `scale · clamp(lin, 0, 1)`
/// (linear) to the rule score.
struct ModelSpec {
  struct Term {
    std::string feature;  ///< a feature name or any number / condition expression of the rules
    double weight = 0;
    double mean = 0;  ///< standardization; identity when std == 1 and mean == 0
    double std = 1;
  };
  enum class Kind : std::uint8_t { kNone, kLogistic, kLinear };
  Kind kind = Kind::kNone;
  double bias = 0;
  double scale = 0;
  std::vector<Term> terms;
};

/// Score thresholds: score >= decline → decline, else score >= review → review.
struct Thresholds {
  std::int32_t review = 500;
  std::int32_t decline = 800;
};

/// A flag from the config: entity field, its id as text, optional expiry and reason.
struct FlagSpec {
  Field entity = Field::kCcNum;
  std::string id;
  Micros until = std::numeric_limits<Micros>::max();
  std::string reason;
};

/// The largest StoreLimits::status_index_size (the index addresses its entries in 32 bits).
inline constexpr std::uint64_t kMaxStatusIndexSize = std::uint64_t{1} << 31;

/// Feature store limits.
struct StoreLimits {
  Micros idle_ttl = 0;  ///< evict keys idle this long in event time; 0 = longest window
  /// A key idle this long (or longer than all its windows) keeps only its events, 40 bytes
  /// and its table entry; the rest of its state is rebuilt when it is seen again. 0 = never.
  Micros cold_after = 3 * kMicrosPerDay;
  std::uint64_t memory_budget =
      0;  ///< bytes; 0 = unbounded. Over budget, oldest-idle keys go first.
  /// trans_num entries kept for status changes, at most kMaxStatusIndexSize
  std::uint64_t status_index_size = 1 << 20;
};

/// The whole configuration document.
struct Config {
  Micros lateness = 10 * kMicrosPerMinute;
  LatePolicy late_policy = LatePolicy::kDeadLetter;
  std::vector<FeatureSpec> features;
  std::vector<RuleSpec> rules;
  ModelSpec model;
  Thresholds thresholds;
  std::vector<FlagSpec> flags;
  StoreLimits limits;
  std::string version;  ///< free-form "version" of the document, carried into snapshots
};

/// Parses and validates a configuration document. Errors carry line and column.
Result<Config> parse_config(std::string_view json);

/// The built-in default configuration (features, rules and trained model weights).
std::string_view default_config_json() noexcept;

/// Serializes a config back to JSON (stable field order; parse_config(to_json(c)) == c).
std::string to_json(const Config& config);

}  // namespace vigil
