/*
 * funcs.c: the target of the patch-size benchmark (transition.py,
 * docs/design.md "Benchmarks"): 1000 patchable functions, func_000() to
 * func_999(), which livepatch-bench-funcs-1000.so replaces all and
 * livepatch-bench-funcs-1.so one of. One thread: the main thread prints
 * `ready` and blocks in read() on stdin until `quit` or the end of input,
 * so each patch meets an idle process and only its size differs.
 */
#include <stdio.h>
#include <string.h>

#include "funcs.h"

/* noipa: 1000 distinct functions (no identical-code folding) with no
 * assumptions in their callers. */
#define DEFINE_FUNC(n) __attribute__((noipa)) int func_##n(int x) { return x * 2 + 1; }
FUNCS_1000(DEFINE_FUNC)

int main(void)
{
	printf("ready\n");
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof line, stdin) && strncmp(line, "quit", 4) != 0)
		;
	return 0;
}
