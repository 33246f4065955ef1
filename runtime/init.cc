// init.cc: the runtime's start-up: bind the control socket and start the
// control thread. Nothing else happens until a patch is loaded (no code is
// touched, no signal handler installed; only the membarrier registration,
// cheap while the process has one thread), so an unpatched program runs
// exactly as without uklp. UKLP_DISABLE=1 turns the runtime off; so does
// `control = off` in the patch policy (policy.h) for the programs it names.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "policy.h"
#include "task.h"
#include "text_poke.h"

namespace {

// Whether the policy turns the control socket off for this program. Only a
// policy file's presence is checked inline: an idle process without one
// runs nothing of policy.cc (runtime/resident.ld).
bool control_off_by_policy() {
  if (!getenv("UKLP_POLICY") && access(uklp::rt::kDefaultPolicyFile, F_OK) != 0) return false;
  auto pol = uklp::rt::read_policy();
  if (!pol) {
    // The socket stays on, so that the error can be read (`uklp dmesg`);
    // every load is refused with it.
    uklp::rt::log_line(uklp::rt::Level::err, "uklp: " + pol.status().message());
    return false;
  }
  if (pol->control) return false;
  uklp::rt::log_line(uklp::rt::Level::notice, "uklp: the control socket is off (" + pol->file + ")");
  return true;
}

__attribute__((constructor)) void uklp_runtime_init() {
  const char* off = getenv("UKLP_DISABLE");
  if (off && strcmp(off, "1") == 0) return;
  uklp::rt::log_init();
  uklp::rt::task_init();
  if (control_off_by_policy()) return;
  uklp::rt::text_preregister();  // before the control thread starts
  uklp::Status s = uklp::rt::control_start();
  if (!s) fprintf(stderr, "uklp: warning: runtime not started: %s\n", s.describe().c_str());
}

}  // namespace
