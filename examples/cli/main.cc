// vigil — command-line front end: generate, replay, train, config.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"vigil: in-process streaming card-fraud scoring", "vigil"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "vigil 0.1.0");

  std::vector<std::pair<CLI::App*, vigil::cli::Runner>> commands;
  auto add = [&](vigil::cli::Runner (*adder)(CLI::App&)) {
    const std::size_t before = app.get_subcommands({}).size();
    vigil::cli::Runner run = adder(app);
    commands.emplace_back(app.get_subcommands({}).at(before), std::move(run));
  };
#ifdef VIGIL_CLI_HAS_generate
  add(&vigil::cli::add_generate);
#endif
#ifdef VIGIL_CLI_HAS_replay
  add(&vigil::cli::add_replay);
#endif
#ifdef VIGIL_CLI_HAS_train
  add(&vigil::cli::add_train);
#endif
#ifdef VIGIL_CLI_HAS_config
  add(&vigil::cli::add_config);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print their text and exit 0; every usage error is one line, exit 2.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "vigil: %s (see --help)\n", e.what());
    return vigil::cli::kUsageError;
  }
  for (auto& [sub, run] : commands) {
    if (sub->parsed()) return run();
  }
  return vigil::cli::kUsageError;
}
