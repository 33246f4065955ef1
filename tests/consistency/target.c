/* target.c: the program the consistency-model tests patch (test_consistency.py).
 *
 * Reads one command per line on stdin and answers one line on stdout. The
 * patchable functions come in groups, one patch module each:
 *
 *   sleepy, probe            livepatch-sleepy: both return 2 instead of 1.
 *                            sleepy() blocks on a pipe the test controls,
 *                            so a thread can sit inside it for as long as
 *                            the test wants.
 *   contract_caller/_callee  livepatch-contract: version 2 of both. The
 *                            caller checks that the callee has its own
 *                            version, twice per call, and counts mismatches:
 *                            an old caller must never reach a new callee,
 *                            nor a new caller an old one.
 *   probe (again)            also called in a loop by a thread that blocks
 *                            every signal, SIGTRAP included.
 *   worker_loop, work        livepatch-loop: a thread that never leaves
 *                            worker_loop (it is always on its stack), with
 *                            or without a klp_update_patch_state() safe point.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uklp/uklp.h>

#include "target.h"

static int tid(void) { return (int)syscall(SYS_gettid); }

/* ---- sleepy / probe ---- */

static int sleepy_pipe[2];
static atomic_int sleepy_calls, sleepy_last, sleeper_tid;
static pthread_mutex_t go_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER;
static int go_pending;

PATCHABLE int sleepy(void)
{
	char c;
	while (read(sleepy_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return VALUE(1);
}

PATCHABLE int probe(void) { return VALUE(1); }

static void *sleeper(void *arg)
{
	(void)arg;
	sleeper_tid = tid();
	for (;;) {
		pthread_mutex_lock(&go_mu);
		while (!go_pending)
			pthread_cond_wait(&go_cv, &go_mu);
		go_pending = 0;
		pthread_mutex_unlock(&go_mu);
		sleepy_calls++;
		sleepy_last = sleepy();
	}
	return NULL;
}

static atomic_int spawned_tid, spawned_version;

static void *spawned(void *arg)
{
	(void)arg;
	spawned_version = probe();
	spawned_tid = tid();
	pause(); /* stays, so the test can read its patch_state */
	return NULL;
}

/* ---- the contract ---- */

static atomic_long contract_calls, contract_mismatches;
static int contract_pipe[2];
static atomic_int blocker_tid, blocker_in, blocker_done;

PATCHABLE int contract_callee(void) { return VALUE(1); }

static void spin(int n)
{
	for (volatile int i = 0; i < n; i++)
		;
}

/* The contract: the callee has the caller's version, each time. */
PATCHABLE int contract_caller(int block)
{
	const int mine = VALUE(1);
	if (contract_callee() != mine)
		contract_mismatches++;
	if (block) {
		char c;
		blocker_in = 1;
		while (read(contract_pipe[0], &c, 1) < 0 && errno == EINTR)
			;
	} else {
		spin(200);
	}
	if (contract_callee() != mine)
		contract_mismatches++;
	contract_calls++;
	return mine;
}

/* Most of the time outside the caller, so transitions complete quickly;
 * every stop that lands inside it must still find it there. */
static void *contract_worker(void *arg)
{
	(void)arg;
	for (;;) {
		contract_caller(0);
		spin(2000);
	}
	return NULL;
}

static void *contract_blocker(void *arg)
{
	(void)arg;
	blocker_tid = tid();
	blocker_done = contract_caller(1);
	return NULL;
}

/* ---- a thread that never leaves its loop ---- */

static atomic_int loop_value, loop_tid, loop_safe_point;

PATCHABLE int work(void) { return VALUE(1); }

PATCHABLE void *worker_loop(void *arg)
{
	(void)arg;
	loop_tid = tid();
	for (;;) {
		loop_value = work();
		if (loop_safe_point)
			uklp_update_patch_state();
		usleep(1000);
	}
	return NULL;
}

/* ---- a thread that blocks every signal, SIGTRAP included ---- */

static atomic_long masked_calls;
static atomic_int masked_last;

static void *masked_worker(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		masked_last = probe();
		masked_calls++;
	}
	return NULL;
}

/* ---- commands ---- */

static void start_thread(void *(*fn)(void *))
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, NULL) != 0)
		abort();
	pthread_detach(t);
}

static void wait_for(atomic_int *flag)
{
	while (!*flag)
		usleep(100);
}

static void command(const char *cmd, long arg)
{
	if (!strcmp(cmd, "enter_sleepy")) {
		int before = sleepy_calls;
		pthread_mutex_lock(&go_mu);
		go_pending = 1;
		pthread_cond_signal(&go_cv);
		pthread_mutex_unlock(&go_mu);
		while (sleepy_calls == before)
			usleep(100);
		printf("sleeper=%d\n", (int)sleeper_tid);
	} else if (!strcmp(cmd, "release_sleepy")) {
		int before = sleepy_calls;
		sleepy_last = 0;
		if (write(sleepy_pipe[1], "x", 1) != 1)
			abort();
		while (!sleepy_last && sleepy_calls == before)
			usleep(100);
		printf("sleepy=%d\n", (int)sleepy_last);
	} else if (!strcmp(cmd, "probe")) {
		printf("probe=%d\n", probe());
	} else if (!strcmp(cmd, "spawn_probe")) {
		spawned_tid = 0;
		start_thread(spawned);
		wait_for(&spawned_tid);
		printf("spawned=%d %d\n", (int)spawned_tid, (int)spawned_version);
	} else if (!strcmp(cmd, "contract_start")) {
		for (long i = 0; i < arg; i++)
			start_thread(contract_worker);
		printf("started=%ld\n", arg);
	} else if (!strcmp(cmd, "contract_block")) {
		blocker_in = 0;
		blocker_done = 0;
		start_thread(contract_blocker);
		wait_for(&blocker_in);
		printf("blocker=%d\n", (int)blocker_tid);
	} else if (!strcmp(cmd, "contract_release")) {
		if (write(contract_pipe[1], "x", 1) != 1)
			abort();
		wait_for(&blocker_done);
		printf("blocker_version=%d\n", (int)blocker_done);
	} else if (!strcmp(cmd, "contract_stats")) {
		printf("stats=%ld %ld\n", (long)contract_calls, (long)contract_mismatches);
	} else if (!strcmp(cmd, "loop_start")) {
		loop_safe_point = (int)arg;
		start_thread(worker_loop);
		wait_for(&loop_tid);
		printf("loop=%d\n", (int)loop_tid);
	} else if (!strcmp(cmd, "loop_value")) {
		printf("loop_value=%d\n", (int)loop_value);
	} else if (!strcmp(cmd, "masked_start")) {
		start_thread(masked_worker);
		printf("masked=1\n");
	} else if (!strcmp(cmd, "masked_stats")) {
		printf("masked=%ld %d\n", (long)masked_calls, (int)masked_last);
	} else if (!strcmp(cmd, "tid")) {
		printf("tid=%d\n", tid());
	} else {
		printf("error=unknown command %s\n", cmd);
	}
}

int main(void)
{
	if (pipe(sleepy_pipe) || pipe(contract_pipe))
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_thread(sleeper);
	wait_for(&sleeper_tid);
	printf("ready\n");
	char line[256];
	while (fgets(line, sizeof line, stdin)) {
		char cmd[64] = "";
		long arg = 0;
		if (sscanf(line, "%63s %ld", cmd, &arg) < 1)
			continue;
		if (!strcmp(cmd, "quit"))
			break;
		command(cmd, arg);
	}
	return 0;
}
