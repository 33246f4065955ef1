/* libe2e.c: a shared library with a function to patch and a static one a
 * patch calls. */
#include "target.h"
PATCHABLE __attribute__((used)) static int lib_secret(void) {
	__asm__ volatile("");
	return VALUE(500);
}

PATCHABLE int lib_answer(void) {
	__asm__ volatile("");
	return lib_secret() - 400;
}
