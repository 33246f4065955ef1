/*
 * transition.c: the target of the transition-latency benchmark
 * (transition.py; docs/design.md, "Benchmarks", "Transition latency").
 *
 *   bench_transition [--threads N] [--spinners S]
 *
 * A process of N threads that are idle when a patch is loaded: the main
 * thread, blocked in read() on stdin, and N - 1 threads blocked in
 * pthread_cond_wait() (a futex; even ones) or clock_nanosleep() (odd ones),
 * none of them in the patched function. Besides them:
 *   - up to K callers (`callers K`) that call transition_func() at full
 *     speed, the function livepatch-bench-transition.so replaces with the
 *     same body; started and joined on command, so that the idle case has
 *     exactly N threads;
 *   - S spinners that read CLOCK_MONOTONIC in a loop and keep the largest
 *     gap between two consecutive reads: how long the thread was held up
 *     in a measuring window. A spinner never blocks, so a gap during which
 *     its voluntary context switches (getrusage(RUSAGE_THREAD), read only
 *     after a gap over 10 us) went up is one in which it was stopped (a
 *     ptrace stop is a voluntary switch): such gaps are also kept apart
 *     from those in which it was only preempted (involuntary switches), the
 *     common case on a busy machine.
 *
 * Protocol (driven by transition.py): the program prints `ready`, then
 * answers each line of stdin:
 *   callers K  runs K callers from now on (0 <= K <= 16), answers `ok`
 *              once they all run
 *   window     starts a measuring window (every spinner resets its largest
 *              gap), answers `ok`
 *   gap        ends it, answers `gap ALL,STOPPED ...`: for each spinner its
 *              largest gap and its largest gap with a stop, in ns
 *   quit       exits (so does the end of input)
 * Windows are generations: odd while measuring. A spinner acknowledges a
 * new generation by storing it in `seen` (release) after publishing its
 * reset or its final maximum; the main thread waits for that (acquire)
 * before it answers, so `gap` never reads a maximum of another window.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_SPINNERS 16
#define MAX_CALLERS 16
#define IDLE_STACK (64 * 1024) /* 1000 idle threads need no 8 MiB stacks */
#define CHECK_GAP_NS 10000     /* gaps over this are checked for a stop */

/* The patched function. noipa: a real call of a real function, whose
 * result is not propagated into the callers. */
__attribute__((noipa)) int transition_func(int x) { return x * 2 + 1; }

static volatile unsigned sink;

struct spinner {
	_Alignas(64) atomic_long max_gap_ns;
	atomic_long max_stopped_ns; /* the largest gap with a voluntary switch */
	atomic_uint seen;
};

static struct spinner spinners[MAX_SPINNERS];
static int nspinners;
static atomic_uint generation; /* odd: a window is open */

static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *idle_futex(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle_mu);
	for (;;)
		pthread_cond_wait(&idle_cv, &idle_mu); /* never signaled */
	return NULL;
}

static void *idle_sleep(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 3600, 0 };
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	}
	return NULL;
}

static atomic_int callers_on, callers_started;
static pthread_t caller_threads[MAX_CALLERS];
static int ncallers;

static void *caller(void *arg)
{
	(void)arg;
	atomic_fetch_add(&callers_started, 1);
	unsigned acc = 0;
	for (unsigned i = 0; atomic_load_explicit(&callers_on, memory_order_relaxed); ++i)
		acc += (unsigned)transition_func((int)(i & 0xffff));
	sink = acc;
	return NULL;
}

/* Stops the running callers, then starts k of them and returns once each
 * runs its loop: a thread that has not yet run past glibc's start_thread
 * has every signal blocked, which the runtime treats as a thread blocking
 * SIGTRAP (docs/design.md, "Benchmarks"). */
