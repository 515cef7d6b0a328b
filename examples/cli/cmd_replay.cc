// vigil replay: streams a file (or stdin) through an Engine and writes decisions, features or
// alerts, then a summary on stderr (with detection quality when the input carries is_fraud).
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/io.h"
#include "cli/report.h"
#include "model/text.h"
#include "vigil/engine.h"

namespace vigil::cli {
namespace {

struct ReplayArgs {
  std::string config;
  std::string format = "auto";
  std::string emit = "decisions";
  std::string out = "-";
  std::string rollups;
  std::size_t chunk_bytes = 1 << 20;
  std::string input;
  bool quiet = false;
};

void append_decision(std::string& o, const Engine& engine, std::string_view trans_num,
                     const Decision& d) {
  o += "{\"trans_num\":";
  detail::append_json_string(o, trans_num);
  char buf[16];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d.score);
  o += ",\"score\":";
  o.append(buf, end);
  o += ",\"decision\":\"";
  o += action_name(d.action);
  o += "\",\"reasons\":[";
  for (std::size_t k = 0; k < d.reason_count; ++k) {
    if (k) o.push_back(',');
    detail::append_json_string(o, engine.reason_id(d.reasons[k]));
  }
  o += "]}\n";
}

class Progress {
 public:
  explicit Progress(std::uint64_t total) : total_(total), enabled_(::isatty(STDERR_FILENO) == 1) {}
  void update(std::uint64_t bytes, std::uint64_t records) {
    if (!enabled_) return;
    const double now = seconds_now();
    if (now - last_ < 0.2) return;
    last_ = now;
    if (total_ > 0) {
      const double f = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_));
      const int filled = static_cast<int>(f * 30);
      std::fprintf(stderr, "\r[%.*s%*s] %5.1f%%  %s records", filled,
                   "##############################", 30 - filled, "", 100 * f,
                   with_commas(records).c_str());
    } else {
      std::fprintf(stderr, "\r%s bytes, %s records", with_commas(bytes).c_str(),
                   with_commas(records).c_str());
    }
  }
  void done() {
    if (enabled_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  std::uint64_t total_;
  bool enabled_;
  double last_ = 0;
};

int run_replay(const ReplayArgs& a) {
  std::string config_text;
  if (!a.config.empty()) {
    std::string error;
    if (!read_file(a.config, config_text, error)) {
      std::fprintf(stderr, "vigil replay: %s\n", error.c_str());
      return kUsageError;
    }
  }
  EngineOptions options;
  if (a.format == "ndjson")
    options.format = InputFormat::kNdjson;
  else if (a.format == "csv")
    options.format = InputFormat::kCsv;
  else if (a.format == "cdc")
    options.format = InputFormat::kCdc;
  Result<Engine> made = a.config.empty() ? Engine::create_default(options)
                                         : Engine::create_from_json(config_text, options);
  if (!made.ok()) {
    std::fprintf(stderr, "vigil replay: %s: %s\n",
                 a.config.empty() ? "default config" : a.config.c_str(),
                 made.status().message().c_str());
    return 1;
  }
  Engine& engine = *made;

  Input in(a.input);
  if (!in.ok()) {
    std::fprintf(stderr, "vigil replay: %s\n", in.error().c_str());
    return kUsageError;
  }
  Output out(a.emit == "none" ? std::string("/dev/null") : a.out);
  if (!out.ok()) {
    std::fprintf(stderr, "vigil replay: %s\n", out.error().c_str());
    return kUsageError;
  }

  DetectionReport report(engine);
  const bool emit_decisions = a.emit == "decisions";
  const bool emit_alerts = a.emit == "alerts";
  engine.set_decision_sink([&](const TransactionBatch& b, std::span<const Decision> d) {
    report.add(b, d);
    if (!emit_decisions && !emit_alerts) return;
    std::string& o = out.buffer();
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (emit_alerts && d[i].action == Action::kApprove) continue;
      append_decision(o, engine, b.trans_num[i].view(), d[i]);
    }
    out.maybe_flush();
  });
  if (a.emit == "features") {
    std::string& o = out.buffer();
    o += "trans_num";
    for (const std::string& name : engine.feature_names()) {
      o.push_back(',');
      detail::append_csv_field(o, name);
    }
    o.push_back('\n');
    engine.set_feature_sink(
        [&](const TransactionBatch& b, std::span<const std::string> names, const FeatureMatrix& m) {
          std::string& o = out.buffer();
          char buf[32];
          for (std::size_t i = 0; i < b.size(); ++i) {
            detail::append_csv_field(o, b.trans_num[i].view());
            for (std::size_t j = 0; j < names.size(); ++j) {
              o.push_back(',');
              const double v = m.at(i, j);
              if (std::isnan(v)) continue;  // missing: empty field
              const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
              o.append(buf, end);
            }
            o.push_back('\n');
          }
          out.maybe_flush();
        });
  }

  Progress progress(in.size());
  std::string chunk(std::max<std::size_t>(a.chunk_bytes, 1), '\0');
  std::uint64_t bytes = 0;
  const double t0 = seconds_now();
  while (true) {
    const std::size_t n = in.read(chunk);
    if (n == 0) break;
    bytes += n;
    if (Status s = engine.feed(std::string_view(chunk.data(), n)); !s.ok()) {
      progress.done();
      std::fprintf(stderr, "vigil replay: %s\n", s.message().c_str());
      return 1;
    }
    progress.update(bytes, engine.counters().records);
  }
  if (in.failed()) {
    progress.done();
    std::fprintf(stderr, "vigil replay: read error on '%s'\n", a.input.c_str());
    return 1;
  }
  if (Status s = engine.finish(); !s.ok()) {
    progress.done();
    std::fprintf(stderr, "vigil replay: %s\n", s.message().c_str());
    return 1;
  }
  const double seconds = seconds_now() - t0;
  progress.done();
  if (!out.close()) {
    std::fprintf(stderr, "vigil replay: %s\n", out.error().c_str());
    return 1;
  }
  if (!a.rollups.empty()) {
    Output r(a.rollups);
    const bool csv = a.rollups.size() > 4 && a.rollups.substr(a.rollups.size() - 4) == ".csv";
    r.buffer() = csv ? engine.rollups().to_csv(engine.dictionary())
                     : engine.rollups().to_json(engine.dictionary());
    if (!r.close()) {
      std::fprintf(stderr, "vigil replay: %s\n", r.error().c_str());
      return 1;
    }
  }
  if (!a.quiet) report.print(stderr, bytes, seconds);
  return 0;
}

}  // namespace

