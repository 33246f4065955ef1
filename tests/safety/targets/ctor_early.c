/* ctor_early.c: libctor_early.so, a library of targets/ctor.c (DT_NEEDED)
 * whose constructor runs before the runtime's: the dynamic linker runs a
 * library's initializers before those of the objects listed before it
 * that do not depend on it, and `uklp run` lists libuklp.so first
 * (LD_PRELOAD). The constructor allocates and frees memory and starts a
 * thread (through the runtime's pthread_create, which the runtime's own
 * constructor has not prepared yet) that keeps allocating and calls the
 * library's patched ce_value() (x + 1000, the patch's x + 2000). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

PATCHABLE int ce_value(int x) {
	return x + 1000 + *(volatile int *)&(int){ 0 };
}

atomic_long ce_calls, ce_bad, ce_patched;
int ce_constructor_ok, ce_runtime_was_up;

/* Whether the runtime's control socket (@uklp/PID, bound by its
 * constructor) existed: 0 shows this constructor ran first. */
static int runtime_is_up(void) {
	char name[32], line[512];
	int found = 0;
	snprintf(name, sizeof name, "@uklp/%d\n", (int)getpid());
	FILE *f = fopen("/proc/net/unix", "r");
	while (f && !found && fgets(line, sizeof line, f)) {
		size_t n = strlen(line), k = strlen(name);
		found = n >= k && !strcmp(line + n - k, name);
	}
	if (f) fclose(f);
	return found;
}

static void *early_thread(void *arg) {
	(void)arg;
	for (int x = 0;; x = (x + 1) & 0xffff) {
		char *p = malloc(16 + (size_t)x % 4096);
		if (!p) abort();
		memset(p, x, 16);
		int v = ce_value(x);
		if (v == x + 2000) atomic_fetch_add(&ce_patched, 1);
		else if (v != x + 1000 || p[15] != (char)x) atomic_fetch_add(&ce_bad, 1);
		free(p);
		atomic_fetch_add_explicit(&ce_calls, 1, memory_order_relaxed);
		if (x % 256 == 0) usleep(20);
	}
	return NULL;
}

__attribute__((constructor)) static void ctor_early_init(void) {
	ce_runtime_was_up = runtime_is_up();
	void *blocks[64];
	for (int i = 0; i < 64; i++) blocks[i] = malloc((size_t)16 << (i % 12));
	for (int i = 0; i < 64; i++) free(blocks[i]);
	pthread_t t;
	ce_constructor_ok = pthread_create(&t, NULL, early_thread, NULL) == 0;
}
