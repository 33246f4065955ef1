/* fp.c: threads in the middle of floating-point work while patch cycles
 * stop them again and again.
 *
 * compute() mixes x87 long double, scalar SSE2 double and packed SSE2 (or,
 * when /proc/cpuinfo lists avx2, packed AVX2) arithmetic under the
 * FE_UPWARD rounding mode, calling the patched fp_scale() every 64 steps,
 * and folds every intermediate value into a 64-bit checksum. The reference
 * checksums are computed once at start-up, before any patch. Worker threads
 * recompute them in loops; any difference in any bit counts as a mismatch
 * (a lost register, a lost MXCSR or x87 control word, a clobbered vector
 * register). fp_scale's replacement computes the same value and counts its
 * calls through the pointer it is given.
 *
 * Commands: start (one SSE and, if the CPU has it, one AVX2 worker),
 * report (runs,mismatches,patched_calls,avx), quit. */
#define _GNU_SOURCE
#include <fenv.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

enum { STEPS = 200000 };

PATCHABLE double fp_scale(double x, long *patched_calls) {
	(void)patched_calls;
	return x * 0.999999 + 1e-7;
}

static uint64_t bits(double d) {
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

static uint64_t fold(uint64_t sum, uint64_t v) {
	return (sum ^ v) * 0x100000001b3ULL;
}

static uint64_t compute_sse(long *patched_calls) {
	__m128d a = _mm_set_pd(1.5, -2.25), m = _mm_set_pd(0.9999991, 1.0000003), c = _mm_set_pd(1e-3, -7e-4);
	double s = 3.0;
	long double l = 1.0L;
	uint64_t sum = 14695981039346656037ULL;
	for (int i = 0; i < STEPS; i++) {
		a = _mm_add_pd(_mm_mul_pd(a, m), c);
		a = _mm_div_pd(a, _mm_set1_pd(1.0000001));
		s = s * 1.0000002 - 1e-9 / (s + 1.0);
		l = l * 1.00000001L + 1e-12L;
		if (i % 64 == 0) s = fp_scale(s, patched_calls);
		if (i % 1024 == 0) {
			double out[2];
			_mm_storeu_pd(out, a);
			sum = fold(fold(fold(sum, bits(out[0])), bits(out[1])), bits(s));
			sum = fold(sum, bits((double)l));
		}
	}
	return sum;
}

__attribute__((target("avx2"))) static uint64_t compute_avx(long *patched_calls) {
	__m256d a = _mm256_set_pd(1.5, -2.25, 3.125, 0.5), m = _mm256_set1_pd(0.9999993);
	__m256d c = _mm256_set_pd(1e-3, -7e-4, 2e-4, 5e-5);
	__m256i k = _mm256_set1_epi64x(0x9e3779b97f4a7c15LL);
	double s = 3.0;
	uint64_t sum = 14695981039346656037ULL;
	for (int i = 0; i < STEPS; i++) {
		a = _mm256_add_pd(_mm256_mul_pd(a, m), c);
		a = _mm256_sqrt_pd(_mm256_mul_pd(a, a));
		k = _mm256_add_epi64(_mm256_xor_si256(k, _mm256_slli_epi64(k, 13)), _mm256_srli_epi64(k, 7));
		if (i % 64 == 0) s = fp_scale(s, patched_calls);
		if (i % 1024 == 0) {
			double out[4];
			uint64_t ki[4];
			_mm256_storeu_pd(out, a);
			_mm256_storeu_si256((__m256i *)ki, k);
			for (int j = 0; j < 4; j++) sum = fold(fold(sum, bits(out[j])), ki[j]);
			sum = fold(sum, bits(s));
		}
	}
	return sum;
}

static int cpu_has_avx2(void) {
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int found = 0;
	while (f && !found && fgets(line, sizeof line, f))
		found = !strncmp(line, "flags", 5) && strstr(line, " avx2") != NULL;
	if (f) fclose(f);
	return found;
}

static int has_avx2;
static uint64_t reference[2];
static atomic_long runs, mismatches, patched_total;
static char first_error[160];

static uint64_t compute(int avx, long *patched_calls) {
	int old = fegetround();
	fesetround(FE_UPWARD);
	uint64_t r = avx ? compute_avx(patched_calls) : compute_sse(patched_calls);
	fesetround(old);
	return r;
}

static void *worker(void *arg) {
	int avx = (int)(intptr_t)arg;
	for (;;) {
		long patched_calls = 0;
		uint64_t r = compute(avx, &patched_calls);
		if (r != reference[avx]) {
			char msg[160];
			snprintf(msg, sizeof msg, "%s checksum %016llx, reference %016llx", avx ? "avx2" : "sse",
				 (unsigned long long)r, (unsigned long long)reference[avx]);
			note_first_error(first_error, sizeof first_error, msg);
			atomic_fetch_add(&mismatches, 1);
		}
		atomic_fetch_add(&patched_total, patched_calls);
		atomic_fetch_add(&runs, 1);
	}
	return NULL;
}

int main(void) {
	char line[256];
	pthread_t t;
	long unused = 0;
	has_avx2 = cpu_has_avx2();
	reference[0] = compute(0, &unused);
	if (has_avx2) reference[1] = compute(1, &unused);
	while (next_command(line, sizeof line)) {
		if (!strcmp(line, "start")) {
			pthread_create(&t, NULL, worker, (void *)0);
			if (has_avx2) pthread_create(&t, NULL, worker, (void *)1);
			printf("start=%d\n", 1 + has_avx2);
		} else if (!strcmp(line, "report")) {
			printf("report=%ld,%ld,%ld,%d,%s\n", runs, mismatches, patched_total, has_avx2,
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
