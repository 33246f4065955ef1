/* target_main.c: the e2e test target. Reads one command per line on stdin
 * and prints "<command>=<result>" for each, so a test sees what every
 * function returns before, during and after patching:
 *   answer | compute N | lib_answer | nopad | counter | spin N | quit
 * "spin N" starts N threads that call answer() in a tight loop and count
 * results that are neither the original (41) nor a patch's value; "check"
 * prints the number of calls and of bad results. */
#include "target.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int answer(void);
int compute(int x);
int lib_answer(void);
int nopad(void);
int straddle(void);
int read_counter(void);
void bump_counter(void);

PATCHABLE int answer(void) {
	__asm__ volatile("");
	return VALUE(41);
}

/* No pad: patching it must be refused by name. */
PATCHABLE __attribute__((patchable_function_entry(0, 0))) int nopad(void) {
	__asm__ volatile("");
	return VALUE(7);
}

#ifdef OTHER_BUILD
/* Makes this build's contents, and so its build-id, differ. */
__attribute__((used)) static const char other_build[] = "another build of the e2e target";
#endif

static atomic_long calls, bad;
static atomic_int stop;
static int good_values[] = { 41, 42, 43, 44, 1041 };

static void *spinner(void *arg) {
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int v = answer();
		int ok = 0;
		for (size_t i = 0; i < sizeof good_values / sizeof good_values[0]; i++)
			ok |= v == good_values[i];
		if (!ok)
			atomic_fetch_add(&bad, 1);
		atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(void) {
	char line[256];
	pthread_t threads[64];
	int nthreads = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "answer")) printf("answer=%d\n", answer());
		else if (!strncmp(line, "compute ", 8)) printf("compute=%d\n", compute(atoi(line + 8)));
		else if (!strcmp(line, "lib_answer")) printf("lib_answer=%d\n", lib_answer());
		else if (!strcmp(line, "nopad")) printf("nopad=%d\n", nopad());
		else if (!strcmp(line, "straddle")) printf("straddle=%d\n", straddle());
		else if (!strcmp(line, "counter")) printf("counter=%d\n", read_counter());
		else if (!strcmp(line, "bump")) { bump_counter(); printf("bump=%d\n", read_counter()); }
		else if (!strncmp(line, "spin ", 5)) {
			int n = atoi(line + 5);
			for (int i = 0; i < n && nthreads < 64; i++)
				pthread_create(&threads[nthreads++], NULL, spinner, NULL);
			printf("spin=%d\n", nthreads);
		} else if (!strcmp(line, "check")) {
			printf("check=%ld,%ld\n", atomic_load(&calls), atomic_load(&bad));
		} else if (!strcmp(line, "quit")) break;
		else printf("unknown=%s\n", line);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++) pthread_join(threads[i], NULL);
	return 0;
}