Runner add_replay(CLI::App& app) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* cmd =
      app.add_subcommand("replay", "Stream transactions through the engine and report decisions");
  cmd->footer(
      "Reads INPUT (a file, or - for stdin) in --chunk-bytes chunks; output is identical for any "
      "chunk size.\n"
      "--emit decisions: NDJSON {\"trans_num\",\"score\",\"decision\",\"reasons\"} per "
      "transaction\n"
      "--emit features:  CSV, trans_num then every built-in and declared feature (shortest "
      "round-trip numbers,\n"
      "                  empty when missing)\n"
      "--emit alerts:    the decisions in review or decline only\n"
      "--emit none:      only the summary\n"
      "A summary goes to stderr: records, rejected (by reason), throughput, decisions by class "
      "and, when the\n"
      "input has is_fraud labels, precision, recall, alert rate per class, top rules and a "
      "per-state table.");
  cmd->add_option("--config", args->config, "Config JSON file (default: the built-in config)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--format", args->format, "Input format")
      ->check(CLI::IsMember({"auto", "ndjson", "csv", "cdc"}))
      ->capture_default_str();
  cmd->add_option("--emit", args->emit, "What to write")
      ->check(CLI::IsMember({"decisions", "features", "alerts", "none"}))
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Output file (- for stdout)")->capture_default_str();
  cmd->add_option("--rollups", args->rollups,
                  "Also write dashboard rollups to FILE (.json or .csv)");
  cmd->add_option("--chunk-bytes", args->chunk_bytes, "Bytes read per feed() call")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30))
      ->capture_default_str();
  cmd->add_flag("--quiet", args->quiet, "No summary on stderr");
  cmd->add_option("INPUT", args->input, "Input file, or - for stdin")->required();
  return [args] { return run_replay(*args); };
}

}  // namespace vigil::cli
