// `vigil generate`: writes a synthetic Sparkov-schema stream (CSV or NDJSON) and a summary.
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "vigil/generate.h"

namespace vigil::cli {
namespace {

struct GenerateArgs {
  GeneratorOptions options;
  std::string start = "2019-01-01";
  std::string format = "csv";
  std::string out;  // empty: stdout
};

// Output is flushed in blocks of this size: one fwrite per ~1 MiB keeps syscalls rare.
constexpr std::size_t kFlushBytes = 1 << 20;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept {
    if (f != nullptr && f != stdout) std::fclose(f);
  }
};

bool write_all(std::FILE* f, const std::string& buf) {
  return std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
}

void print_summary(const Generator& gen, const std::vector<std::uint64_t>& per_category) {
  const GeneratorStats& s = gen.stats();
  const double rate =
      s.transactions == 0 ? 0.0 : static_cast<double>(s.fraud_transactions) / s.transactions;
  const std::uint64_t events = s.status_changes + s.flags + s.unflags;
  std::fprintf(stderr,
               "vigil generate: %llu rows (%llu transactions, %llu events), %llu cards, %zu "
               "merchants\n",
               static_cast<unsigned long long>(s.transactions + events),
               static_cast<unsigned long long>(s.transactions),
               static_cast<unsigned long long>(events),
               static_cast<unsigned long long>(gen.options().cards), gen.merchant_count());
  std::fprintf(stderr, "  fraud: %llu transactions (%.3f%%)\n",
               static_cast<unsigned long long>(s.fraud_transactions), 100.0 * rate);
  if (gen.options().with_events) {
    std::fprintf(stderr, "  events: %llu status (disputed), %llu flag, %llu unflag\n",
                 static_cast<unsigned long long>(s.status_changes),
                 static_cast<unsigned long long>(s.flags),
                 static_cast<unsigned long long>(s.unflags));
  }
  std::fprintf(stderr, "  %-16s %10s %7s\n", "category", "rows", "share");
  const Dictionary& dict = gen.dictionary();
  for (StrId id = 0; id < per_category.size(); ++id) {
    if (per_category[id] == 0) continue;
    const std::string name(dict.view(id));
    std::fprintf(stderr, "  %-16s %10llu %6.2f%%\n", name.c_str(),
                 static_cast<unsigned long long>(per_category[id]),
                 100.0 * static_cast<double>(per_category[id]) /
                     static_cast<double>(std::max<std::uint64_t>(s.transactions, 1)));
  }
}

int run_generate(GenerateArgs& args) {
  const std::optional<Micros> start = parse_timestamp(args.start);
  if (!start) {
    std::fprintf(stderr, "vigil generate: --start: not a date or timestamp: '%s'\n",
                 args.start.c_str());
    return kUsageError;
  }
  args.options.start = *start;
  const OutputFormat format = *output_format_from_name(args.format);  // CLI11 checked it
  if (args.options.with_events && format == OutputFormat::kCsv) {
    std::fprintf(stderr,
                 "vigil generate: --with-events needs --format ndjson (CSV holds transactions "
                 "only)\n");
    return kUsageError;
  }
  Result<Generator> gen = Generator::create(args.options);
  if (!gen.ok()) {
    std::fprintf(stderr, "vigil generate: %s\n", gen.status().message().c_str());
    return kUsageError;
  }

  std::unique_ptr<std::FILE, FileCloser> file(stdout);
  if (!args.out.empty()) {
    file.reset(std::fopen(args.out.c_str(), "wb"));
    if (!file) {
      std::fprintf(stderr, "vigil generate: cannot open '%s': %s\n", args.out.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }

  RecordWriter writer(format, gen->dictionary());
  std::string buf;
  buf.reserve(kFlushBytes + (64 << 10));
  writer.append_header(buf);
  std::vector<std::uint64_t> per_category;
  GeneratedRecord rec;
  bool ok = true;
  while (ok && gen->next(rec)) {
    if (rec.kind == RecordKind::kTransaction) {
      const StrId c = rec.transaction.category;
      if (c >= per_category.size()) per_category.resize(c + 1);
      ++per_category[c];
    }
    (void)writer.append(rec, buf);  // cannot fail: events only come with NDJSON
    if (buf.size() >= kFlushBytes) {
      ok = write_all(file.get(), buf);
      buf.clear();
    }
  }
  ok = ok && write_all(file.get(), buf) && std::fflush(file.get()) == 0;
  if (!ok) {
    std::fprintf(stderr, "vigil generate: write failed: %s\n", std::strerror(errno));
    return 1;
  }
  print_summary(*gen, per_category);
  return 0;
}

}  // namespace

Runner add_generate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "generate",
      "Write a synthetic card-transaction stream in the Sparkov / Kaggle schema (CSV or "
      "NDJSON): realistic customers, merchants, amounts per category, daily rhythm, and fraud "
      "bursts labelled is_fraud=1. Deterministic: the same options give the same bytes. A "
      "summary goes to stderr.");
  cmd->add_option("--cards", args->options.cards, "Number of cards (customers)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100'000'000}))
      ->capture_default_str();
  cmd->add_option("--days", args->options.days, "Length of the simulated period in days")
      ->check(CLI::Range(1, 36'600))
      ->capture_default_str();
  cmd->add_option("--seed", args->options.seed, "Random seed")->capture_default_str();
  cmd->add_option("--start", args->start,
                  "First day (UTC), \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM:SS\"")
      ->capture_default_str();
  cmd->add_option("--fraud-rate", args->options.fraud_rate,
                  "Fraction of transactions that are fraud, in [0, 0.5)")
      ->capture_default_str();  // range checked by GeneratorOptions::validate: [0, 0.5)
  cmd->add_option("--format", args->format, "Output format")
      ->check(CLI::IsMember({"csv", "ndjson"}))
      ->capture_default_str();
  cmd->add_flag("--with-events", args->options.with_events,
                "Interleave dispute, flag and unflag records (NDJSON only)");
  cmd->add_option("--out", args->out, "Output file (default: stdout)");
  cmd->footer(
      "Formats: csv is the Kaggle fraudTrain.csv layout (leading index column, RFC 4180 "
      "quoting); ndjson has one object per line with the same field names, plus event lines "
      "{\"type\":\"status\"|\"flag\"|\"unflag\", ...} with --with-events (see "
      "vigil/generate.h).\n\nExamples:\n"
      "  vigil generate --cards 1000 --days 180 > train.csv\n"
      "  vigil generate --cards 10000 --days 30 --seed 7 --format ndjson --with-events "
      "--out stream.ndjson");
  return [args] { return run_generate(*args); };
}

}  // namespace vigil::cli
