// init.cc: the runtime's start-up: bind the control socket and start the
// control thread. Nothing else happens until a patch is loaded (no code is
// touched, no signal handler installed), so an unpatched program runs
// exactly as without uklp. UKLP_DISABLE=1 turns the runtime off.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "control.h"
#include "log.h"
#include "task.h"

namespace {

__attribute__((constructor)) void uklp_runtime_init() {
  const char* off = getenv("UKLP_DISABLE");
  if (off && strcmp(off, "1") == 0) return;
  uklp::rt::log_init();
  uklp::rt::task_init();
  uklp::Status s = uklp::rt::control_start();
  if (!s) fprintf(stderr, "uklp: warning: runtime not started: %s\n", s.describe().c_str());
}

}  // namespace
