/* dlopen_probe.c: `bench_dlopen_probe LIB` prints the nanoseconds that
 * dlopen(LIB, RTLD_NOW) takes in a fresh process: mapping LIB and the
 * libraries it needs, relocating them, and running their constructors.
 * bench.py runs it many times, alternating libuklp.so (with its constructor
 * on, and off with UKLP_DISABLE=1) and empty.cc's library. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: bench_dlopen_probe LIB\n");
		return 2;
	}
	uint64_t t0 = now_ns();
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	uint64_t t1 = now_ns();
	if (!h) {
		fprintf(stderr, "bench_dlopen_probe: %s\n", dlerror());
		return 1;
	}
	printf("%llu\n", (unsigned long long)(t1 - t0));
	return 0;
}
