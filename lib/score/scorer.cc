// Scorer: compiles a Config into a program and scores batches with it.
//
// score() = flag probes (per key field the rules or the flag set use) → the program on the
// chosen arch (rule bitmaps, the model's score and top terms, and each row's decision as if
// it fired no rule) → one shared scalar pass: rows without a fired rule take that decision;
// the others sum their fired rules, apply the thresholds and order reasons. SIMD and scalar
// paths only have to agree on the program's outputs, which they do bit for bit.
#include "score/text.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "score/compiler.h"
#include "score/dispatch.h"
#include "score/parser.h"
#include "vigil/score.h"

namespace vigil {

struct Scorer::Impl {
  std::shared_ptr<const score::CompiledProgram> program;
  std::shared_ptr<const score::CompiledProgram> term_program;  // raw term values
  std::size_t feature_count = 0;
  std::vector<std::string> rule_ids, rule_reasons;
  std::vector<double> rule_scores;
  std::vector<std::uint32_t> rule_order;  // score desc, then config order
  ModelSpec::Kind model_kind = ModelSpec::Kind::kNone;
  double model_scale = 0;
  std::size_t terms = 0;
  std::vector<std::string> term_names, term_texts;
  Thresholds thresholds;
  ScoreArch arch = ScoreArch::kScalar;
  score::EvalFn eval = nullptr;

  void run(const score::CompiledProgram& prog, const TransactionBatch& batch,
           const FeatureMatrix& features, const FlagSet& flags, ScoreScratch::Impl& sc,
           bool plain) const;
};

struct ScoreScratch::Impl {
  std::vector<std::uint64_t> rule_bits;
  detail::AlignedColumn<double> model_out;
  detail::AlignedColumn<double> term_out;
  detail::AlignedColumn<double> top_out;
  detail::AlignedColumn<double> plain_out;
  detail::AlignedColumn<double> num_regs;
  std::vector<std::uint64_t> mask_regs;
  std::array<std::vector<std::uint64_t>, kFieldCount> flag_bits;
  std::vector<std::uint8_t> hits;
  std::vector<StrId> hit_reasons;
  std::vector<double> rule_sum;
  std::vector<std::uint64_t> fired;  // rows that fire a rule
  std::vector<const double*> features;
  std::vector<FlagHit> flag_hits;

