// The vigil CLI's subcommands. Each lives in its own cmd_<name>.cc and registers itself with
// add_<name>(app): it creates its CLI::App subcommand, binds its options, and returns the
// function to run when that subcommand is selected (the function returns the exit code).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace vigil::cli {

using Runner = std::function<int()>;

Runner add_generate(CLI::App& app);
Runner add_replay(CLI::App& app);
Runner add_config(CLI::App& app);
Runner add_train(CLI::App& app);

/// Exit code for a bad option or value (after a one-line message on stderr).
inline constexpr int kUsageError = 2;

}  // namespace vigil::cli
