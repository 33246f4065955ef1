/* syscalls.c: threads blocked in system calls while patches come and go.
 *
 * One thread per kind of blocking call (read on a pipe, accept, nanosleep,
 * clock_nanosleep relative and absolute, pthread_cond_wait, sem_wait,
 * epoll_wait, poll, select and sigtimedwait, each without and with a
 * timeout where the call has one) loops over that call, and a waker thread
 * wakes the untimed ones every WAKE_MS. Each call's result is checked: the
 * data written, the connection made, the signal sent, or, for a timed call,
 * a timeout after at least its full duration. A call that fails (EINTR
 * above all) or returns early counts as bad. After each call the thread
 * calls syscall_round(), the function the patch replaces, so the report
 * also shows that every thread ran the patched code (was switched).
 *
 * Commands: report (totals: ok,bad,patched,first error), kinds (per kind
 * "name:ok/bad/patched"), quit. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

enum { WAKE_MS = 5, TIMED_MS = 7 };

/* The patched function: 1 here, 2 in livepatch-syscalls. */
PATCHABLE int syscall_round(int kind) {
	return (kind >= 0) + *(volatile int *)&(int){ 0 };
}

enum Kind {
	K_READ, K_ACCEPT, K_NANOSLEEP, K_CLOCK_REL, K_CLOCK_ABS, K_COND, K_SEM,
	K_EPOLL, K_EPOLL_TIMED, K_POLL, K_POLL_TIMED, K_SELECT, K_SELECT_TIMED,
	K_SIGWAIT, K_SIGWAIT_TIMED, K_COUNT
};
static const char *kind_names[K_COUNT] = {
	"read", "accept", "nanosleep", "clock_nanosleep", "clock_nanosleep_abs", "cond_wait", "sem_wait",
	"epoll_wait", "epoll_wait_timeout", "poll", "poll_timeout", "select", "select_timeout",
	"sigwaitinfo", "sigtimedwait",
};

struct Stats { atomic_long ok, bad, patched; };
static struct Stats stats[K_COUNT];
static char first_error[256];
static pthread_mutex_t error_lock = PTHREAD_MUTEX_INITIALIZER;

static int read_pipe[2], poll_pipe[2], select_pipe[2];
static int listen_fd, event_fd, epoll_fd, epoll_idle_fd;
static struct sockaddr_un listen_addr;
static socklen_t listen_len;
static pthread_mutex_t cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned long cond_generation;
static sem_t sem;
static pthread_t sigwait_thread;

static void bad(enum Kind k, const char *what, long rc, int err) {
	char msg[256];
	snprintf(msg, sizeof msg, "%s: %s (rc=%ld errno=%d %s)", kind_names[k], what, rc, err, strerror(err));
	atomic_fetch_add(&stats[k].bad, 1);
	pthread_mutex_lock(&error_lock);
	note_first_error(first_error, sizeof first_error, msg);
	pthread_mutex_unlock(&error_lock);
}

static void done(enum Kind k) {
	atomic_fetch_add(&stats[k].ok, 1);
	if (syscall_round(k) == 2) atomic_fetch_add(&stats[k].patched, 1);
}

/* A timed call must have lasted its full duration (1 ms of slack for the
 * millisecond granularity of epoll_wait/poll timeouts). */
static void check_duration(enum Kind k, long long start) {
	long long elapsed = now_ns() - start;
	if (elapsed < (TIMED_MS - 1) * 1000000LL) bad(k, "returned early", (long)(elapsed / 1000), 0);
}

static void drain(int fd) {
	char buf[64];
	while (read(fd, buf, sizeof buf) > 0) {
	}
}

/* ---- the untimed calls, woken by waker() ---- */

static void do_read(void) {
	static uint64_t expected;
	uint64_t v = 0;
	ssize_t r = read(read_pipe[0], &v, sizeof v);
	if (r != (ssize_t)sizeof v) return bad(K_READ, "short or failed read", r, errno);
	if (v != ++expected) return bad(K_READ, "wrong data", (long)v, 0);
	done(K_READ);
}

static void do_accept(void) {
	int fd = accept(listen_fd, NULL, NULL);
	if (fd < 0) return bad(K_ACCEPT, "accept failed", fd, errno);
	char c = 0;
	ssize_t r = read(fd, &c, 1);
	close(fd);
	if (r != 1 || c != 'x') return bad(K_ACCEPT, "no data on the accepted connection", r, errno);
	done(K_ACCEPT);
}