  template <class T>
  static void ensure(detail::AlignedColumn<T>& c, std::size_t n) {
    if (c.capacity() < n) c = detail::AlignedColumn<T>(n);
  }
};

ScoreScratch::ScoreScratch() : impl_(std::make_unique<Impl>()) {}
ScoreScratch::~ScoreScratch() = default;
ScoreScratch::ScoreScratch(ScoreScratch&&) noexcept = default;
ScoreScratch& ScoreScratch::operator=(ScoreScratch&&) noexcept = default;
std::span<const FlagHit> ScoreScratch::flagged_hits() const noexcept { return impl_->flag_hits; }

std::string RuleError::to_string() const {
  // A model error's message names its term ("model term 'log1p(amt', column 10: ...").
  if (rule_id.empty()) return message;
  std::string out = score::cat("rule ", rule_id);
  if (line != 0) score::append(&out, ", line ", line, ", column ", column);
  score::append(&out, ": ", message);
  return out;
}

namespace {

constexpr std::array<std::string_view, 9> kStringFields = {
    "category", "merchant", "state", "city", "job", "first", "last", "street", "gender"};

// Maps an offset inside a rule's "when" string to the document position. Without a position
// (a Config built in code) the offset is reported as line 1, column offset + 1.
void place(const RuleSpec& rule, std::uint32_t offset, RuleError& e) {
  if (rule.line == 0) {
    e.line = 1;
    e.column = offset + 1;
  } else {
    e.line = rule.line;
    e.column = rule.column + offset;
  }
}

struct Parsed {
  std::vector<std::unique_ptr<score::Expr>> conditions;
  std::vector<std::unique_ptr<score::Expr>> term_exprs;
  std::vector<score::TermInput> terms;
  std::vector<RuleError> errors;
};

// A model error: the term's text, where in it, and what is wrong.
RuleError term_error(const ModelSpec::Term& t, std::uint32_t offset, std::string token,
                     const std::string& what) {
  RuleError err;
  err.column = offset + 1;  // within the term's text (the config keeps no term positions)
  err.token = std::move(token);
  err.message = score::cat("model term '", t.feature, "', column ", offset + 1, ": ", what);
  return err;
}

Parsed parse_all(const Config& config, std::span<const std::string> features) {
  Parsed p;
  const score::NameScope scope{features};
  for (const RuleSpec& rule : config.rules) {
    score::ParseError pe;
    auto e = score::parse_condition(rule.when, scope, pe);
    if (!e) {
      RuleError err;
      err.rule_id = rule.id;
      place(rule, pe.pos, err);
      err.token = pe.token;
      err.message = pe.message;
      p.errors.push_back(std::move(err));
    }
    p.conditions.push_back(std::move(e));
  }
  for (std::size_t i = 0; i < config.rules.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (config.rules[i].id == config.rules[j].id) {
        RuleError err;
        err.rule_id = config.rules[i].id;
        place(config.rules[i], 0, err);
        err.message = "duplicate rule id";
        p.errors.push_back(std::move(err));
        break;
      }
    }
  }
  if (config.model.kind != ModelSpec::Kind::kNone) {
    for (const auto& t : config.model.terms) {
      score::ParseError pe;
      auto e = score::parse_term(t.feature, scope, pe);
      if (!e) {
        p.errors.push_back(term_error(t, pe.pos, pe.token, pe.message));
        continue;
      }
      if (!(t.std > 0) || !std::isfinite(t.std) || !std::isfinite(t.mean) ||
          !std::isfinite(t.weight)) {
        p.errors.push_back(
            term_error(t, 0, t.feature, "needs a finite weight and mean and a std > 0"));
        continue;
      }
      p.terms.push_back({e.get(), t.weight, t.mean, t.std});
      p.term_exprs.push_back(std::move(e));
    }
  }
  return p;
}

}  // namespace

std::vector<RuleError> Scorer::check(const Config& config,
                                     std::span<const std::string> feature_columns,
                                     Dictionary& dict) {
  (void)dict;  // parsing interns nothing; kept for symmetry with compile()
  return parse_all(config, feature_columns).errors;
}

Result<Scorer> Scorer::compile(const Config& config, std::span<const std::string> feature_columns,
                               Dictionary& dict, const ScorerOptions& options) {
  auto arch = score::resolve_arch(options.arch);
  if (!arch.ok()) return arch.status();
  Parsed parsed = parse_all(config, feature_columns);
  if (!parsed.errors.empty()) {
    return Status(ErrorCode::kParseError, parsed.errors.front().to_string());
  }
  if (config.thresholds.review > config.thresholds.decline) {
    return Status(ErrorCode::kInvalidArgument, "thresholds: review must not exceed decline");
  }
  for (const RuleSpec& r : config.rules) {
    if (!std::isfinite(r.score)) {
      return Status(ErrorCode::kInvalidArgument,
                    score::cat("rule ", r.id, ": score must be finite"));
    }
  }
  if (config.rules.size() >= kModelReasonBase || config.model.terms.size() >= 0x7FFF) {
    return Status(ErrorCode::kResourceExhausted, "too many rules or model terms");
  }

  auto impl = std::make_shared<Impl>();
  std::vector<const score::Expr*> roots;
  for (const auto& c : parsed.conditions) roots.push_back(c.get());
  for (const RuleSpec& r : config.rules) {
    impl->rule_ids.push_back(r.id);
    impl->rule_reasons.push_back(r.reason);
    impl->rule_scores.push_back(r.score);
  }
  const bool has_model = config.model.kind != ModelSpec::Kind::kNone;
  const score::ModelInput model{config.model.kind, config.model.bias, config.model.scale,
                                parsed.terms};
  impl->program = std::make_shared<const score::CompiledProgram>(
      score::generate(roots, model, feature_columns, impl->rule_ids, dict));
  impl->term_program = std::make_shared<const score::CompiledProgram>(
      score::generate_term_values(parsed.terms, feature_columns, dict));
  impl->feature_count = feature_columns.size();
  impl->rule_order.resize(config.rules.size());
  std::iota(impl->rule_order.begin(), impl->rule_order.end(), 0U);
  std::stable_sort(impl->rule_order.begin(), impl->rule_order.end(),
                   [&](std::uint32_t a, std::uint32_t b) {
                     return impl->rule_scores[a] > impl->rule_scores[b];
                   });
  impl->model_kind = config.model.kind;
  impl->model_scale = config.model.scale;
  impl->terms = parsed.terms.size();
  for (const auto& t : config.model.terms) {  // all parsed, or compile failed above
    impl->term_names.push_back(t.feature);
    impl->term_texts.push_back(score::cat("model: ", t.feature));
  }
  if (!has_model) {
    impl->term_names.clear();
    impl->term_texts.clear();
  }
  impl->thresholds = config.thresholds;
  impl->arch = *arch;
  impl->eval = score::eval_function(*arch);
  return Scorer(std::move(impl));
}

