// File: vigil/score.h
//
// The scorer: turns a batch's feature matrix into `Decision`s.
//
// A `Scorer` is compiled once from a `Config` (rules, model, thresholds) against the feature
// columns the feature store produces, then scores whole batches. Compilation parses every rule
// expression, checks types, folds constants, shares common sub-expressions between rules and
// emits a flat program over feature columns; `score()` runs that program over the batch with
// SIMD registers (SSE4.2, AVX2 or AVX-512, picked at run time) or with the scalar reference
// evaluator, which gives bit-identical decisions.
//
// ## The rule language
//
//   amt > 2 * card_amt_avg_30d && (hour >= 22 || hour < 4)
//   in(category, ["shopping_net", "misc_net"]) && between(age, 18, 25)
//   flagged(cc_num) || flagged(merchant)
//   log1p(amt) - log1p(card_amt_avg_30d) > 2.5 && category != "gas_transport"
//
// - numbers (`3`, `2.5`, `1e3`), feature names (built-in and declared), `+ - * /`, unary `-`,
//   comparisons `< <= > >= == !=`, `&& || !`, parentheses;
// - functions `abs(x)`, `min(x, y)`, `max(x, y)`, `log1p(x)`, `between(x, lo, hi)`
//   (lo <= x <= hi), `in(x, [v, ...])` (x a string field and v string literals, or x a number
//   and v numbers), `flagged(f)` with f a key field (`cc_num` — alias `card` —, `merchant`,
//   `category`, `state`, `zip`, `city`, `job`, `first`, `last`, `street`, `gender`);
// - raw string fields of the batch (`category`, `merchant`, `state`, `city`, `job`, `first`,
//   `last`, `street`, `gender`) compared with string literals by `==`, `!=` and `in(...)`.
//   Literals are interned into the engine's `Dictionary` at compile time, so a literal never
//   seen in the data simply matches nothing.
//
// Types are checked at compile time: numbers, conditions (true/false) and strings never mix.
//
// Missing values: a missing feature is NaN and **every comparison with NaN is false**,
// including `!=` (which means "both present and different"). `!` is plain negation, so
// `!(x > 3)` is true when x is missing. Arithmetic propagates NaN (`min`/`max` too).
//
// ## How a score is made (deterministic)
//
//   rule_score  = Σ score of the fired rules, summed in reason order (see below)
//   model_score = scale · p, p = sigmoid(bias + Σ w_i · z_i)          (logistic)
//               = scale · clamp(bias + Σ w_i · z_i, 0, 1)             (linear)
//                 z_i = (x_i − mean_i) / std_i; a missing x_i contributes 0; each term is
//                 computed as (x_i − mean_i) · (w_i / std_i), w_i / std_i folded at compile
//                 time, and the sigmoid's exp is vigil's own (fdlibm's algorithm, < 1 ulp),
//                 so every arch gives the same bits
//                 x_i is the value of model term i: an expression of the rule language that
//                 is a number (`amt`, `log1p(amt)`, `amt / max(card_amt_avg_30d, 1)`) or a
//                 condition (`hour >= 22 || hour < 4`, counted 1 when true, 0 when false).
//                 Terms and rules share sub-expressions: each is computed once per row.
//   score       = clamp(round(rule_score + model_score), 0, 1000)      (round half away from 0)
//   action      = decline if score >= thresholds.decline, else review if >= thresholds.review,
//                 else approve.
//
// Reasons: the fired rules ordered by score (descending), ties by rule order in the config;
// when the model's contribution is larger than every fired rule's, the model's top two
// terms by |w_i · z_i| (ReasonCode kModelReasonBase + term index) come first. At most
// Decision::kMaxReasons are kept.
//
// ## Instruction sets
//
// `ScorerOptions::arch` picks one; `ScoreArch::kAuto` reads the environment variable
// `VIGIL_FORCE_ARCH` (`scalar`, `sse4.2`, `avx2`, `avx512`) once, in `Scorer::compile`, and
// otherwise takes the best the CPU offers. Every arch computes bit-identical decisions.
//
// **Example**
//   vigil::Dictionary dict;
//   auto scorer = vigil::Scorer::compile(config, feature_store.column_names(), dict);
//   if (!scorer.ok()) return scorer.status();
//   vigil::ScoreScratch scratch;
//   std::vector<vigil::Decision> out(batch.size());
//   if (auto st = scorer->score(batch, features, flags, scratch, out); !st.ok()) return st;
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/config.h"
#include "vigil/dictionary.h"
#include "vigil/model.h"
#include "vigil/status.h"

