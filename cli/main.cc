// main.cc: the `uklp` command line, as a table of contents.
//
// Every subcommand lives in its own cmd_*.cc; this file only registers them,
// parses the command line and runs the chosen one. Errors follow one rule
// everywhere (output.h): exactly one `uklp: error: MESSAGE (ERRNO TEXT)` line
// on stderr and a non-zero exit code; with --json also {"error", "errno"} on
// stdout. See docs/cli.md.
#include <cerrno>
#include <vector>

#include "cli.h"
#include "output.h"

using namespace uklp::cli;

namespace {

// CLI11 reports bad command lines itself; turn them into our error line.
int parse_command_line(CLI::App& app, Context& ctx, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_error(ctx, uklp::error(EINVAL, e.what()), kExitUsage);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"uklp: live patching for user-space processes, after the kernel's livepatch"};
  app.name("uklp");
  Context ctx;
  app.add_flag("--json", ctx.json, "Machine-readable JSON output on stdout");
  app.set_version_flag("--version", "uklp " UKLP_CLI_VERSION);
  app.fallthrough();  // --json is accepted after the subcommand name too
  app.require_subcommand(1);

  const std::vector<Subcommand> commands = {
      add_run_command(app),      // run a program with the runtime preloaded
      add_load_command(app),     // load a patch module into a process, enable it
      add_disable_command(app),  // disable a patch (echo 0 > enabled)
      add_unload_command(app),   // remove a disabled patch module (rmmod)
      add_list_command(app),     // the patches of a process, or the patchable processes
      add_status_command(app),   // the transition in progress, and what blocks it
      add_sys_command(app),      // read or write one attribute of the sysfs-like tree
      add_dmesg_command(app),    // the runtime's log
      add_info_command(app),     // offline: what is inside a patch module
      add_keygen_command(app),   // offline: a key pair for signing patch modules
      add_sign_command(app),     // offline: sign a patch module
  };

  if (int rc = parse_command_line(app, ctx, argc, argv); rc >= 0) return rc;
  for (const auto& c : commands)
    if (c.app->parsed()) return c.run(ctx);
  return report_error(ctx, uklp::error(EINVAL, "no subcommand given"), kExitUsage);
}