Result<Scorer> Scorer::with_arch(ScoreArch arch) const {
  auto resolved = score::resolve_arch(arch);
  if (!resolved.ok()) return resolved.status();
  auto impl = std::make_shared<Impl>(*impl_);
  impl->arch = *resolved;
  impl->eval = score::eval_function(*resolved);
  return Scorer(std::move(impl));
}

ScoreArch Scorer::arch() const noexcept { return impl_->arch; }
std::string_view Scorer::arch_name() const noexcept { return score_arch_name(impl_->arch); }
std::size_t Scorer::rule_count() const noexcept { return impl_->rule_ids.size(); }
std::size_t Scorer::model_terms() const noexcept { return impl_->terms; }
std::size_t Scorer::instruction_count() const noexcept { return impl_->program->code.size(); }
std::span<const Field> Scorer::flagged_fields() const noexcept {
  return impl_->program->flagged_fields;
}
std::string Scorer::dump_program() const { return impl_->program->listing; }

std::string_view Scorer::reason_id(ReasonCode code) const noexcept {
  if (code < impl_->rule_ids.size()) return impl_->rule_ids[code];
  if (code >= kModelReasonBase && code != kNoReason &&
      static_cast<std::size_t>(code - kModelReasonBase) < impl_->term_names.size()) {
    return impl_->term_names[code - kModelReasonBase];
  }
  return {};
}

std::string_view Scorer::reason_text(ReasonCode code) const noexcept {
  if (code < impl_->rule_reasons.size()) return impl_->rule_reasons[code];
  if (code >= kModelReasonBase && code != kNoReason &&
      static_cast<std::size_t>(code - kModelReasonBase) < impl_->term_texts.size()) {
    return impl_->term_texts[code - kModelReasonBase];
  }
  return {};
}

Status Scorer::score(const TransactionBatch& batch, const FeatureMatrix& features,
                     const FlagSet& flags, std::span<Decision> out) const {
  ScoreScratch scratch;
  return score(batch, features, flags, scratch, out);
}

static_assert(score::kTermReasonBase == kModelReasonBase);

namespace {

Status check_shape(const TransactionBatch& batch, const FeatureMatrix& features,
                   std::size_t feature_count, std::size_t out_size) {
  const std::size_t n = batch.size();
  if (features.columns() != feature_count) {
    return Status(ErrorCode::kInvalidArgument, score::cat("feature matrix has ", features.columns(),
                                                          " columns, the scorer ", feature_count));
  }
  if (features.rows() < n || out_size < n) {
    return Status(ErrorCode::kInvalidArgument,
                  score::cat("batch of ", n, " rows but ", features.rows(), " feature rows and ",
                             out_size, " outputs"));
  }
  return Status{};
}

}  // namespace

