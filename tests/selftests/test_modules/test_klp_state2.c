// SPDX-License-Identifier: GPL-2.0
/* test_klp_state2.c: port of the kernel selftests' test_klp_state2: the
 * console_loglevel state in version 2, which supports migration. */
#define CONSOLE_LOGLEVEL_STATE_VERSION 2
#include "test_klp_state.c"
