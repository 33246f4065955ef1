// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * shadow-mod: the kernel's samples/livepatch/livepatch-shadow-mod.c as a
 * user-space program - shadow variables, buggy program demo.
 *
 *   shadow-mod [--speed N]
 *
 * Purpose
 * -------
 *
 * As a demonstration of the livepatch shadow variable API, this program
 * leaks memory the way the kernel sample does; the patch modules
 * livepatch-shadow-fix1.so and livepatch-shadow-fix2.so correct and
 * enhance it. Two threads play the sample's delayed works: "alloc"
 * allocates a new dummy every ALLOC_PERIOD seconds, with an expiry
 * EXPIRE_PERIOD seconds later, and also allocates an int that it forgets
 * (the leak); "cleanup" frees the expired dummies every CLEANUP_PERIOD
 * seconds. --speed N runs the demo's clock N times faster.
 *
 * Besides the sample's messages, after each cleanup shadow-mod reports
 *   memory: N allocations live, M dummies
 * where allocations are the blocks of kzalloc() not yet kfree()d: without
 * a fix, N - M grows by one a second. On SIGINT or SIGTERM it stops the
 * works, frees the remaining dummies (the sample's module exit) and
 * reports what was never freed:
 *   shadow-mod: exit: K allocations leaked
 *
 * Usage
 * -----
 *
 * Step 1 - Run the buggy program:
 *
 *   uklp run -- shadow-mod
 *
 * Watch its output for a few moments to see new dummies being allocated
 * and a periodic cleanup check. (Note: a small amount of memory is being
 * leaked.)
 *
 * Step 2 - Load livepatch fix1:
 *
 *   uklp load PID livepatch-shadow-fix1.so
 *
 * Continue watching the runtime log (uklp dmesg PID) and note that now
 * livepatch_fix1_dummy_free() and livepatch_fix1_dummy_alloc() are logging
 * messages about leaked memory and eventually leaks prevented.
 *
 * Step 3 - Load livepatch fix2 (on top of fix1):
 *
 *   uklp load PID livepatch-shadow-fix2.so
 *
 * This module extends functionality through shadow variables, as a new
 * "check" counter is added to the dummy structure. Periodic log messages
 * show these as dummies are cleaned up.
 *
 * Step 4 - Cleanup
 *
 *   uklp disable PID livepatch_shadow_fix2
 *   uklp disable PID livepatch_shadow_fix1
 *   uklp unload PID livepatch_shadow_fix2
 *   uklp unload PID livepatch_shadow_fix1
 *   kill PID
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shadow-mod.h"

/* The kernel's noinline; and no clones, which GCC's
 * -flive-patching=inline-clone still makes (dummy_alloc.constprop.0 would
 * be a symbol the patches do not name). */
#if defined(__GNUC__) && !defined(__clang__)
#define noinline __attribute__((noinline, noclone))
#else
#define noinline __attribute__((noinline))
#endif
#define pr_info(...) printf(__VA_ARGS__)

/* ---- the kernel interfaces of shadow-mod.h ---- */

volatile unsigned long jiffies;
static struct timespec boot_time;
static unsigned int speed = 1;

/* The timer tick: jiffies = demo milliseconds since start. */
static void jiffies_update(void)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - boot_time.tv_sec) * 1000LL + (now.tv_nsec - boot_time.tv_nsec) / 1000000;
	jiffies = (unsigned long)(ms * speed);
}

static atomic_long allocations; /* kzalloc()ed blocks not yet kfree()d */

noinline void *kzalloc(size_t size, unsigned int gfp)
{
	void *p = calloc(1, size);

	(void)gfp;
	if (p)
		atomic_fetch_add(&allocations, 1);
	return p;
}

noinline void kfree(const void *p)
{
	if (!p)
		return;
	free((void *)p);
	atomic_fetch_sub(&allocations, 1);
}

/* ---- the sample ---- */

/*
 * Keep a list of all the dummies so we can clean up any residual ones
 * on exit
 */
struct list_head dummy_list = LIST_HEAD_INIT(dummy_list);
pthread_mutex_t dummy_list_mutex = PTHREAD_MUTEX_INITIALIZER;

noinline struct dummy *dummy_alloc(void)
{
	struct dummy *d;
	int *leak;

	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return NULL;

	d->jiffies_expire = jiffies +
		msecs_to_jiffies(1000 * EXPIRE_PERIOD);

	/* Oops, forgot to save leak! */
	leak = kzalloc(sizeof(int), GFP_KERNEL);
	(void)leak;

	pr_info("%s: dummy @ %p, expires @ %lx\n",
		__func__, (void *)d, d->jiffies_expire);

	return d;
}

noinline void dummy_free(struct dummy *d)
{
	pr_info("%s: dummy @ %p, expired = %lx\n",
		__func__, (void *)d, d->jiffies_expire);

	kfree(d);
}

noinline bool dummy_check(struct dummy *d, unsigned long jiffies)
{
	return time_after(jiffies, d->jiffies_expire);
}