// Flag join, then `prog` over rows [0, batch.size()) (n > 0): rule bitmaps, the model's
// linear term and the kTermOut outputs land in the scratch.
void Scorer::Impl::run(const score::CompiledProgram& prog, const TransactionBatch& batch,
                       const FeatureMatrix& features, const FlagSet& flags, ScoreScratch::Impl& sc,
                       bool plain) const {
  const Impl& s = *this;
  const std::size_t n = batch.size();
  const std::size_t padded = (n + score::kChunk - 1) / score::kChunk * score::kChunk;
  const std::size_t words = padded / 64;
  sc.rule_bits.resize(std::max<std::size_t>(1, prog.rules) * words);
  ScoreScratch::Impl::ensure(sc.model_out, padded);
  ScoreScratch::Impl::ensure(sc.term_out, std::max<std::size_t>(1, s.terms) * padded);
  ScoreScratch::Impl::ensure(sc.top_out, 2 * padded);
  if (plain) ScoreScratch::Impl::ensure(sc.plain_out, padded);
  ScoreScratch::Impl::ensure(sc.num_regs, std::max<std::size_t>(1, prog.num_regs) * score::kChunk);
  if (sc.mask_regs.size() < prog.mask_regs * score::kChunkWords) {
    sc.mask_regs.assign(prog.mask_regs * score::kChunkWords, 0);
  }

  // Flagged-entity join: every key field the program tests or the flag set holds.
  std::array<const std::uint64_t*, kFieldCount> flag_ptrs{};
  sc.hits.assign((n + 7) / 8 * 8, 0);
  if (sc.hit_reasons.size() < n) sc.hit_reasons.resize(n);
  for (std::size_t f = 0; f < kFieldCount; ++f) {
    const Field field = static_cast<Field>(f);
    const bool used =
        std::binary_search(prog.flagged_fields.begin(), prog.flagged_fields.end(), field);
    if (!used && flags.size(field) == 0) continue;
    auto& bits = sc.flag_bits[f];
    bits.assign(words, 0);
    flag_ptrs[f] = bits.data();
    if (flags.size(field) == 0) continue;
    flags.probe(batch, field, sc.hits, sc.hit_reasons.data(), s.arch);
    // Hits are rare: skip 8 rows at a time while none of them is one.
    for (std::size_t i0 = 0; i0 < n; i0 += 8) {
      std::uint64_t eight = 0;
      std::memcpy(&eight, sc.hits.data() + i0, 8);  // hits is padded to a multiple of 8
      if (eight == 0) continue;
      for (std::size_t i = i0; i < std::min(n, i0 + 8); ++i) {
        if (sc.hits[i] == 0) continue;
        bits[i / 64] |= std::uint64_t{1} << (i % 64);
        sc.flag_hits.push_back({static_cast<std::uint32_t>(i), field, sc.hit_reasons[i]});
      }
    }
  }
  std::sort(sc.flag_hits.begin(), sc.flag_hits.end(), [](const FlagHit& a, const FlagHit& b) {
    return a.row != b.row ? a.row < b.row : a.field < b.field;
  });

  // The program.
  sc.features.resize(features.columns());
  for (std::size_t j = 0; j < features.columns(); ++j) sc.features[j] = features.column(j);
  std::array<const std::uint32_t*, kFieldCount> str_cols{};
  str_cols[static_cast<std::size_t>(Field::kMerchant)] = batch.merchant.data();
  str_cols[static_cast<std::size_t>(Field::kCategory)] = batch.category.data();
  str_cols[static_cast<std::size_t>(Field::kFirst)] = batch.first.data();
  str_cols[static_cast<std::size_t>(Field::kLast)] = batch.last.data();
  str_cols[static_cast<std::size_t>(Field::kStreet)] = batch.street.data();
  str_cols[static_cast<std::size_t>(Field::kCity)] = batch.city.data();
  str_cols[static_cast<std::size_t>(Field::kState)] = batch.state.data();
  str_cols[static_cast<std::size_t>(Field::kJob)] = batch.job.data();
  score::EvalArgs args;
  args.rows = n;
  args.features = sc.features.data();
  args.str_columns = str_cols.data();
  args.gender = batch.gender.data();
  args.flag_bits = flag_ptrs.data();
  args.rule_bits = sc.rule_bits.data();
  args.words_per_rule = words;
  args.model_out = sc.model_out.data();
  args.term_out = sc.term_out.data();
  args.term_stride = padded;
  args.top_out = sc.top_out.data();
  if (plain) {
    args.plain_out = sc.plain_out.data();
    args.plain_model = s.model_kind != ModelSpec::Kind::kNone;
    args.plain_top = args.plain_model && s.terms != 0;
  }
  args.num_regs = sc.num_regs.data();
  args.mask_regs = sc.mask_regs.data();
  s.eval(prog.view(), args);
}

