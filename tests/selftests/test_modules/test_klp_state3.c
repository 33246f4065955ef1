// SPDX-License-Identifier: GPL-2.0
/* test_klp_state3.c: port of the kernel selftests' test_klp_state3: the
 * console loglevel fix is the same in the next cumulative patch. */
#include "test_klp_state2.c"
