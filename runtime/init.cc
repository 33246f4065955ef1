// init.cc: the runtime's start-up: bind the control socket and start the
// control thread. Nothing else happens until a patch is loaded (no code is
// touched, no signal handler installed; only the membarrier registration,
// cheap while the process has one thread), so an unpatched program runs
// exactly as without uklp. UKLP_DISABLE=1 turns the runtime off.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "control.h"
#include "log.h"
#include "task.h"
#include "text_poke.h"

namespace {

__attribute__((constructor)) void uklp_runtime_init() {
  const char* off = getenv("UKLP_DISABLE");
  if (off && strcmp(off, "1") == 0) return;
  uklp::rt::log_init();
  uklp::rt::task_init();
  uklp::rt::text_preregister();  // before the control thread starts
  uklp::Status s = uklp::rt::control_start();
  if (!s) fprintf(stderr, "uklp: warning: runtime not started: %s\n", s.describe().c_str());
}

}  // namespace
