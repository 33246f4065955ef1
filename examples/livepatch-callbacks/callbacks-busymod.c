// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libcallbacks-busymod.so - (un)patching callbacks demo support library
 *
 * The kernel's samples/livepatch/livepatch-callbacks-busymod.c as a
 * library of callbacks-target. Its init starts a thread (the sample's
 * delayed work) that runs busymod_work_func() once, and
 * busymod_work_func() sleeps sleep_secs seconds. The demo patch replaces
 * busymod_work_func(): while the thread sleeps inside it, the patching
 * transition cannot finish.
 *
 * As in the kernel's selftest version of this module (block_transition),
 * the sleep reads its parameter again every 20 ms, so that
 *   param libcallbacks-busymod.so sleep_secs=0
 * ends it early, and exit ends it before waiting for the thread
 * (cancel_delayed_work_sync()).
 *
 * This library is not intended to be standalone. See the "Usage" section
 * of livepatch-callbacks-demo.c.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "lib-module.h"

#define pr_info(fmt, ...) printf("libcallbacks-busymod.so: " fmt, ##__VA_ARGS__)

static volatile int sleep_secs;

static const struct lib_param params[] = {
	{ "sleep_secs", &sleep_secs },
	{ NULL, NULL },
};

struct work_struct {
	pthread_t thread;
};

static struct work_struct work;

/* msleep(sleep_secs * 1000), in 20 ms steps that look at sleep_secs again. */
static void msleep_sleep_secs(void)
{
	const struct timespec step = { 0, 20 * 1000 * 1000 };
	long slept_ms = 0;

	while (slept_ms < sleep_secs * 1000L) {
		nanosleep(&step, NULL);
		slept_ms += 20;
	}
}

/* GCC's -flive-patching=inline-clone still clones: with its one caller
 * passing &work, busymod_work_func() would become the clone
 * busymod_work_func.constprop.0, a symbol the patch does not name. */
#if defined(__GNUC__) && !defined(__clang__)
#define noinline __attribute__((noinline, noclone))
#else
#define noinline __attribute__((noinline))
#endif

/* Patched by livepatch-callbacks-demo.so: a function of its own, under
 * its own name, as a function to be patched must be. */
static noinline void busymod_work_func(struct work_struct *work)
{
	(void)work;
	pr_info("%s, sleeping %d seconds ...\n", __func__, sleep_secs);
	msleep_sleep_secs();
	pr_info("%s exit\n", __func__);
}

static void *work_thread(void *arg)
{
	busymod_work_func(arg);
	return NULL;
}

static int callbacks_busymod_init(void)
{
	pr_info("%s\n", __func__);
	if (pthread_create(&work.thread, NULL, work_thread, &work) != 0)
		return -1;
	pthread_setname_np(work.thread, "busymod_work");
	return 0;
}

static void callbacks_busymod_exit(void)
{
	sleep_secs = 0;
	pthread_join(work.thread, NULL);
	pr_info("%s\n", __func__);
}

LIB_MODULE(callbacks_busymod_init, callbacks_busymod_exit, params);