static void do_cond(void) {
	static unsigned long seen;
	pthread_mutex_lock(&cond_lock);
	while (cond_generation == seen) {
		int rc = pthread_cond_wait(&cond, &cond_lock);
		if (rc) {
			pthread_mutex_unlock(&cond_lock);
			return bad(K_COND, "pthread_cond_wait failed", rc, rc);
		}
	}
	seen = cond_generation;
	pthread_mutex_unlock(&cond_lock);
	done(K_COND);
}

static void do_sem(void) {
	int rc = sem_wait(&sem);
	if (rc) return bad(K_SEM, "sem_wait failed", rc, errno);
	done(K_SEM);
}

static void do_epoll(void) {
	struct epoll_event ev;
	int n = epoll_wait(epoll_fd, &ev, 1, -1);
	if (n != 1) return bad(K_EPOLL, "epoll_wait without timeout", n, errno);
	uint64_t v;
	if (read(event_fd, &v, sizeof v) != sizeof v || v == 0) return bad(K_EPOLL, "eventfd empty", 0, errno);
	done(K_EPOLL);
}

static void do_poll(void) {
	struct pollfd p = { .fd = poll_pipe[0], .events = POLLIN };
	int n = poll(&p, 1, -1);
	if (n != 1 || !(p.revents & POLLIN)) return bad(K_POLL, "poll without timeout", n, errno);
	drain(poll_pipe[0]);
	done(K_POLL);
}

static void do_select(void) {
	fd_set set;
	FD_ZERO(&set);
	FD_SET(select_pipe[0], &set);
	int n = select(select_pipe[0] + 1, &set, NULL, NULL, NULL);
	if (n != 1 || !FD_ISSET(select_pipe[0], &set)) return bad(K_SELECT, "select without timeout", n, errno);
	drain(select_pipe[0]);
	done(K_SELECT);
}

static void do_sigwait(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	siginfo_t info;
	int s = sigwaitinfo(&set, &info);
	if (s != SIGUSR2) return bad(K_SIGWAIT, "sigwaitinfo", s, errno);
	done(K_SIGWAIT);
}

/* ---- the timed calls: each must time out after its full duration ---- */

static void do_nanosleep(void) {
	long long start = now_ns();
	struct timespec ts = { 0, TIMED_MS * 1000000L };
	int rc = nanosleep(&ts, NULL);
	if (rc) return bad(K_NANOSLEEP, "nanosleep", rc, errno);
	check_duration(K_NANOSLEEP, start);
	done(K_NANOSLEEP);
}

static void do_clock_rel(void) {
	long long start = now_ns();
	struct timespec ts = { 0, TIMED_MS * 1000000L };
	int rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	if (rc) return bad(K_CLOCK_REL, "clock_nanosleep", rc, rc);
	check_duration(K_CLOCK_REL, start);
	done(K_CLOCK_REL);
}

static void do_clock_abs(void) {
	long long start = now_ns(), end = start + TIMED_MS * 1000000LL;
	struct timespec ts = { end / 1000000000LL, end % 1000000000LL };
	int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	if (rc) return bad(K_CLOCK_ABS, "clock_nanosleep TIMER_ABSTIME", rc, rc);
	check_duration(K_CLOCK_ABS, start);
	done(K_CLOCK_ABS);
}

static void do_epoll_timed(void) {
	struct epoll_event ev;
	long long start = now_ns();
	int n = epoll_wait(epoll_idle_fd, &ev, 1, TIMED_MS);
	if (n != 0) return bad(K_EPOLL_TIMED, "epoll_wait with timeout", n, errno);
	check_duration(K_EPOLL_TIMED, start);
	done(K_EPOLL_TIMED);
}

static void do_poll_timed(void) {
	long long start = now_ns();
	int n = poll(NULL, 0, TIMED_MS);
	if (n != 0) return bad(K_POLL_TIMED, "poll with timeout", n, errno);
	check_duration(K_POLL_TIMED, start);
	done(K_POLL_TIMED);
}

