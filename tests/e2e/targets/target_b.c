/* target_b.c: the second static helper() (sympos 2). */
#include "target.h"
PATCHABLE __attribute__((used)) static int helper(int x) {
	__asm__ volatile("");
	return x * 1000;
}

int helper_b_entry(int x) { return helper(x); }
