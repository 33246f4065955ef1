// cli.h: what the subcommands of `uklp` share: the global options, the exit
// codes and one registration function per subcommand (cmd_*.cc).
//
// Exit codes are part of the interface (docs/cli.md): scripts tell "the
// operation failed" from "bad command line" from "still in transition".
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace uklp::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // the operation failed; the error line says why
  kExitUsage = 2,        // bad command line
  kExitTimeout = 3,      // --timeout elapsed; the request goes on in the target
  kExitCannotExec = 126, // uklp run: PROGRAM was found but cannot be executed
  kExitNotFound = 127,   // uklp run: PROGRAM was not found
};

// Global options, given before or after the subcommand name.
struct Context {
  bool json = false;  // --json: machine-readable output on stdout
};

// A subcommand: its CLI11 node and what runs when it was chosen.
struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int(const Context&)> run;
};

Subcommand add_run_command(CLI::App& app);
Subcommand add_load_command(CLI::App& app);
Subcommand add_disable_command(CLI::App& app);
Subcommand add_unload_command(CLI::App& app);
Subcommand add_list_command(CLI::App& app);
Subcommand add_status_command(CLI::App& app);
Subcommand add_sys_command(CLI::App& app);
Subcommand add_dmesg_command(CLI::App& app);
Subcommand add_info_command(CLI::App& app);
Subcommand add_keygen_command(CLI::App& app);
Subcommand add_sign_command(CLI::App& app);

}  // namespace uklp::cli
