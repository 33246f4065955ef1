/* ctor.c: a program whose library (targets/ctor_early.c) calls malloc and
 * starts a thread in its constructor, before the runtime's constructor
 * runs; the program and that library are patched and unpatched again and
 * again. Workers of the program call the patched ct_value() (x + 1000, the
 * patch's x + 2000).
 *
 * Commands: start N, order ("constructor ok,runtime was up": 1,0 when the
 * library's constructor started its thread before the runtime's
 * constructor bound the control socket), values X (ct_value and ce_value
 * called by the main thread), report (calls,bad,patched,early calls,early
 * bad,early patched,first error), quit. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"
#include "value_worker.h"

extern atomic_long ce_calls, ce_bad, ce_patched;
extern int ce_constructor_ok, ce_runtime_was_up;
int ce_value(int x);

PATCHABLE int ct_value(int x) {
	return x + 1000 + *(volatile int *)&(int){ 0 };
}

int main(void) {
	char line[256];
	while (next_command(line, sizeof line)) {
		int n;
		if (!strcmp(line, "report")) {
			printf("report=%ld,%ld,%ld,%ld,%ld,%ld,%s\n", value_calls, value_bad, value_patched, ce_calls, ce_bad,
			       ce_patched, value_first_error[0] ? value_first_error : "none");
		} else if (sscanf(line, "values %d", &n) == 1) {
			printf("values=%d,%d\n", ct_value(n), ce_value(n));
		} else if (!strcmp(line, "order")) {
			printf("order=%d,%d\n", ce_constructor_ok, ce_runtime_was_up);
		} else if (!value_command(line, ct_value)) {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