static void set_callers(int k)
{
	atomic_store(&callers_on, 0);
	for (int i = 0; i < ncallers; ++i)
		pthread_join(caller_threads[i], NULL);
	atomic_store(&callers_on, 1);
	atomic_store(&callers_started, 0);
	for (ncallers = 0; ncallers < k; ++ncallers)
		if (pthread_create(&caller_threads[ncallers], NULL, caller, NULL) != 0) {
			perror("pthread_create");
			exit(1);
		}
	while (atomic_load(&callers_started) < k) {
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
}

static long voluntary_switches(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

/* A gap of d ns ended at the last read: keeps it if it is the largest. */
static void note_gap(struct spinner *s, long d, long *max, long *max_stopped, long *nvcsw)
{
	if (d > *max) {
		*max = d;
		atomic_store_explicit(&s->max_gap_ns, d, memory_order_relaxed);
	}
	if (d < CHECK_GAP_NS)
		return;
	long v = voluntary_switches();
	if (v != *nvcsw && d > *max_stopped) {
		*max_stopped = d;
		atomic_store_explicit(&s->max_stopped_ns, d, memory_order_relaxed);
	}
	*nvcsw = v;
}

static void *spin(void *arg)
{
	struct spinner *s = arg;
	unsigned seen = 0;
	long max = 0, max_stopped = 0, nvcsw = 0, last = now_ns();
	for (;;) {
		long t = now_ns();
		unsigned g = atomic_load_explicit(&generation, memory_order_relaxed);
		if (g != seen) { /* a window opens or closes */
			if (g & 1) {
				max = max_stopped = 0;
				nvcsw = voluntary_switches();
				atomic_store_explicit(&s->max_gap_ns, 0, memory_order_relaxed);
				atomic_store_explicit(&s->max_stopped_ns, 0, memory_order_relaxed);
			}
			seen = g;
			atomic_store_explicit(&s->seen, g, memory_order_release); /* pairs with next_generation */
			t = now_ns();
		} else if ((g & 1) && t - last > CHECK_GAP_NS / 10) {
			note_gap(s, t - last, &max, &max_stopped, &nvcsw);
			t = now_ns(); /* getrusage's own time is no gap */
		}
		last = t;
	}
	return NULL;
}

/* Opens or closes a window; returns once every spinner has seen it (or
 * after a second: a spinner that is not scheduled for that long reports
 * its gap so far). */
static void next_generation(void)
{
	unsigned g = atomic_fetch_add(&generation, 1) + 1;
	long deadline = now_ns() + 1000000000L;
	for (int i = 0; i < nspinners; ++i)
		while (atomic_load_explicit(&spinners[i].seen, memory_order_acquire) != g && now_ns() < deadline) {
			struct timespec ts = { 0, 20000 };
			nanosleep(&ts, NULL);
		}
}

static void start(void *(*fn)(void *), void *arg, size_t stack)
{
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, fn, arg) != 0) {
		perror("pthread_create");
		exit(1);
	}
	pthread_attr_destroy(&attr);
}

static int arg_int(int argc, char **argv, const char *name, int def)
{
	for (int i = 1; i + 1 < argc; ++i)
		if (strcmp(argv[i], name) == 0)
			return atoi(argv[i + 1]);
	return def;
}

int main(int argc, char **argv)
{
	int threads = arg_int(argc, argv, "--threads", 1);
	nspinners = arg_int(argc, argv, "--spinners", 0);
	if (threads < 1 || nspinners < 0 || nspinners > MAX_SPINNERS) {
		fprintf(stderr, "usage: bench_transition [--threads N>=1] [--spinners S<=16]\n");
		return 2;
	}
	for (int i = 1; i < threads; ++i)
		start(i % 2 ? idle_sleep : idle_futex, NULL, IDLE_STACK);
	for (int i = 0; i < nspinners; ++i)
		start(spin, &spinners[i], 0);
	printf("ready\n");
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof line, stdin)) {
		if (strncmp(line, "callers ", 8) == 0) {
			int k = atoi(line + 8);
			set_callers(k < 0 ? 0 : k > MAX_CALLERS ? MAX_CALLERS : k);
			printf("ok\n");
		} else if (strncmp(line, "window", 6) == 0) {
			next_generation();
			printf("ok\n");
		} else if (strncmp(line, "gap", 3) == 0) {
			next_generation();
			printf("gap");
			for (int i = 0; i < nspinners; ++i)
				printf(" %ld,%ld", atomic_load_explicit(&spinners[i].max_gap_ns, memory_order_relaxed),
				       atomic_load_explicit(&spinners[i].max_stopped_ns, memory_order_relaxed));
			printf("\n");
		} else if (strncmp(line, "quit", 4) == 0) {
			break;
		} else {
			printf("error unknown command\n");
		}
		fflush(stdout);
	}
	return 0;
}