Status Scorer::evaluate_terms(const TransactionBatch& batch, const FeatureMatrix& features,
                              const FlagSet& flags, ScoreScratch& scratch_owner,
                              FeatureMatrix& out) const {
  const Impl& s = *impl_;
  const std::size_t n = batch.size();
  if (Status st = check_shape(batch, features, s.feature_count, n); !st.ok()) return st;
  ScoreScratch::Impl& sc = *scratch_owner.impl_;
  sc.flag_hits.clear();
  out.reset(s.terms, std::max(n, out.capacity()));
  out.set_rows(n);
  if (n == 0 || s.terms == 0) return Status{};
  s.run(*s.term_program, batch, features, flags, sc, false);
  const std::size_t stride = (n + score::kChunk - 1) / score::kChunk * score::kChunk;
  for (std::size_t t = 0; t < s.terms; ++t) {
    std::copy_n(sc.term_out.data() + t * stride, n, out.column(t));
  }
  return Status{};
}

Status Scorer::score(const TransactionBatch& batch, const FeatureMatrix& features,
                     const FlagSet& flags, ScoreScratch& scratch_owner,
                     std::span<Decision> out) const {
  const Impl& s = *impl_;
  const std::size_t n = batch.size();
  if (Status st = check_shape(batch, features, s.feature_count, out.size()); !st.ok()) return st;
  ScoreScratch::Impl& sc = *scratch_owner.impl_;
  sc.flag_hits.clear();
  if (n == 0) return Status{};
  const score::CompiledProgram& prog = *s.program;
  s.run(prog, batch, features, flags, sc, true);
  const std::size_t padded = (n + score::kChunk - 1) / score::kChunk * score::kChunk;
  const std::size_t words = padded / 64;

  // Rows that fire any rule (most rows fire none): only they need the rule sums and the
  // general reason merge below; every other row's decision comes from the model alone.
  const std::size_t used_words = (n + 63) / 64;
  sc.fired.assign(used_words, 0);
  for (std::size_t r = 0; r < prog.rules; ++r) {
    const std::uint64_t* bits = sc.rule_bits.data() + r * words;
    for (std::size_t w = 0; w < used_words; ++w) sc.fired[w] |= bits[w];
  }
  if (n % 64 != 0) sc.fired[used_words - 1] &= (std::uint64_t{1} << (n % 64)) - 1;
  if (sc.rule_sum.size() < n) sc.rule_sum.resize(n);
  for (std::size_t w = 0; w < used_words; ++w) {
    for (std::uint64_t b = sc.fired[w]; b != 0; b &= b - 1) {
      const std::size_t i = w * 64 + static_cast<std::size_t>(std::countr_zero(b));
      sc.rule_sum[i] = 0.0;
      out[i] = Decision{};
    }
  }

  // Fired rules in reason order: sum their scores and keep the first reasons. Cost follows
  // the fired rules, not rules × rows.
  for (std::uint32_t r : s.rule_order) {
    const double score = s.rule_scores[r];
    const std::uint64_t* bits = sc.rule_bits.data() + r * words;
    for (std::size_t w = 0; w < used_words; ++w) {
      std::uint64_t b = bits[w] & sc.fired[w];  // fired[] is masked to the batch
      while (b != 0) {
        const std::size_t i = w * 64 + static_cast<std::size_t>(std::countr_zero(b));
        b &= b - 1;
        sc.rule_sum[i] += score;
        Decision& d = out[i];
        if (d.reason_count < Decision::kMaxReasons) {
          d.reasons[d.reason_count++] = static_cast<ReasonCode>(r);
        }
      }
    }
  }

  // Per row: total, action, and the model's two strongest terms (computed by the program)
  // leading the reasons when the model's part beats every fired rule's.
  const bool has_model = s.model_kind != ModelSpec::Kind::kNone;
  const double* model_score = sc.model_out.data();
  const double* top0 = sc.top_out.data();
  const double* top1 = sc.top_out.data() + padded;
  const bool has_top = has_model && s.terms != 0;
  const std::int32_t review = s.thresholds.review, decline = s.thresholds.decline;
  // Round half away from zero, done by hand because std::round is a libm call: after the
  // clamp the value is in [0, 1000], where truncation and the remainder are exact.
  auto total_score = [](double rule_sum, double ms) {
    const double total = std::clamp(rule_sum + ms, 0.0, 1000.0);
    auto whole = static_cast<std::int32_t>(total);
    whole += total - static_cast<double>(whole) >= 0.5 ? 1 : 0;
    return whole;
  };
  const double* plain = sc.plain_out.data();
  static_assert(static_cast<int>(Action::kReview) == 1 && static_cast<int>(Action::kDecline) == 2);
  auto action = [&](std::int32_t whole) {
    return whole >= decline  ? Action::kDecline
           : whole >= review ? Action::kReview
                             : Action::kApprove;
  };
  for (std::size_t w = 0; w < used_words; ++w) {
    const std::size_t lo = w * 64, hi = std::min(n, lo + 64);
    const std::uint64_t fired = sc.fired[w];
    for (std::size_t i = lo; i < hi; ++i) {
      Decision& d = out[i];
      if (((fired >> (i - lo)) & 1) == 0) {
        // No rule fired: the program computed this row's decision (EvalArgs::plain_out). Each
        // field is stored directly (a Decision built on the stack and copied whole would be
        // reloaded wider than it was written, which stalls store forwarding).
        const auto packed = std::bit_cast<std::uint64_t>(plain[i]);
        const auto whole = static_cast<std::int32_t>(packed & 1023);
        d.score = whole;
        // review <= decline (compile() checks), so the two tests add up to the action.
        d.action = static_cast<Action>(static_cast<int>(whole >= review) +
                                       static_cast<int>(whole >= decline));
        d.reason_count = static_cast<std::uint8_t>((packed >> 10) & 3);
        const auto r0 = static_cast<ReasonCode>(packed >> 12);
        const auto r1 = static_cast<ReasonCode>(packed >> 28);
        d.reasons = {r0, r1, 0, 0, 0, 0};
        continue;
      }
      const double ms = has_model ? model_score[i] : 0.0;
      const std::int32_t whole = total_score(sc.rule_sum[i], ms);
      d.score = whole;
      d.action = action(whole);
      if (!has_top || !(ms > 0) || top0[i] < 0) continue;
      if (!(ms > s.rule_scores[d.reasons[0]])) continue;  // a fired row has a reason
      const std::size_t k = top1[i] < 0 ? 1 : 2;
      const std::size_t keep = std::min<std::size_t>(d.reason_count, Decision::kMaxReasons - k);
      std::copy_backward(d.reasons.begin(), d.reasons.begin() + static_cast<std::ptrdiff_t>(keep),
                         d.reasons.begin() + static_cast<std::ptrdiff_t>(keep + k));
      d.reasons[0] = static_cast<ReasonCode>(top0[i]);
      if (k == 2) d.reasons[1] = static_cast<ReasonCode>(top1[i]);
      d.reason_count = static_cast<std::uint8_t>(keep + k);
    }
  }
  return Status{};
}

}  // namespace vigil
