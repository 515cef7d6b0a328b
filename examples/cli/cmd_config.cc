// `vigil config`: check a configuration document, or print the built-in default.
//
//   vigil config --check rules.json     FILE:LINE:COLUMN: rule ID: message  (exit 1)
//                                       FILE: model term 'TERM', column N: message
//                                       ok: 8 features, 12 rules, model with 5 terms, 1 flags
//   vigil config --print-default
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "vigil/config.h"
#include "vigil/features.h"
#include "vigil/score.h"

namespace vigil::cli {
namespace {

int check(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "vigil config: cannot open %s\n", path.c_str());
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto config = parse_config(text.str());
  if (!config.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), config.status().message().c_str());
    return 1;
  }
  // The scorer sees the feature store's columns: built-ins, then declared features.
  std::vector<std::string> columns;
  for (std::string_view b : builtin_feature_names()) columns.emplace_back(b);
  for (const FeatureSpec& f : config->features) columns.push_back(f.name);

  Dictionary dict;
  const std::vector<RuleError> errors = Scorer::check(*config, columns, dict);
  for (const RuleError& e : errors) {
    if (e.rule_id.empty()) {  // a model term: the message names the term and the column in it
      std::fprintf(stderr, "%s: %s\n", path.c_str(), e.message.c_str());
    } else {
      std::fprintf(stderr, "%s:%u:%u: rule %s: %s\n", path.c_str(), e.line, e.column,
                   e.rule_id.c_str(), e.message.c_str());
    }
  }
  if (!errors.empty()) return 1;
  // Compile too: it also checks thresholds, scores and flags the parser does not see.
  auto scorer = Scorer::compile(*config, columns, dict, {ScoreArch::kScalar});
  if (!scorer.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), scorer.status().message().c_str());
    return 1;
  }
  FlagSet flags;
  for (const FlagSpec& f : config->flags) {
    if (Status st = flags.add(f, dict); !st.ok()) {
      std::fprintf(stderr, "%s: flags: %s\n", path.c_str(), st.message().c_str());
      return 1;
    }
  }
  std::printf("ok: %zu features, %zu rules, model with %zu terms, %zu flags\n",
              config->features.size(), config->rules.size(), scorer->model_terms(),
              config->flags.size());
  return 0;
}

}  // namespace

Runner add_config(CLI::App& app) {
  auto* cmd = app.add_subcommand("config", "Check a configuration file or print the default");
  auto file = std::make_shared<std::string>();
  auto print_default = std::make_shared<bool>(false);
  auto* check_opt = cmd->add_option("--check", *file, "Validate FILE: JSON, rules, model, flags")
                        ->type_name("FILE");
  auto* print_opt =
      cmd->add_flag("--print-default", *print_default, "Print the built-in default configuration");
  check_opt->excludes(print_opt);
  cmd->require_option(1);
  return [file, print_default]() {
    if (*print_default) {
      const std::string_view json = default_config_json();
      std::fwrite(json.data(), 1, json.size(), stdout);
      if (!json.empty() && json.back() != '\n') std::fputc('\n', stdout);
      return 0;
    }
    return check(*file);
  };
}

}  // namespace vigil::cli
