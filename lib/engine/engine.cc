#include "vigil/engine.h"

#include <algorithm>
#include <chrono>
#include <istream>
#include <map>
#include <ostream>
#include <sstream>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_format.h"
#include "engine/latency.h"
#include "model/binary_io.h"
#include "vigil/features.h"
#include "vigil/ingest.h"
#include "vigil/score.h"

namespace vigil {
namespace {

constexpr std::array<char, 4> kEngineMagic = {'V', 'E', 'N', 'G'};
constexpr std::uint32_t kEngineVersion = 1;

// Latency is a metric for the host, never an input to a result, so reading a monotonic clock
// here keeps every output deterministic.
std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// The part of a config that shapes feature state: a snapshot or a reload must agree on it.
std::string feature_signature(const Config& c) {
  Config f;
  f.features = c.features;
  f.lateness = c.lateness;
  f.late_policy = c.late_policy;
  f.limits = c.limits;
  for (FeatureSpec& spec : f.features) spec.line = spec.column = 0;
  return to_json(f);
}

}  // namespace

struct Engine::Impl : IngestSink {
  Config config;
  EngineOptions options;
  Dictionary dict;
  FeatureStore store;
  std::shared_ptr<const Scorer> scorer;
  ScoreScratch scratch;
  FlagSet flags;
  Rollups rollups;
  EngineCounters counters;
  detail::LatencyHistogram score_latency;
  detail::LatencyHistogram batch_latency;

  FeatureMatrix matrix;
  std::vector<Decision> decisions;
  std::vector<std::uint32_t> late_rows;
  TransactionBatch single{16};

  // Streaming input: the ingestor is made on the first feed() (for kAuto, once enough bytes
  // are there to recognise the format).
  std::optional<Ingestor> ingestor;
  std::string detect_buffer;
  std::map<std::string, std::uint64_t, std::less<>> rejected_by_reason;
  std::vector<std::pair<Field, std::uint64_t>> config_flag_keys;
  // "RULE_ID" for rules, "model:<feature>" for model terms, by reason slot.
  std::vector<std::string> reason_ids;

  DecisionSink decision_sink;
  AlertSink alert_sink;
  FlaggedSink flagged_sink;
  DeadLetterSink dead_letter_sink;
  FeatureSink feature_sink;
  FeatureSink model_term_sink;
  FeatureMatrix term_matrix;
  std::vector<std::string> term_names;

  Impl(Config c, EngineOptions o, FeatureStore s)
      : config(std::move(c)), options(o), store(std::move(s)) {}

  // IngestSink: the ingestor's deliveries go straight to the engine's components.
  void on_batch(const TransactionBatch& batch) override { (void)process(batch); }
  void on_status(const StatusChange& change) override { apply(change); }
  void on_flag(const FlagChange& change) override { apply(change); }
  void on_reject(const Rejected& r) override { reject(r); }

  void reject(const Rejected& r) {
    ++counters.rejected;
    // Reasons name values ("lat 123 out of range"): count by the text before the first digit
    // or quote, so the table stays small and readable.
    std::string key = r.field.empty() ? r.reason : r.field + ": " + r.reason;
    const std::size_t cut = key.find_first_of("0123456789'\"");
    if (cut != std::string::npos && cut > 0) key.resize(key.find_last_not_of(" (:", cut - 1) + 1);
    ++rejected_by_reason[key];
    if (dead_letter_sink) dead_letter_sink(r);
  }

  std::span<const Decision> process(const TransactionBatch& batch) {
    const std::uint64_t t0 = options.measure_latency ? now_ns() : 0;
    const std::size_t n = batch.size();
    decisions.resize(std::max(decisions.size(), batch.capacity()));
    late_rows.clear();
    Status st = store.process(batch, matrix, &late_rows);
    if (st.ok()) st = scorer->score(batch, matrix, flags, scratch, std::span(decisions.data(), n));
    if (!st.ok()) {
      // Only a programming error gets here (shapes are the engine's own); score nothing
      // rather than emit decisions from a half-written matrix.
      for (std::size_t i = 0; i < n; ++i) decisions[i] = Decision{};
      Rejected r;
      r.reason = "internal: " + st.to_string();
      reject(r);
      return {decisions.data(), 0};
    }
    for (const std::uint32_t row : late_rows) {
      ++counters.late_rejected;
      Rejected r;
      r.field = "trans_date_trans_time";
      r.reason = absl::StrFormat(
          "transaction %s is older than its card's newest event by more than the "
          "lateness bound; scored without window features, not added to windows",
          batch.trans_num[row].view());
      reject(r);
    }
    finish_batch(batch, std::span<const Decision>(decisions.data(), n));
    if (options.measure_latency) batch_latency.record(now_ns() - t0);
    return {decisions.data(), n};
  }