namespace vigil {

/// Instruction sets the scorer can evaluate with.
enum class ScoreArch : std::uint8_t {
  kAuto,    ///< VIGIL_FORCE_ARCH if set, else the best available
  kScalar,  ///< the scalar reference evaluator (no SIMD)
  kSse42,
  kAvx2,
  kAvx512,
};

/// "auto", "scalar", "sse4.2", "avx2" or "avx512".
std::string_view score_arch_name(ScoreArch arch) noexcept;
/// The arch of a name as score_arch_name() spells it; nullopt for others.
std::optional<ScoreArch> score_arch_from_name(std::string_view name) noexcept;
/// Archs that this build includes and this CPU runs, scalar first, best last.
std::vector<ScoreArch> available_score_archs();

/// One flagged-entity join hit: row `row` of the scored batch has its `field` key flagged.
/// The list of hits is what a Flink job would write to its "flagged transactions" topic.
struct FlagHit {
  std::uint32_t row = 0;
  Field field = Field::kCcNum;
  StrId reason = kNoStr;  ///< the flag's reason, interned in the engine's Dictionary
  friend bool operator==(const FlagHit&, const FlagHit&) = default;
};

/// The set of flagged entities (cards, merchants, any key field), each with an active interval
/// in event time and a reason. A flag is active for a transaction at time t when
/// flagged_at <= t < until. Keys are probed a batch at a time through a blocked Bloom filter
/// (one 32-byte block per key, so one cache miss) and confirmed in a hash map, so the common
/// miss costs a few instructions.
///
/// **Example**
///   vigil::FlagSet flags;
///   flags.apply({.entity = vigil::Field::kCcNum, .key = 2703186189652095, .time = t0});
///   std::vector<std::uint8_t> hits(batch.size());
///   flags.probe(batch, vigil::Field::kCcNum, hits);
class FlagSet {
 public:
  FlagSet();
  ~FlagSet();
  FlagSet(FlagSet&&) noexcept;
  FlagSet& operator=(FlagSet&&) noexcept;
  FlagSet(const FlagSet&) = delete;
  FlagSet& operator=(const FlagSet&) = delete;

  /// Applies a flag event (flags key from change.time until change.until, replacing an
  /// existing flag of the same key) or an unflag event (removes the key's flag).
  /// Returns false, doing nothing, when change.entity is not a key field.
  bool apply(const FlagChange& change);
  /// Adds a flag from the config, active from the beginning of time until spec.until.
  /// `spec.id` is the key as text: digits for cc_num and zip, one character for gender, the
  /// string itself (interned into `dict`) for string fields.
  Status add(const FlagSpec& spec, Dictionary& dict);
  /// Sets hits[i] to 1 when row i's `field` key has a flag active at the row's time, else 0,
  /// for i < batch.size() (hits.size() >= batch.size() is required; extra entries are left).
  void probe(const TransactionBatch& batch, Field field, std::span<std::uint8_t> hits) const;
  /// The reason of `key`'s flag if it is active at time t.
  std::optional<StrId> find(Field field, std::uint64_t key, Micros t) const;

  /// Number of flags held (active or not yet expired-and-removed).
  std::size_t size() const noexcept;
  /// Number of flags held for `field`.
  std::size_t size(Field field) const noexcept;
  /// Approximate heap bytes held (filter and map).
  std::size_t memory_bytes() const noexcept;
  /// Drops flags that expired at or before `t` (until <= t). Hosts call it now and then.
  std::size_t purge_expired(Micros t);

  /// Writes a versioned, checksummed, byte-stable image (flags sorted by field and key).
  Status snapshot(std::ostream& out) const;
  /// Replaces the contents with an image written by snapshot(); on error nothing changes.
  Status restore(std::istream& in);

 private:
  friend class Scorer;
  // probe() with the filter of `arch` (the scorer's own, so that pinning an arch pins the
  // join too) that also writes reasons[i] for each hit row i: the map lookup that confirms a
  // hit yields its reason, so nothing is looked up twice.
  void probe(const TransactionBatch& batch, Field field, std::span<std::uint8_t> hits,
             StrId* reasons, ScoreArch arch) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A compile error of one rule, with its position in the config document, or of one model
/// term (rule_id "", line 0, column within the term's text; the message names the term:
/// "model term 'log1p(amt', column 10: expected ',' or ')' but the expression ends").
struct RuleError {
  std::string rule_id;       ///< "" for errors of the model
  std::uint32_t line = 0;    ///< 1-based, in the config document; 0 for a model term
  std::uint32_t column = 0;  ///< 1-based
  std::string token;         ///< the offending token ("" at end of input)
  std::string message;       ///< e.g. "unknown name 'card_cnt_1h' (did you mean 'card_count_1h'?)"
  /// "rule NIGHT_BURST, line 12, column 40: unknown name ..."; a model error's message.
  std::string to_string() const;
};

/// How to build a scorer.
struct ScorerOptions {
  ScoreArch arch = ScoreArch::kAuto;
};

/// Per-thread working memory of Scorer::score (reused across calls, so scoring a batch
/// allocates nothing once warm), and the flagged-entity hits of the last call.
class ScoreScratch {
 public:
  ScoreScratch();
  ~ScoreScratch();
  ScoreScratch(ScoreScratch&&) noexcept;
  ScoreScratch& operator=(ScoreScratch&&) noexcept;
  ScoreScratch(const ScoreScratch&) = delete;
  ScoreScratch& operator=(const ScoreScratch&) = delete;