/*
 * alloc_work_func: allocates new dummy structures, allocates additional
 *                  memory, aptly named "leak", but doesn't keep
 *                  permanent record of it.
 */
static void alloc_work_func(void)
{
	struct dummy *d;

	d = dummy_alloc();
	if (!d)
		return;

	pthread_mutex_lock(&dummy_list_mutex);
	list_add(&d->list, &dummy_list);
	pthread_mutex_unlock(&dummy_list_mutex);
}

/*
 * cleanup_work_func: frees dummy structures.  Without knownledge of
 *                    "leak", it leaks the additional memory that
 *                    alloc_work_func created.
 */
static void cleanup_work_func(void)
{
	struct dummy *d, *tmp;
	unsigned long j;
	long dummies = 0;

	j = jiffies;
	pr_info("%s: jiffies = %lx\n", __func__, j);

	pthread_mutex_lock(&dummy_list_mutex);
	list_for_each_entry_safe(d, tmp, &dummy_list, list) {

		/* Kick out and free any expired dummies */
		if (dummy_check(d, j)) {
			list_del(&d->list);
			dummy_free(d);
		} else {
			dummies++;
		}
	}
	pthread_mutex_unlock(&dummy_list_mutex);

	/* Not in the kernel sample: what the leak costs. */
	pr_info("memory: %ld allocations live, %ld dummies\n", atomic_load(&allocations), dummies);
}

/* ---- the delayed works: one thread each, every period seconds ---- */

struct delayed_work {
	const char *name;
	void (*func)(void);
	unsigned int period; /* seconds of demo time */
	pthread_t thread;
};

static pthread_mutex_t work_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_stop_cond;
static bool work_stop;

/* Sleeps one period; false when the works are being cancelled. */
static bool work_sleep(const struct delayed_work *w)
{
	long long ns = w->period * 1000000000LL / speed;
	struct timespec deadline;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	ns += deadline.tv_nsec;
	deadline.tv_sec += (time_t)(ns / 1000000000LL);
	deadline.tv_nsec = (long)(ns % 1000000000LL);
	pthread_mutex_lock(&work_mutex);
	while (!work_stop && pthread_cond_timedwait(&work_stop_cond, &work_mutex, &deadline) != ETIMEDOUT)
		;
	stop = work_stop;
	pthread_mutex_unlock(&work_mutex);
	return !stop;
}

static void *work_thread(void *arg)
{
	struct delayed_work *w = arg;

	while (work_sleep(w)) {
		jiffies_update();
		w->func();
	}
	return NULL;
}

static struct delayed_work alloc_dwork = { "alloc", alloc_work_func, ALLOC_PERIOD, 0 };
static struct delayed_work cleanup_dwork = { "cleanup", cleanup_work_func, CLEANUP_PERIOD, 0 };

/* The works' deadlines are on CLOCK_MONOTONIC. */
static void init_workqueue(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&work_stop_cond, &attr);
	pthread_condattr_destroy(&attr);
}

static void schedule_delayed_work(struct delayed_work *w)
{
	if (pthread_create(&w->thread, NULL, work_thread, w) != 0) {
		fprintf(stderr, "shadow-mod: cannot start the %s work\n", w->name);
		exit(1);
	}
	pthread_setname_np(w->thread, w->name);
}

static void cancel_delayed_works(void)
{
	pthread_mutex_lock(&work_mutex);
	work_stop = true;
	pthread_cond_broadcast(&work_stop_cond);
	pthread_mutex_unlock(&work_mutex);
	pthread_join(alloc_dwork.thread, NULL);
	pthread_join(cleanup_dwork.thread, NULL);
}

/* livepatch_shadow_mod_exit(): cleanup residual dummies */
static void shadow_mod_exit(void)
{
	struct dummy *d, *tmp;

	/* Wait for any dummies at work */
	cancel_delayed_works();

	list_for_each_entry_safe(d, tmp, &dummy_list, list) {
		list_del(&d->list);
		dummy_free(d);
	}
	printf("shadow-mod: exit: %ld allocations leaked\n", atomic_load(&allocations));
}

static unsigned int parse_speed(int argc, char **argv)
{
	char *end;
	long v;

	if (argc == 1)
		return 1;
	if (argc == 3 && strcmp(argv[1], "--speed") == 0) {
		v = strtol(argv[2], &end, 10);
		if (*argv[2] && !*end && v >= 1 && v <= 1000)
			return (unsigned int)v;
	}
	fprintf(stderr, "usage: shadow-mod [--speed N]   (N: 1..1000)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	sigset_t stop;
	int sig;

	speed = parse_speed(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &boot_time);

	/* The signals are taken by sigwait below, in every thread. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	init_workqueue();
	schedule_delayed_work(&alloc_dwork);
	schedule_delayed_work(&cleanup_dwork);
	printf("shadow-mod: pid %d, speed %u\n", getpid(), speed);

	sigwait(&stop, &sig);
	shadow_mod_exit();
	return 0;
}
