/* target_a.c: one of two static functions named helper() (sympos 1), and
 * a static variable the patches read. */
#include "target.h"
static int counter = 5;

PATCHABLE __attribute__((used)) static int helper(int x) {
	__asm__ volatile("");
	return x + 100;
}

int read_counter(void) { return counter; }
void bump_counter(void) { counter++; }

PATCHABLE int compute(int x) {
	__asm__ volatile("");
	return helper(x);
}
