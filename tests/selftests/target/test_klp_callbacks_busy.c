/*
 * test_klp_callbacks_busy.c: the kernel selftests' busy target module, as a
 * library. Its constructor (the module's init) starts a worker thread (the
 * module's work item) in busymod_work_func(), which test_klp_callbacks_demo
 * patches. With the parameter block_transition=Y the worker stays in that
 * function, and so blocks a patching transition, until the destructor (the
 * module's exit) clears the flag; otherwise the constructor waits for the
 * worker to finish, so that its messages come before the next command's.
 */
#include "klp_selftest.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static atomic_bool block_transition;
static pthread_t worker;
static bool worker_joined;
static sem_t busymod_work_started;

__attribute__((noipa)) void busymod_work_func(void *work)
{
	(void)work;
	pr_info("%s enter\n", __func__);
	sem_post(&busymod_work_started);

	/* Sleep-wait until the destructor clears the flag. */
	while (atomic_load(&block_transition))
		usleep(20 * 1000);

	pr_info("%s exit\n", __func__);
}

static void *busymod_worker(void *arg)
{
	busymod_work_func(arg);
	return NULL;
}

/* The kernel's kstrtobool, for the parameter's value. */
static bool param_bool(const char *value)
{
	if (!value || !value[0])
		return false;
	return strchr("yYtT1", value[0]) || !strcasecmp(value, "on");
}

__attribute__((constructor)) static void test_klp_callbacks_busy_init(void)
{
	pr_info("%s\n", __func__);
	atomic_store(&block_transition, param_bool(selftest_module_param("block_transition")));
	sem_init(&busymod_work_started, 0, 0);
	if (pthread_create(&worker, NULL, busymod_worker, NULL)) {
		worker_joined = true;
		return;
	}

	/* Hold the constructor until the worker's entry message is logged. */
	sem_wait(&busymod_work_started);

	if (!atomic_load(&block_transition)) {
		/* Serialize the log: the worker's messages before our return. */
		pthread_join(worker, NULL);
		worker_joined = true;
	}
}

__attribute__((destructor)) static void test_klp_callbacks_busy_exit(void)
{
	atomic_store(&block_transition, false);
	if (!worker_joined)
		pthread_join(worker, NULL);
	pr_info("%s\n", __func__);
}
