// control.h: the per-process control socket and the attribute tree (the
// kernel's /sys/kernel/livepatch, /sys/module/*/parameters and
// /proc/*/task/*/patch_state), served by one runtime thread. The protocol
// is lib/protocol.h's.
#pragma once

#include "result.h"

namespace uklp::rt {

// Binds "\0uklp/<pid>" and starts the control thread. Called at start-up
// and again in the child after fork().
Status control_start();

}  // namespace uklp::rt
