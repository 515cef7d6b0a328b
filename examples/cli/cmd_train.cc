// vigil train: fits the logistic model of a config on labelled transactions, places the review
// and decline thresholds at a target alert rate, writes the config, and prints held-out metrics.
//
// The input is read once, in stream order, through an engine with the base config (so features
// are exactly what production computes). The first (1 − holdout) of the labelled rows train the
// model; a second pass scores everything with the new model, the thresholds come from the
// training rows' scores, and precision / recall / alert rates are measured on the held-out rows
// (the latest ones in time, as a deployment would meet them).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/io.h"
#include "vigil/engine.h"
#include "vigil/train.h"

namespace vigil::cli {
namespace {

struct TrainArgs {
  std::string in;
  std::string out;
  std::string base;
  double alert_rate = 0.01;
  double decline_share = 0.25;
  double holdout = 0.3;
  double l2 = 1.0;
  double scale = 1000;
  std::vector<std::string> terms;
};

// Runs `input` through an engine built from `config` and calls `each` per scored batch.
template <typename Each>
Status run_engine(const Config& config, const std::string& input, Each&& each) {
  Result<Engine> engine = Engine::create(config);
  if (!engine.ok()) return engine.status();
  engine->set_model_term_sink([&](const TransactionBatch& b, std::span<const std::string> names,
                                  const FeatureMatrix& m) { each.terms(b, names, m); });
  engine->set_decision_sink(
      [&](const TransactionBatch& b, std::span<const Decision> d) { each.decisions(b, d); });
  constexpr std::size_t kChunk = 1 << 20;
  for (std::size_t pos = 0; pos < input.size(); pos += kChunk) {
    if (Status s = engine->feed(std::string_view(input).substr(pos, kChunk)); !s.ok()) return s;
  }
  return engine->finish();
}

struct Metrics {
  std::uint64_t fraud = 0, legit = 0, fraud_alerts = 0, legit_alerts = 0, fraud_declines = 0,
                legit_declines = 0;
  void add(bool is_fraud, std::int32_t score, const Thresholds& t) {
    const bool alert = score >= t.review, decline = score >= t.decline;
    if (is_fraud) {
      ++fraud;
      fraud_alerts += alert;
      fraud_declines += decline;
    } else {
      ++legit;
      legit_alerts += alert;
      legit_declines += decline;
    }
  }
  static double pct(std::uint64_t a, std::uint64_t b) {
    return b ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0;
  }
  void print(const char* title) const {
    std::fprintf(stderr, "%s: %s fraud, %s legitimate\n", title, with_commas(fraud).c_str(),
                 with_commas(legit).c_str());
    std::fprintf(stderr, "  fraud in review/decline       %6.2f%% (decline %.2f%%)\n",
                 pct(fraud_alerts, fraud), pct(fraud_declines, fraud));
    std::fprintf(stderr, "  legitimate in review/decline  %6.2f%% (decline %.2f%%)\n",
                 pct(legit_alerts, legit), pct(legit_declines, legit));
    std::fprintf(stderr, "  precision of alerts           %6.2f%%\n",
                 pct(fraud_alerts, fraud_alerts + legit_alerts));
  }
};

int run_train(const TrainArgs& a) {
  std::string error, input, base_text(default_config_json());
  if (!a.base.empty() && !read_file(a.base, base_text, error)) {
    std::fprintf(stderr, "vigil train: %s\n", error.c_str());
    return kUsageError;
  }
  Result<Config> base = parse_config(base_text);
  if (!base.ok()) {
    std::fprintf(stderr, "vigil train: %s: %s\n",
                 a.base.empty() ? "default config" : a.base.c_str(),
                 base.status().message().c_str());
    return 1;
  }
  if (!read_file(a.in, input, error)) {
    std::fprintf(stderr, "vigil train: %s\n", error.c_str());
    return kUsageError;
  }

  // Pass 1: the candidate terms' values and the labels, in stream order. The terms are the
  // base model's (refitted), those of --terms, or else every feature column.
  std::vector<std::string> names = a.terms;
  if (names.empty()) {
    for (const ModelSpec::Term& t : base->model.terms) names.push_back(t.feature);
  }
  if (names.empty()) {
    Result<Engine> probe = Engine::create(*base);
    if (!probe.ok()) {
      std::fprintf(stderr, "vigil train: %s\n", probe.status().message().c_str());
      return 1;
    }
    names.assign(probe->feature_names().begin(), probe->feature_names().end());
  }
  Config candidates = *base;
  candidates.model = ModelSpec{};
  candidates.model.kind = ModelSpec::Kind::kLogistic;
  candidates.model.scale = 0;
  for (const std::string& t : names) candidates.model.terms.push_back({t, 0.0, 0.0, 1.0});
  std::vector<double> rows;
  std::vector<std::uint8_t> labels;
  struct Collect {
    std::vector<double>& rows;
    std::vector<std::uint8_t>& labels;
    void terms(const TransactionBatch& b, std::span<const std::string> names,
               const FeatureMatrix& m) {
      for (std::size_t i = 0; i < b.size(); ++i) {
        if (b.is_fraud[i] != 0 && b.is_fraud[i] != 1) continue;
        labels.push_back(static_cast<std::uint8_t>(b.is_fraud[i]));
        for (std::size_t j = 0; j < names.size(); ++j) rows.push_back(m.at(i, j));
      }
    }
    void decisions(const TransactionBatch&, std::span<const Decision>) {}
  } collect{rows, labels};
  if (Status s = run_engine(candidates, input, collect); !s.ok()) {
    std::fprintf(stderr, "vigil train: %s\n", s.message().c_str());
    return 1;
  }
  const std::size_t n = labels.size(), p = names.size();
  const auto n_train =
      static_cast<std::size_t>(std::floor(static_cast<double>(n) * (1 - a.holdout)));
  if (n == 0 || n_train == 0 || p == 0) {
    std::fprintf(stderr, "vigil train: no labelled transactions (is_fraud) in '%s'\n",
                 a.in.c_str());
    return 1;
  }
  LogisticFitOptions fo;
  fo.l2 = a.l2;
  Result<LogisticFit> fit =
      fit_logistic(std::span(rows.data(), n_train * p), p, std::span(labels.data(), n_train), fo);
  if (!fit.ok()) {
    std::fprintf(stderr, "vigil train: %s\n", fit.status().message().c_str());
    return 1;
  }

  // Pass 2: scores of the new model with the base rules; thresholds from the training rows.
  Config trained = *base;
  trained.model = fit->to_model(names, a.scale);
  trained.thresholds = {1000, 1000};
  trained.version = (base->version.empty() ? std::string("config") : base->version) + "+trained";
  std::vector<std::int32_t> scores;
  scores.reserve(n);
  struct Scores {
    std::vector<std::int32_t>& scores;
    void terms(const TransactionBatch&, std::span<const std::string>, const FeatureMatrix&) {}
    void decisions(const TransactionBatch& b, std::span<const Decision> d) {
      for (std::size_t i = 0; i < b.size(); ++i) {
        if (b.is_fraud[i] == 0 || b.is_fraud[i] == 1) scores.push_back(d[i].score);
      }
    }
  } score_pass{scores};
  if (Status s = run_engine(trained, input, score_pass); !s.ok() || scores.size() != n) {
    std::fprintf(stderr, "vigil train: scoring pass failed: %s\n", s.message().c_str());
    return 1;
  }
  const std::span<const std::int32_t> train_scores(scores.data(), n_train);
  trained.thresholds.review = threshold_for_rate(train_scores, a.alert_rate);
  trained.thresholds.decline = std::max(
      trained.thresholds.review, threshold_for_rate(train_scores, a.alert_rate * a.decline_share));

  Output out(a.out);
  out.buffer() = to_json(trained);
  if (!out.close()) {
    std::fprintf(stderr, "vigil train: %s\n", out.error().c_str());
    return 1;
  }

  std::fprintf(
      stderr,
      "vigil train: %s labelled transactions, %zu features; trained on the first %s, held out %s\n",
      with_commas(n).c_str(), p, with_commas(n_train).c_str(), with_commas(n - n_train).c_str());
  std::fprintf(stderr, "  logistic fit: %d Newton steps%s, log loss %.5f, l2 %.3g\n",
               fit->iterations, fit->converged ? "" : " (not converged)", fit->log_loss, a.l2);
  std::vector<std::size_t> order(p);
  for (std::size_t j = 0; j < p; ++j) order[j] = j;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return std::abs(fit->weights[x]) > std::abs(fit->weights[y]);
  });
  std::fprintf(stderr, "  %-24s %10s %12s %12s\n", "feature", "weight", "mean", "std");
  for (const std::size_t j : order) {
    std::fprintf(stderr, "  %-24s %10.4f %12.4g %12.4g\n", names[j].c_str(), fit->weights[j],
                 fit->mean[j], fit->std[j]);
  }
  std::fprintf(stderr, "  thresholds: review %d, decline %d (target alert rate %.3g%%)\n",
               trained.thresholds.review, trained.thresholds.decline, 100 * a.alert_rate);
  Metrics train_m, held_m;
  for (std::size_t i = 0; i < n; ++i)
    (i < n_train ? train_m : held_m).add(labels[i] == 1, scores[i], trained.thresholds);
  train_m.print("training rows");
  if (held_m.fraud + held_m.legit > 0) held_m.print("held-out rows");
  std::fprintf(stderr, "wrote %s\n", a.out.c_str());
  return 0;
}

}  // namespace