  void finish_batch(const TransactionBatch& batch, std::span<const Decision> out) {
    const std::size_t n = batch.size();
    counters.transactions += n;
    if (counters.reason_hits.size() != scorer->rule_count() + scorer->model_terms()) {
      counters.reason_hits.assign(scorer->rule_count() + scorer->model_terms(), 0);
    }
    // Once per batch, not per reason: rule_count() is a call into the scorer.
    const std::size_t rules = scorer->rule_count();
    std::uint64_t* const reason_hits = counters.reason_hits.data();
    const std::size_t reason_slots = counters.reason_hits.size();
    for (std::size_t i = 0; i < n; ++i) {
      const Decision& d = out[i];
      ++counters.decisions[static_cast<std::size_t>(d.action)];
      if (batch.is_fraud[i] == 0 || batch.is_fraud[i] == 1) {
        ++counters.labelled[static_cast<std::size_t>(batch.is_fraud[i])]
                           [static_cast<std::size_t>(d.action)];
      }
      for (std::size_t k = 0; k < d.reason_count; ++k) {
        const ReasonCode code = d.reasons[k];
        const std::size_t slot =
            code >= kModelReasonBase ? rules + (code - kModelReasonBase) : code;
        if (slot < reason_slots) ++reason_hits[slot];
      }
    }
    const auto hits = scratch.flagged_hits();
    counters.flagged_hits += hits.size();
    rollups.add(batch, out);
    if (feature_sink) feature_sink(batch, store.column_names(), matrix);
    if (model_term_sink) {
      const Status s = scorer->evaluate_terms(batch, matrix, flags, scratch, term_matrix);
      if (s.ok()) model_term_sink(batch, term_names, term_matrix);
    }
    if (flagged_sink) {
      for (const FlagHit& h : hits) flagged_sink(FlaggedHit{&batch, h.row, h.field, h.reason});
    }
    if (alert_sink) {
      for (std::size_t i = 0; i < n; ++i) {
        if (out[i].action != Action::kApprove) alert_sink(Alert{&batch, i, out[i]});
      }
    }
    if (decision_sink) decision_sink(batch, out);
  }

  void apply(const StatusChange& change) {
    ++counters.status_changes;
    store.on_status(change);
  }

  void apply(const FlagChange& change) {
    ++counters.flag_changes;
    if (!flags.apply(change)) {
      Rejected r;
      r.field = "entity";
      r.reason = absl::StrFormat("flag event for '%s', which is not a key field",
                                 field_name(change.entity));
      reject(r);
    }
  }

  void set_scorer(Scorer compiled) {
    scorer = std::make_shared<const Scorer>(std::move(compiled));
    reason_ids.clear();
    for (std::size_t r = 0; r < scorer->rule_count(); ++r) {
      reason_ids.emplace_back(scorer->reason_id(static_cast<ReasonCode>(r)));
    }
    term_names.clear();
    for (std::size_t t = 0; t < scorer->model_terms(); ++t) {
      term_names.emplace_back(scorer->reason_id(static_cast<ReasonCode>(kModelReasonBase + t)));
      reason_ids.push_back("model:" + term_names.back());
    }
  }

  // The key a config flag sets, as TransactionBatch::key() gives it (ids validated by
  // parse_config; string ids interned into the engine's dictionary).
  std::uint64_t config_flag_key(const FlagSpec& spec) {
    if (spec.entity == Field::kCcNum || spec.entity == Field::kZip) return std::stoull(spec.id);
    if (spec.entity == Field::kGender)
      return spec.id.empty() ? 0 : static_cast<unsigned char>(spec.id[0]);
    return dict.intern(spec.id);
  }

  void remember_config_flag_keys() {
    config_flag_keys.clear();
    for (const FlagSpec& spec : config.flags)
      config_flag_keys.emplace_back(spec.entity, config_flag_key(spec));
  }

