/* value_worker.h: what the targets share whose workers call one patched
 * function, x + 1000 in the program and x + 2000 in the patch (wxtext,
 * seccomp, mountns, ctor): the workers, their counts, and the commands
 * "start N" (N workers), "report" (calls,bad,patched,first error), "value
 * X" (the function called by the main thread, which has no race with a
 * worker between its call and its count) and "quit". */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

static atomic_long value_calls, value_bad, value_patched;
static char value_first_error[256];
static int (*value_fn)(int);

static void *value_worker(void *arg) {
	(void)arg;
	for (int x = 0;; x = (x + 1) & 0xffff) {
		int v = value_fn(x);
		if (v == x + 2000) {
			atomic_fetch_add(&value_patched, 1);
		} else if (v != x + 1000) {
			note_first_error(value_first_error, sizeof value_first_error,
					 "the patched function returned neither x+1000 nor x+2000");
			atomic_fetch_add(&value_bad, 1);
		}
		atomic_fetch_add_explicit(&value_calls, 1, memory_order_relaxed);
		/* A nap now and then: the tracer's stops land between calls. */
		if (x % 256 == 0) usleep(20);
	}
	return NULL;
}

/* Answers the shared commands for a program whose patched function is
 * `fn`; 0 when `line` is none of them. */
static int value_command(const char *line, int (*fn)(int)) {
	int n;
	pthread_t t;
	value_fn = fn;
	if (sscanf(line, "start %d", &n) == 1) {
		for (int i = 0; i < n; i++) pthread_create(&t, NULL, value_worker, NULL);
		printf("start=%d\n", n);
	} else if (sscanf(line, "value %d", &n) == 1) {
		printf("value=%d\n", fn(n));
	} else if (!strcmp(line, "report")) {
		printf("report=%ld,%ld,%ld,%s\n", value_calls, value_bad, value_patched,
		       value_first_error[0] ? value_first_error : "none");
	} else if (!strcmp(line, "quit")) {
		fflush(stdout);
		_exit(0);
	} else {
		return 0;
	}
	return 1;
}