Runner add_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd =
      app.add_subcommand("train", "Fit the logistic model and thresholds on labelled transactions");
  cmd->footer(
      "Computes the feature matrix with the feature store (exactly as replay does), fits an "
      "L2-regularised\n"
      "logistic regression by Newton's method on the first (1 - holdout) of the labelled rows, "
      "places the\n"
      "review threshold so that --alert-rate of the training rows alert and the decline threshold "
      "at\n"
      "--decline-share of that, writes the config (the base config with the new model and "
      "thresholds), and\n"
      "prints the weights and the metrics on training and held-out rows.");
  cmd->add_option("--in", args->in,
                  "Labelled transactions (CSV or NDJSON with is_fraud), - for stdin")
      ->required();
  cmd->add_option("--out", args->out, "Where to write the trained config JSON")->required();
  cmd->add_option("--base", args->base,
                  "Config whose features and rules to keep (default: built-in)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--alert-rate", args->alert_rate,
                  "Target share of transactions in review or decline")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--decline-share", args->decline_share,
                  "Share of the alerts that should be declines")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--holdout", args->holdout,
                  "Share of the labelled rows (the latest) held out for evaluation")
      ->check(CLI::Range(0.0, 0.9))
      ->capture_default_str();
  cmd->add_option("--l2", args->l2, "L2 penalty on standardised weights")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--scale", args->scale, "Model score scale (points for p = 1)")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  cmd->add_option("--terms", args->terms,
                  "Model terms: ';'-separated rule-language expressions (default: the base model's "
                  "terms, else every feature column)")
      ->delimiter(';');
  return [args] { return run_train(*args); };
}

}  // namespace vigil::cli
