/* kill_after.c: an LD_PRELOAD shim that kills the `uklp` CLI (SIGKILL) at
 * a chosen point of its conversation with a runtime, for test_faults.py.
 *
 *   E2E_KILL_AFTER=N uklp load ...   (LD_PRELOAD=libe2e_kill_after.so)
 *
 * The CLI talks to the runtime with connect(2), sendmsg(2) and recvmsg(2)
 * (lib/protocol.cc, cli/client.cc), or recv(2) for many processes at once
 * (cli/batch_event_loop.cc); each call that returns is one event.
 * The process kills itself right after its N-th event, or before its first
 * connect when N is 0: the kill points are the protocol's own steps, the
 * same in every run, where a delay would land anywhere. Unset or negative:
 * nothing happens. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static long events;

static long limit(void) {
	static long value = -2;
	if (value == -2) {
		const char *s = getenv("E2E_KILL_AFTER");
		value = s && *s ? atol(s) : -1;
	}
	return value;
}

static void event(void) {
	long n = limit();
	if (n >= 0 && ++events >= n) kill(getpid(), SIGKILL);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
	static int (*real)(int, const struct sockaddr *, socklen_t);
	if (!real) real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	if (limit() == 0) kill(getpid(), SIGKILL);
	int rc = real(fd, addr, len);
	event();
	return rc;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
	static ssize_t (*real)(int, const struct msghdr *, int);
	if (!real) real = (ssize_t (*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	ssize_t rc = real(fd, msg, flags);
	event();
	return rc;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
	static ssize_t (*real)(int, struct msghdr *, int);
	if (!real) real = (ssize_t (*)(int, struct msghdr *, int))dlsym(RTLD_NEXT, "recvmsg");
	ssize_t rc = real(fd, msg, flags);
	event();
	return rc;
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
	static ssize_t (*real)(int, void *, size_t, int);
	if (!real) real = (ssize_t (*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
	ssize_t rc = real(fd, buf, len, flags);
	event();
	return rc;
}
