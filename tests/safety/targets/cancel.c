/* cancel.c: pthread_cancel of a thread blocked inside a patched function.
 *
 * blocking_wait() (patched) pushes a cleanup handler and blocks in read()
 * on a pipe nobody writes to: a cancellation point inside the function. A
 * thread sleeping there keeps a transition open; the test cancels it during
 * the transition and after, and checks that the thread ends as canceled
 * with both cleanup handlers run: blocking_wait's (which records 1 for the
 * original, 2 for the patch's) and its caller's.
 *
 * Commands: spawn (start a thread, answer once it is inside
 * blocking_wait), cancel (cancel and join it: "canceled,inner,outer"),
 * quit. Built with -fexceptions: cancellation unwinds by unwind tables. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

struct Blocked {
	pthread_t thread;
	int pipe[2];
	int inner;         /* which blocking_wait's cleanup ran: 1 old, 2 new */
	int outer;         /* the caller's cleanup ran */
	atomic_int entered;
};

static void inner_cleanup(void *arg) { *(int *)arg = 1; }

/* The patched function: a cancellation point under a cleanup handler. */
PATCHABLE int blocking_wait(int fd, int *inner, atomic_int *entered) {
	char c;
	int r;
	pthread_cleanup_push(inner_cleanup, inner);
	atomic_store(entered, 1);
	r = (int)read(fd, &c, 1);
	pthread_cleanup_pop(0);
	return r;
}

static void outer_cleanup(void *arg) { ((struct Blocked *)arg)->outer = 1; }

static void *blocked_thread(void *arg) {
	struct Blocked *b = arg;
	pthread_cleanup_push(outer_cleanup, b);
	blocking_wait(b->pipe[0], &b->inner, &b->entered);
	pthread_cleanup_pop(0);
	return NULL;
}

int main(void) {
	char line[256];
	struct Blocked *b = NULL;
	while (next_command(line, sizeof line)) {
		if (!strcmp(line, "spawn")) {
			b = calloc(1, sizeof *b);
			if (pipe(b->pipe) || pthread_create(&b->thread, NULL, blocked_thread, b)) abort();
			long long deadline = now_ns() + 5000000000LL;
			while (!atomic_load(&b->entered) && now_ns() < deadline) usleep(100);
			usleep(2000);  /* into the read() */
			printf("spawn=%d\n", atomic_load(&b->entered));
		} else if (!strcmp(line, "cancel") && b) {
			void *ret = NULL;
			pthread_cancel(b->thread);
			pthread_join(b->thread, &ret);
			printf("cancel=%d,%d,%d\n", ret == PTHREAD_CANCELED, b->inner, b->outer);
			close(b->pipe[0]);
			close(b->pipe[1]);
			free(b);
			b = NULL;
		} else if (!strcmp(line, "quit")) {
			break;
		} else {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
