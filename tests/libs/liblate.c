/* liblate.c: a library the test target loads and unloads on command (the
 * kernel selftests' "module" that comes and goes). Its constructor and
 * destructor call late_answer() and append what they saw to $LATE_LOG, so a
 * test sees whether the patch was in place before the library's own code
 * ran and until its destructors finished. */
#include <stdio.h>
#include <stdlib.h>

#define PATCHABLE __attribute__((noinline, patchable_function_entry(16, 14)))

int late_answer(void);

PATCHABLE static int late_secret(void) {
	__asm__ volatile("");
	return 1000;
}

PATCHABLE int late_answer(void) {
	__asm__ volatile("");
	return late_secret() / 1000 * 7;
}

#ifdef OTHER_BUILD
__attribute__((used)) static const char other_build[] = "another build of liblate";
#endif

static void note(const char *what) {
	const char *path = getenv("LATE_LOG");
	FILE *f = path ? fopen(path, "a") : NULL;
	if (!f)
		return;
	fprintf(f, "%s %d\n", what, late_answer());
	fclose(f);
}

__attribute__((constructor)) static void late_init(void) { note("constructor saw"); }
__attribute__((destructor)) static void late_fini(void) { note("destructor saw"); }