  Status add_config_flags() {
    for (const FlagSpec& spec : config.flags) {
      if (Status s = flags.add(spec, dict); !s.ok()) return s;
    }
    remember_config_flag_keys();
    return {};
  }

  Status start_ingestor(Format format) {
    IngestOptions io;
    io.format = format;
    io.batch_capacity = options.batch_capacity;
    io.limits.max_record_bytes = options.max_record_bytes;
    io.limits.max_string_bytes = options.max_string_bytes;
    Result<Ingestor> ing = Ingestor::create(std::move(io), dict, *this);
    if (!ing.ok()) return ing.status();
    ingestor.emplace(std::move(ing).value());
    return {};
  }

  Status feed(std::string_view bytes, bool final) {
    if (!ingestor) {
      Format format = Format::kNdjson;
      switch (options.format) {
        case InputFormat::kNdjson: format = Format::kNdjson; break;
        case InputFormat::kCsv: format = Format::kCsv; break;
        case InputFormat::kCdc: format = Format::kCdc; break;
        case InputFormat::kAuto: {
          detect_buffer.append(bytes);
          // A whole first line (or 64 KiB of one) is enough to recognise the format.
          const std::size_t nl = detect_buffer.find('\n');
          if (nl == std::string::npos && detect_buffer.size() < (1 << 16) && !final) return {};
          const auto detected = detect_format(detect_buffer);
          if (!detected) {
            if (detect_buffer.find_first_not_of(" \t\r\n") == std::string::npos && !final)
              return {};
            if (detect_buffer.find_first_not_of(" \t\r\n") == std::string::npos) return {};
            return {ErrorCode::kInvalidArgument,
                    "input format not recognised from its first line (expected NDJSON, CSV with a "
                    "header, "
                    "or CDC envelopes); set the format explicitly"};
          }
          format = *detected;
          if (Status s = start_ingestor(format); !s.ok()) return s;
          std::string buffered = std::move(detect_buffer);
          detect_buffer.clear();
          return ingestor->feed(buffered);
        }
      }
      if (Status s = start_ingestor(format); !s.ok()) return s;
    }
    return ingestor->feed(bytes);
  }
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

Result<Engine> Engine::create(const Config& config, EngineOptions options) {
  if (options.batch_capacity == 0 || options.batch_capacity > (1u << 20)) {
    return Status(ErrorCode::kInvalidArgument, "batch_capacity must be in [1, 1048576]");
  }
  Dictionary dict;
  Result<FeatureStore> store = FeatureStore::create(config, dict);
  if (!store.ok()) return store.status();
  auto impl = std::make_unique<Impl>(config, options, std::move(store).value());
  impl->dict = std::move(dict);
  Result<Scorer> scorer = Scorer::compile(impl->config, impl->store.column_names(), impl->dict);
  if (!scorer.ok()) return scorer.status();
  impl->set_scorer(std::move(scorer).value());
  if (Status s = impl->add_config_flags(); !s.ok()) return s;
  impl->counters.reason_hits.assign(impl->scorer->rule_count() + impl->scorer->model_terms(), 0);
  return Engine(std::move(impl));
}

Result<Engine> Engine::create_from_json(std::string_view json, EngineOptions options) {
  Result<Config> config = parse_config(json);
  if (!config.ok()) return config.status();
  return create(*config, options);
}

Result<Engine> Engine::create_default(EngineOptions options) {
  return create_from_json(default_config_json(), options);
}

void Engine::set_decision_sink(DecisionSink sink) { impl_->decision_sink = std::move(sink); }
void Engine::set_alert_sink(AlertSink sink) { impl_->alert_sink = std::move(sink); }
void Engine::set_flagged_sink(FlaggedSink sink) { impl_->flagged_sink = std::move(sink); }
void Engine::set_dead_letter_sink(DeadLetterSink sink) {
  impl_->dead_letter_sink = std::move(sink);
}
void Engine::set_feature_sink(FeatureSink sink) { impl_->feature_sink = std::move(sink); }
void Engine::set_model_term_sink(FeatureSink sink) { impl_->model_term_sink = std::move(sink); }

Status Engine::feed(std::string_view bytes) { return impl_->feed(bytes, false); }

Status Engine::finish() {
  if (!impl_->ingestor) {
    if (Status s = impl_->feed({}, true); !s.ok()) return s;
    if (!impl_->ingestor) return {};
  }
  return impl_->ingestor->finish();
}

std::span<const Decision> Engine::process(const TransactionBatch& batch) {
  return impl_->process(batch);
}

Decision Engine::score(const Transaction& tx) {
  Impl& m = *impl_;
  const std::uint64_t t0 = m.options.measure_latency ? now_ns() : 0;
  m.single.clear();
  m.single.push_back(tx);
  const bool measure = m.options.measure_latency;
  m.options.measure_latency = false;  // count this call once, in score_latency
  const std::span<const Decision> d = m.process(m.single);
  m.options.measure_latency = measure;
  const Decision out = d.empty() ? Decision{} : d[0];
  if (measure) m.score_latency.record(now_ns() - t0);
  return out;
}

void Engine::apply(const StatusChange& change) { impl_->apply(change); }
void Engine::apply(const FlagChange& change) { impl_->apply(change); }

Status Engine::reload(const Config& config) {
  Impl& m = *impl_;
  if (feature_signature(config) != feature_signature(m.config)) {
    return {ErrorCode::kInvalidArgument,
            "reload: feature declarations, lateness or limits differ from the running config; "
            "windows hold "
            "state for the running ones, so changing them needs a new engine (restore a snapshot "
            "into it)"};
  }
  Result<Scorer> scorer = Scorer::compile(config, m.store.column_names(), m.dict);
  if (!scorer.ok()) return scorer.status();
  // Validate the new config's flags on a scratch set before touching the live one.
  FlagSet probe;
  for (const FlagSpec& spec : config.flags) {
    if (Status s = probe.add(spec, m.dict); !s.ok()) return s;
  }
  // Swap: the next batch is scored wholly by the new program.
  for (const auto& [field, key] : m.config_flag_keys) {
    FlagChange unflag;
    unflag.entity = field;
    unflag.key = key;
    unflag.flagged = false;
    m.flags.apply(unflag);
  }
  m.set_scorer(std::move(scorer).value());
  m.config = config;
  if (Status s = m.add_config_flags(); !s.ok()) return s;
  m.counters.reason_hits.assign(m.scorer->rule_count() + m.scorer->model_terms(), 0);
  return {};
}

Status Engine::reload_json(std::string_view json) {
  Result<Config> config = parse_config(json);
  if (!config.ok()) return config.status();
  return reload(*config);
}

namespace {

void save_counters(detail::BinaryWriter& w, const EngineCounters& c,
                   const std::map<std::string, std::uint64_t, std::less<>>& by_reason) {
  w.varint(c.records);
  w.varint(c.transactions);
  w.varint(c.status_changes);
  w.varint(c.flag_changes);
  w.varint(c.rejected);
  w.varint(c.late_rejected);
  w.varint(c.flagged_hits);
  for (const auto v : c.decisions) w.varint(v);
  for (const auto& row : c.labelled) {
    for (const auto v : row) w.varint(v);
  }
  w.varint(c.reason_hits.size());
  for (const auto v : c.reason_hits) w.varint(v);
  w.varint(by_reason.size());
  for (const auto& [k, v] : by_reason) {
    w.str(k);
    w.varint(v);
  }
}

void load_counters(detail::BinaryReader& r, EngineCounters& c,
                   std::map<std::string, std::uint64_t, std::less<>>& by_reason) {
  c.records = r.varint();
  c.transactions = r.varint();
  c.status_changes = r.varint();
  c.flag_changes = r.varint();
  c.rejected = r.varint();
  c.late_rejected = r.varint();
  c.flagged_hits = r.varint();
  for (auto& v : c.decisions) v = r.varint();
  for (auto& row : c.labelled) {
    for (auto& v : row) v = r.varint();
  }
  c.reason_hits.resize(r.count(1));
  for (auto& v : c.reason_hits) v = r.varint();
  const std::uint64_t n = r.count(2);
  for (std::uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string k(r.str());
    by_reason[k] = r.varint();
  }
}

}  // namespace

Status Engine::snapshot(std::ostream& out) const {
  const Impl& m = *impl_;
  detail::BinaryWriter w;
  w.str(feature_signature(m.config));
  w.str(m.config.version);
  save_counters(w, m.counters, m.rejected_by_reason);
  std::string rollups;
  m.rollups.save(rollups);
  w.str(rollups);
  if (Status s = detail::write_frame(out, kEngineMagic, kEngineVersion, w.data()); !s.ok())
    return s;
  if (Status s = m.dict.save(out); !s.ok()) return s;
  if (Status s = m.store.snapshot(out); !s.ok()) return s;
  return m.flags.snapshot(out);
}

Status Engine::restore(std::istream& in) {
  Impl& m = *impl_;
  std::string payload;
  std::uint32_t version = 0;
  if (Status s = detail::read_frame(in, kEngineMagic, kEngineVersion, payload, version); !s.ok())
    return s;
  detail::BinaryReader r(payload);
  const std::string signature(r.str());
  const std::string config_version(r.str());
  EngineCounters counters;
  std::map<std::string, std::uint64_t, std::less<>> by_reason;
  load_counters(r, counters, by_reason);
  const std::string_view rollup_bytes = r.str();
  if (!r.ok() || !r.at_end())
    return {ErrorCode::kCorrupt, "engine snapshot: malformed header section"};
  if (signature != feature_signature(m.config)) {
    return {ErrorCode::kInvalidArgument,
            "engine snapshot: taken with other feature declarations (or lateness / limits) than "
            "this engine's "
            "config (version '" +
                config_version + "'); restore into an engine built from that config"};
  }
  Rollups rollups;
  if (Status s = rollups.load(rollup_bytes); !s.ok()) return s;
  // Everything is restored into fresh objects first, and swapped in only when all of it read
  // cleanly, so a bad image leaves the engine as it was.
  Dictionary dict;
  if (Status s = dict.load(in); !s.ok()) return s;
  Result<FeatureStore> store = FeatureStore::create(m.config, dict);
  if (!store.ok()) return store.status();
  if (Status s = store->restore(in); !s.ok()) return s;
  FlagSet flags;
  if (Status s = flags.restore(in); !s.ok()) return s;
  // The rule program holds dictionary ids of its string literals: recompile against the
  // restored dictionary.
  Result<Scorer> scorer = Scorer::compile(m.config, store->column_names(), dict);
  if (!scorer.ok()) return scorer.status();

  m.dict = std::move(dict);
  m.store = std::move(store).value();
  m.flags = std::move(flags);
  m.set_scorer(std::move(scorer).value());
  m.rollups = std::move(rollups);
  m.counters = std::move(counters);
  m.rejected_by_reason = std::move(by_reason);
  m.counters.reason_hits.resize(m.scorer->rule_count() + m.scorer->model_terms());
  m.remember_config_flag_keys();
  return {};
}

Dictionary& Engine::dictionary() noexcept { return impl_->dict; }
const Dictionary& Engine::dictionary() const noexcept { return impl_->dict; }
const Config& Engine::config() const noexcept { return impl_->config; }
std::span<const std::string> Engine::feature_names() const noexcept {
  return impl_->store.column_names();
}
std::string_view Engine::reason_id(ReasonCode code) const noexcept {
  const std::size_t slot =
      code >= kModelReasonBase ? impl_->scorer->rule_count() + (code - kModelReasonBase) : code;
  return slot < impl_->reason_ids.size() ? std::string_view(impl_->reason_ids[slot])
                                         : std::string_view();
}
std::string_view Engine::reason_text(ReasonCode code) const noexcept {
  return impl_->scorer->reason_text(code);
}
std::size_t Engine::reason_count() const noexcept {
  return impl_->scorer->rule_count() + impl_->scorer->model_terms();
}
std::size_t Engine::rule_count() const noexcept { return impl_->scorer->rule_count(); }
std::string_view Engine::arch() const noexcept { return impl_->scorer->arch_name(); }

const EngineCounters& Engine::counters() const noexcept {
  Impl& m = *impl_;
  if (m.ingestor) m.counters.records = m.ingestor->stats().records;
  m.counters.rejected_by_reason.assign(m.rejected_by_reason.begin(), m.rejected_by_reason.end());
  return m.counters;
}
const Rollups& Engine::rollups() const noexcept { return impl_->rollups; }
LatencySummary Engine::score_latency() const noexcept { return impl_->score_latency.summary(); }
LatencySummary Engine::batch_latency() const noexcept { return impl_->batch_latency.summary(); }
void Engine::reset_latency() noexcept {
  impl_->score_latency = {};
  impl_->batch_latency = {};
}
std::size_t Engine::memory_bytes() const noexcept {
  return impl_->store.stats().bytes() + impl_->flags.memory_bytes() + impl_->dict.memory_bytes();
}

}  // namespace vigil