static void do_select_timed(void) {
	long long start = now_ns();
	struct timeval tv = { 0, TIMED_MS * 1000L };
	int n = select(0, NULL, NULL, NULL, &tv);
	if (n != 0) return bad(K_SELECT_TIMED, "select with timeout", n, errno);
	check_duration(K_SELECT_TIMED, start);
	done(K_SELECT_TIMED);
}

static void do_sigwait_timed(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);  /* never sent */
	struct timespec ts = { 0, TIMED_MS * 1000000L };
	long long start = now_ns();
	int s = sigtimedwait(&set, NULL, &ts);
	if (s != -1 || errno != EAGAIN) return bad(K_SIGWAIT_TIMED, "sigtimedwait did not time out", s, errno);
	check_duration(K_SIGWAIT_TIMED, start);
	done(K_SIGWAIT_TIMED);
}

static void (*const calls[K_COUNT])(void) = {
	do_read, do_accept, do_nanosleep, do_clock_rel, do_clock_abs, do_cond, do_sem,
	do_epoll, do_epoll_timed, do_poll, do_poll_timed, do_select, do_select_timed,
	do_sigwait, do_sigwait_timed,
};

static void *blocker(void *arg) {
	enum Kind k = (enum Kind)(intptr_t)arg;
	if (k == K_SIGWAIT) sigwait_thread = pthread_self();
	for (;;) calls[k]();
	return NULL;
}

/* Wakes each untimed call once every WAKE_MS. */
static void *waker(void *arg) {
	(void)arg;
	uint64_t seq = 0, one = 1;
	for (;;) {
		struct timespec ts = { 0, WAKE_MS * 1000000L };
		nanosleep(&ts, NULL);
		++seq;
		if (write(read_pipe[1], &seq, sizeof seq) != sizeof seq) abort();
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&listen_addr, listen_len) || write(c, "x", 1) != 1) abort();
		close(c);
		pthread_mutex_lock(&cond_lock);
		cond_generation++;
		pthread_cond_signal(&cond);
		pthread_mutex_unlock(&cond_lock);
		sem_post(&sem);
		if (write(event_fd, &one, sizeof one) != sizeof one) abort();
		if (write(poll_pipe[1], "p", 1) != 1 || write(select_pipe[1], "s", 1) != 1) abort();
		if (sigwait_thread) pthread_kill(sigwait_thread, SIGUSR2);
	}
	return NULL;
}

static void setup(void) {
	if (pipe(read_pipe) || pipe(poll_pipe) || pipe(select_pipe)) abort();
	fcntl(poll_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(select_pipe[0], F_SETFL, O_NONBLOCK);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	listen_addr.sun_family = AF_UNIX;
	int n = snprintf(listen_addr.sun_path + 1, sizeof listen_addr.sun_path - 1, "uklp-safety-%d", getpid());
	listen_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if (bind(listen_fd, (struct sockaddr *)&listen_addr, listen_len) || listen(listen_fd, 1024)) abort();
	event_fd = eventfd(0, EFD_CLOEXEC);
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	epoll_idle_fd = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, event_fd, &ev)) abort();
	sem_init(&sem, 0, 0);
	/* SIGUSR2 is for sigwaitinfo: blocked in every thread. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int main(void) {
	char line[256];
	pthread_t t;
	setup();
	for (int k = 0; k < K_COUNT; k++) pthread_create(&t, NULL, blocker, (void *)(intptr_t)k);
	while (!sigwait_thread) usleep(1000);
	pthread_create(&t, NULL, waker, NULL);
	while (next_command(line, sizeof line)) {
		if (!strcmp(line, "report")) {
			long ok = 0, nbad = 0, patched = 0;
			for (int k = 0; k < K_COUNT; k++) {
				ok += stats[k].ok;
				nbad += stats[k].bad;
				patched += stats[k].patched;
			}
			pthread_mutex_lock(&error_lock);
			printf("report=%ld,%ld,%ld,%s\n", ok, nbad, patched, first_error[0] ? first_error : "none");
			pthread_mutex_unlock(&error_lock);
		} else if (!strcmp(line, "kinds")) {
			printf("kinds=");
			for (int k = 0; k < K_COUNT; k++)
				printf("%s%s:%ld/%ld/%ld", k ? " " : "", kind_names[k], stats[k].ok, stats[k].bad, stats[k].patched);
			printf("\n");
		} else if (!strcmp(line, "quit")) {
			fflush(stdout);
			_exit(0);
		} else {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