  /// The join hits of the last score() call, ordered by row then field.
  std::span<const FlagHit> flagged_hits() const noexcept;

 private:
  friend class Scorer;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A compiled rule set and model. Immutable once compiled: copies share the program, and
/// const methods may run concurrently (each thread with its own ScoreScratch). For hot
/// reload, compile the new config off the hot path and swap a std::shared_ptr<const Scorer>
/// between batches; a failed compile leaves the running scorer untouched.
class Scorer {
 public:
  /// Compiles `config`'s rules, model and thresholds against `feature_columns` (the
  /// FeatureMatrix column names, built-ins first). String literals are interned into `dict`
  /// (the engine's dictionary). Fails with the first error (see check() for all of them) or
  /// with kUnsupported when the requested arch is not available.
  static Result<Scorer> compile(const Config& config, std::span<const std::string> feature_columns,
                                Dictionary& dict, const ScorerOptions& options = {});
  /// Every compile error of `config`, in rule order; empty when it compiles.
  static std::vector<RuleError> check(const Config& config,
                                      std::span<const std::string> feature_columns,
                                      Dictionary& dict);

  /// Scores rows [0, batch.size()) into out[0, batch.size()). `features` must have the
  /// compiled column count and at least batch.size() rows; `out` at least batch.size()
  /// entries. Fails (kInvalidArgument, nothing written) on a shape mismatch.
  Status score(const TransactionBatch& batch, const FeatureMatrix& features, const FlagSet& flags,
               ScoreScratch& scratch, std::span<Decision> out) const;
  /// As above with a temporary scratch (allocates; for tests and one-off calls).
  Status score(const TransactionBatch& batch, const FeatureMatrix& features, const FlagSet& flags,
               std::span<Decision> out) const;

  /// Writes each model term's raw value x_i (before standardization) for rows
  /// [0, batch.size()) to column i of `out`, which is reshaped to model_terms() columns and
  /// batch.size() rows: a number term's value (NaN when missing), 1 / 0 for a condition term.
  /// What `vigil train` fits weights on: compile a config whose candidate terms all have
  /// weight 0, evaluate them over labelled batches, fit, then write the weights back.
  /// Fails (kInvalidArgument, nothing written) on a shape mismatch.
  Status evaluate_terms(const TransactionBatch& batch, const FeatureMatrix& features,
                        const FlagSet& flags, ScoreScratch& scratch, FeatureMatrix& out) const;

  /// The same compiled program evaluated with another arch (shares the program).
  Result<Scorer> with_arch(ScoreArch arch) const;
  /// The arch this scorer evaluates with (never kAuto).
  ScoreArch arch() const noexcept;
  /// score_arch_name(arch()).
  std::string_view arch_name() const noexcept;

  /// A rule's id, or model term i's text (as written in the config) for kModelReasonBase + i;
  /// "" when unknown.
  std::string_view reason_id(ReasonCode code) const noexcept;
  /// A rule's reason text, or "model: <term>" for a model reason; "" when unknown.
  std::string_view reason_text(ReasonCode code) const noexcept;

  /// Number of rules (ReasonCode i < rule_count() is rule i in config order).
  std::size_t rule_count() const noexcept;
  /// Number of model terms.
  std::size_t model_terms() const noexcept;
  /// Number of instructions of the flat program (after folding and sharing).
  std::size_t instruction_count() const noexcept;
  /// Key fields the rules test with flagged(...).
  std::span<const Field> flagged_fields() const noexcept;
  /// A readable listing of the flat program, one instruction per line, e.g.
  /// "%3 = gt f0(amt), 500". For tests and debugging; the format may change.
  std::string dump_program() const;

  struct Impl;

 private:
  explicit Scorer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace vigil
