/* signals.c: the program's own SIGUSR1 handler calls the patched function,
 * thousands of times, while patches come and go.
 *
 * sig_value(x) (patched) returns x + 1000, the patch's x + 2000; the
 * handler calls it and counts any other result as bad. A sender thread
 * sends SIGUSR1 to two threads in turn, every 100 us: "busy", which calls
 * sig_value itself in a loop, and "reader", blocked in read() on a pipe a
 * feeder thread writes to every millisecond. With SA_RESTART the reader's
 * read() must never fail; without it, EINTR is the program's own business,
 * but only when its handler ran during that very call (counted otherwise).
 *
 * Commands: mode restart|norestart (reinstalls the handler), report
 * (handled,bad,new,eintr,eintr_without_handler,reads,first error), probe
 * (the handler is still the program's and still runs: "installed,ran"),
 * quit. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

PATCHABLE int sig_value(int x) {
	return x + 1000 + *(volatile int *)&(int){ 0 };
}

static atomic_long handled, nbad, new_seen, eintr, eintr_without_handler, reads, busy_calls;
static _Thread_local long handled_here;
static _Thread_local int arg_here;
static char first_error[256];
static int data_pipe[2];
static pthread_t busy_thread, reader_thread;
static atomic_int ready;

static int check(int x, int r) {
	if (r == x + 2000) return 1;
	if (r != x + 1000) atomic_fetch_add(&nbad, 1);
	return 0;
}

static void handler(int sig) {
	int saved = errno;
	(void)sig;
	int x = arg_here++ & 0xffff;
	if (check(x, sig_value(x))) atomic_fetch_add(&new_seen, 1);
	handled_here++;
	atomic_fetch_add(&handled, 1);
	errno = saved;
}

static void install(int restart) {
	struct sigaction sa = { .sa_handler = handler, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

static void *busy(void *arg) {
	(void)arg;
	atomic_fetch_add(&ready, 1);
	for (int x = 0;; x = (x + 1) & 0xffff) {
		if (check(x, sig_value(x))) atomic_fetch_add(&new_seen, 1);
		atomic_fetch_add_explicit(&busy_calls, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *reader(void *arg) {
	(void)arg;
	uint64_t expected = 0;
	atomic_fetch_add(&ready, 1);
	for (;;) {
		uint64_t v;
		long before = handled_here;
		ssize_t r = read(data_pipe[0], &v, sizeof v);
		if (r < 0 && errno == EINTR) {
			atomic_fetch_add(&eintr, 1);
			if (handled_here == before) {
				atomic_fetch_add(&eintr_without_handler, 1);
				note_first_error(first_error, sizeof first_error, "read() failed with EINTR, no handler ran");
			}
			continue;
		}
		if (r != (ssize_t)sizeof v || v != ++expected) {
			atomic_fetch_add(&nbad, 1);
			note_first_error(first_error, sizeof first_error, "read() returned wrong data");
			expected = r == (ssize_t)sizeof v ? v : expected;
		}
		atomic_fetch_add(&reads, 1);
	}
	return NULL;
}

static void *feeder(void *arg) {
	(void)arg;
	for (uint64_t seq = 1;; seq++) {
		usleep(1000);
		if (write(data_pipe[1], &seq, sizeof seq) != sizeof seq) abort();
	}
	return NULL;
}

static void *sender(void *arg) {
	(void)arg;
	for (unsigned i = 0;; i++) {
		pthread_kill(i & 1 ? busy_thread : reader_thread, SIGUSR1);
		usleep(100);
	}
	return NULL;
}

int main(void) {
	char line[256];
	pthread_t t;
	if (pipe(data_pipe)) abort();
	install(1);
	pthread_create(&busy_thread, NULL, busy, NULL);
	pthread_create(&reader_thread, NULL, reader, NULL);
	while (atomic_load(&ready) < 2) usleep(100);
	pthread_create(&t, NULL, feeder, NULL);
	pthread_create(&t, NULL, sender, NULL);
	while (next_command(line, sizeof line)) {
		if (!strcmp(line, "mode restart") || !strcmp(line, "mode norestart")) {
			install(!strcmp(line, "mode restart"));
			printf("mode=%s\n", line + 5);
		} else if (!strcmp(line, "report")) {
			printf("report=%ld,%ld,%ld,%ld,%ld,%ld,%s\n", handled, nbad, new_seen, eintr, eintr_without_handler,
			       reads, first_error[0] ? first_error : "none");
		} else if (!strcmp(line, "probe")) {
			struct sigaction now;
			sigaction(SIGUSR1, NULL, &now);
			long before = handled_here;
			raise(SIGUSR1);
			printf("probe=%d,%d\n", now.sa_handler == handler, handled_here == before + 1);
		} else if (!strcmp(line, "quit")) {
			fflush(stdout);
			_exit(0);
		} else {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
