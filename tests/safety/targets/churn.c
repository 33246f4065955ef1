/* churn.c: threads hammering malloc/free and dlopen/dlclose while patches
 * are loaded and removed (the tracer stops threads that may hold malloc's
 * or the dynamic loader's locks; the runtime must never wait on them).
 *
 * MALLOC_THREADS threads allocate blocks of 16 B to 64 KiB, fill them with
 * a pattern and check it before freeing them; DL_THREADS threads dlopen the
 * library named by SAFETY_DL_LIB, call churn_dl_value() through dlsym and
 * dlclose it. Every thread calls the patched churn_step() once per round.
 *
 * Commands: report (mallocs,dlopens,bad,patched,first error), quit. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

/* 15 threads in all, as issue 6 asks. */
enum { MALLOC_THREADS = 11, DL_THREADS = 4, SLOTS = 64 };

/* The patched function: 1 here, 2 in livepatch-churn. */
PATCHABLE int churn_step(int x) {
	return (x >= 0) + *(volatile int *)&(int){ 0 };
}

static atomic_long mallocs, dlopens, nbad, patched;
static char first_error[256];
static const char *dl_path;

static void bad(const char *what) {
	atomic_fetch_add(&nbad, 1);
	note_first_error(first_error, sizeof first_error, what);
}

static void step(int x) {
	if (churn_step(x) == 2) atomic_fetch_add(&patched, 1);
}

static void *malloc_worker(void *arg) {
	unsigned seed = (unsigned)(uintptr_t)arg;
	unsigned char *blocks[SLOTS] = { 0 };
	size_t sizes[SLOTS] = { 0 };
	for (long round = 0;; round++) {
		int i = rand_r(&seed) % SLOTS;
		if (blocks[i]) {
			for (size_t j = 0; j < sizes[i]; j += 97)
				if (blocks[i][j] != (unsigned char)(i + j)) bad("a block's contents changed");
			free(blocks[i]);
		}
		sizes[i] = 16 + (size_t)rand_r(&seed) % (64 * 1024);
		blocks[i] = malloc(sizes[i]);
		if (!blocks[i]) abort();
		for (size_t j = 0; j < sizes[i]; j += 97) blocks[i][j] = (unsigned char)(i + j);
		atomic_fetch_add_explicit(&mallocs, 1, memory_order_relaxed);
		step((int)round);
		/* 15 threads on 2 cores: a short nap now and then lets the tracer's
		 * stop land within the runtime's 20 ms bound. */
		if (round % 16 == 0) usleep(50);
	}
	return NULL;
}

static void *dl_worker(void *arg) {
	(void)arg;
	for (int round = 0;; round++) {
		void *h = dlopen(dl_path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			bad(dlerror());
			continue;
		}
		int (*value)(int) = (int (*)(int))dlsym(h, "churn_dl_value");
		if (!value || value(round) != round * 7) bad("churn_dl_value is missing or wrong");
		dlclose(h);
		atomic_fetch_add_explicit(&dlopens, 1, memory_order_relaxed);
		step(round);
	}
	return NULL;
}

int main(void) {
	char line[256];
	pthread_t t;
	dl_path = getenv("SAFETY_DL_LIB");
	if (!dl_path) abort();
	for (int i = 0; i < MALLOC_THREADS; i++) pthread_create(&t, NULL, malloc_worker, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < DL_THREADS; i++) pthread_create(&t, NULL, dl_worker, NULL);
	while (next_command(line, sizeof line)) {
		if (!strcmp(line, "report")) {
			printf("report=%ld,%ld,%ld,%ld,%s\n", mallocs, dlopens, nbad, patched,
			       first_error[0] ? first_error : "none");
		} else if (!strcmp(line, "quit")) {
			fflush(stdout);
			_exit(0);
		} else {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
