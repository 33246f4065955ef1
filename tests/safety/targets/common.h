/* common.h: what every safety target shares. A target reads one command
 * per line on stdin and answers "<command>=<result>" on stdout, after a
 * first "ready" line (the protocol of tests/e2e/uklp_e2e.py's Target).
 * Functions the patches replace are PATCHABLE: never inlined, and their
 * results never propagated into callers, as in tests/e2e/targets/target.h. */
#pragma once

#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef __clang__
#define PATCHABLE __attribute__((noinline, optnone))
#else
#define PATCHABLE __attribute__((noipa))
#endif

#ifdef __cplusplus
#define SAFETY_C extern "C"
#else
#define SAFETY_C
#endif

/* Prints "ready" and returns the next command (without its newline), or
 * NULL at the end of stdin. */
static inline const char *next_command(char *line, size_t size) {
	static int started;
	if (!started) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		printf("ready\n");
		started = 1;
	}
	if (!fgets(line, (int)size, stdin)) return NULL;
	line[strcspn(line, "\n")] = 0;
	return line;
}

static inline long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The first error a target saw, kept for its report. */
static inline void note_first_error(char *slot, size_t size, const char *what) {
	if (!slot[0]) snprintf(slot, size, "%s", what);
}
