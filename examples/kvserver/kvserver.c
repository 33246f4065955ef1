/*
 * kvserver: the uklp demo service, an in-memory key-value server.
 *
 *   kvserver [PORT [WORKERS]]    (defaults: 7070, 4; PORT 0 picks a free one)
 *
 * Line protocol on 127.0.0.1:PORT, one reply line per command:
 *
 *   SET key value   -> OK                 (the value is the rest of the line)
 *   GET key         -> VALUE value | NOT_FOUND
 *   DEL key         -> DELETED | NOT_FOUND
 *   STATS           -> STATS keys=N connections=N commands=N gets=N ...
 *   QUIT            -> BYE, and the server closes the connection
 *   anything else   -> ERROR ...
 *
 * Threads: a fixed pool of workers. Each one polls the shared, non-blocking
 * listening socket and the connections it accepted itself, so a connection
 * is served by one worker for its whole life. The main thread waits for
 * SIGINT or SIGTERM and stops the workers through a pipe.
 *
 * The planted bug: cmd_set() parses its arguments with sscanf("%s %s"),
 * which stops the value at its first blank, so `SET greeting hello world`
 * stores "hello". livepatch-kvfix.c replaces cmd_set() in the running
 * process. The command handlers are reached through the `commands` table
 * (never called directly), which keeps them out of line and unchanged in
 * signature at -O2, as a patchable function must be.
 *
 * Startup prints one line that scripts wait for:
 *   kvserver: pid PID listening on 127.0.0.1:PORT with N workers
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvserver.h"

#define DEFAULT_PORT 7070
#define DEFAULT_WORKERS 4
#define MAX_WORKERS 64
#define MAX_CONNS 256                  /* per worker */
#define IN_SIZE 4096                   /* longest line: 4 + KV_MAX_KEY + 1 + KV_MAX_VALUE + 2 */
#define OUT_SIZE 65536
#define MAX_REPLY (KV_MAX_VALUE + 256) /* room kept free before each command */

#define STR_(x) #x
#define STR(x) STR_(x)

struct conn {
	int fd;
	bool quit;    /* QUIT seen: close once the output is flushed */
	bool closing; /* close now */
	size_t in_len;
	size_t out_len, out_off;
	char in[IN_SIZE];
	char out[OUT_SIZE];
};

struct worker {
	pthread_t thread;
	int listen_fd, stop_fd;
	size_t nconns;
	struct conn *conns[MAX_CONNS];
	struct pollfd pfds[MAX_CONNS + 2]; /* stop pipe, listener, conns */
};

struct command {
	const char *name;
	void (*run)(struct conn *c, char *args);
};

static struct kv_stats stats;

/* ---- replies ---- */

/* Appends one formatted reply to the connection's output buffer. The caller
 * of every command keeps MAX_REPLY bytes free (conn_execute_lines), so a
 * reply never has to wait for the socket. */
static void reply(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct conn *c, const char *fmt, ...)
{
	size_t room = OUT_SIZE - c->out_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->out + c->out_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		c->closing = true; /* cannot happen with MAX_REPLY kept free */
		return;
	}
	c->out_len += (size_t)n;
}

/* ---- commands ---- */

/* The next blank-separated word of *args, NUL-terminated in place. */
static char *next_word(char **args)
{
	char *word = *args + strspn(*args, " "), *end;

	end = word + strcspn(word, " ");
	*args = *end ? end + 1 : end;
	*end = '\0';
	return word;
}

/* SET key value: stores value (the rest of the line) under key. */
static void cmd_set(struct conn *c, char *args)
{
	char key[KV_MAX_KEY + 1], value[KV_MAX_VALUE + 1];

	if (sscanf(args, "%" STR(KV_MAX_KEY) "s %" STR(KV_MAX_VALUE) "s", key, value) != 2) {
		reply(c, "ERROR usage: SET key value\n");
		return;
	}
	atomic_fetch_add(&stats.sets, 1);
	if (kv_set(key, value, strlen(value)) < 0) {
		reply(c, "ERROR out of memory\n");
		return;
	}
	reply(c, "OK\n");
}

static void cmd_get(struct conn *c, char *args)
{
	char *key = next_word(&args), value[KV_MAX_VALUE];
	ssize_t len;

	if (!*key || *args) {
		reply(c, "ERROR usage: GET key\n");
		return;
	}
	atomic_fetch_add(&stats.gets, 1);
	len = kv_get(key, value, sizeof(value));
	if (len < 0) {
		atomic_fetch_add(&stats.misses, 1);
		reply(c, "NOT_FOUND\n");
		return;
	}
	atomic_fetch_add(&stats.hits, 1);
	reply(c, "VALUE %.*s\n", (int)len, value);
}

static void cmd_del(struct conn *c, char *args)
{
	char *key = next_word(&args);

	if (!*key || *args) {
		reply(c, "ERROR usage: DEL key\n");
		return;
	}
	atomic_fetch_add(&stats.dels, 1);
	if (kv_del(key) < 0) {
		atomic_fetch_add(&stats.misses, 1);
		reply(c, "NOT_FOUND\n");
		return;
	}
	atomic_fetch_add(&stats.hits, 1);
	reply(c, "DELETED\n");
}

static void cmd_stats(struct conn *c, char *args)
{
	(void)args;
	reply(c, "STATS keys=%zu connections=%lu commands=%lu gets=%lu sets=%lu dels=%lu hits=%lu misses=%lu\n",
	      kv_count(), atomic_load(&stats.connections), atomic_load(&stats.commands),
	      atomic_load(&stats.gets), atomic_load(&stats.sets), atomic_load(&stats.dels),
	      atomic_load(&stats.hits), atomic_load(&stats.misses));
}

static void cmd_quit(struct conn *c, char *args)
{
	(void)args;
	reply(c, "BYE\n");
	c->quit = true;
}

static const struct command commands[] = {
	{ "SET", cmd_set },
	{ "GET", cmd_get },
	{ "DEL", cmd_del },
	{ "STATS", cmd_stats },
	{ "QUIT", cmd_quit },
};

static void execute_line(struct conn *c, char *line)
{
	size_t len = strlen(line);
	char *name;

	if (len && line[len - 1] == '\r')
		line[len - 1] = '\0';
	atomic_fetch_add(&stats.commands, 1);
	name = next_word(&line);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcasecmp(name, commands[i].name) == 0) {
			commands[i].run(c, line);
			return;
		}
	}
	reply(c, "ERROR unknown command '%.32s'\n", name);
}

/* ---- connections ---- */

/* Executes the complete lines of the input buffer while there is room for
 * their replies. */
static void conn_execute_lines(struct conn *c)
{
	size_t start = 0;
	char *nl;

	while (!c->quit && !c->closing && OUT_SIZE - c->out_len >= MAX_REPLY &&
	       (nl = memchr(c->in + start, '\n', c->in_len - start))) {
		*nl = '\0';
		execute_line(c, c->in + start);
		start = (size_t)(nl - c->in) + 1;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len == IN_SIZE && !memchr(c->in, '\n', IN_SIZE)) {
		reply(c, "ERROR line too long\n");
		c->quit = true;
	}
}

/* Writes out what the socket takes. True once the buffer is empty. */
static bool conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN)
				c->closing = true;
			return false;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return true;
}

static bool conn_has_line(const struct conn *c)
{
	return memchr(c->in, '\n', c->in_len) != NULL;
}

/* Runs commands and flushes replies until input or socket runs dry. */
static void conn_progress(struct conn *c)
{
	for (;;) {
		conn_execute_lines(c);
		if (!conn_flush(c) || c->quit || c->closing || !conn_has_line(c))
			return;
	}
}

static void conn_read(struct conn *c)
{
	ssize_t n;

	do
		n = recv(c->fd, c->in + c->in_len, IN_SIZE - c->in_len, 0);
	while (n < 0 && errno == EINTR);
	if (n == 0 || (n < 0 && errno != EAGAIN))
		c->closing = true;
	else if (n > 0)
		c->in_len += (size_t)n;
}

static void conn_service(struct conn *c, short revents)
{
	if (revents & (POLLERR | POLLNVAL)) {
		c->closing = true;
		return;
	}
	if (c->out_len && !conn_flush(c))
		return;
	if (revents & (POLLIN | POLLHUP))
		conn_read(c);
	conn_progress(c);
}

static bool conn_done(const struct conn *c)
{
	return c->closing || (c->quit && c->out_len == 0);
}

/* ---- workers ---- */

static void worker_accept(struct worker *w)
{
	struct conn *c;
	int fd;

	do
		fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return; /* EAGAIN: another worker took it */
	c = w->nconns < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	w->conns[w->nconns++] = c;
	atomic_fetch_add(&stats.connections, 1);
}

static size_t worker_pollset(struct worker *w)
{
	w->pfds[0] = (struct pollfd){ .fd = w->stop_fd, .events = POLLIN };
	w->pfds[1] = (struct pollfd){ .fd = w->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < w->nconns; i++) {
		struct conn *c = w->conns[i];

		w->pfds[2 + i] = (struct pollfd){ .fd = c->fd, .events = c->out_len ? POLLOUT : POLLIN };
	}
	return 2 + w->nconns;
}

/* Closes and drops the connections that are done, keeping the order. */
static void worker_reap(struct worker *w)
{
	size_t kept = 0;

	for (size_t i = 0; i < w->nconns; i++) {
		struct conn *c = w->conns[i];

		if (conn_done(c)) {
			close(c->fd);
			free(c);
		} else {
			w->conns[kept++] = c;
		}
	}
	w->nconns = kept;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		size_t polled = worker_pollset(w) - 2;

		if (poll(w->pfds, 2 + polled, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("kvserver: poll");
			break;
		}
		if (w->pfds[0].revents)
			break;
		/* Connections accepted below are appended after the polled ones. */
		for (size_t i = 0; i < polled; i++)
			if (w->pfds[2 + i].revents)
				conn_service(w->conns[i], w->pfds[2 + i].revents);
		if (w->pfds[1].revents & POLLIN)
			worker_accept(w);
		worker_reap(w);
	}
	for (size_t i = 0; i < w->nconns; i++)
		w->conns[i]->closing = true;
	worker_reap(w);
	return NULL;
}

/* ---- main ---- */

static int listen_on(int port, int *bound_port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	socklen_t len = sizeof(addr);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
		fprintf(stderr, "kvserver: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
		return -1;
	}
	*bound_port = ntohs(addr.sin_port);
	return fd;
}

static int parse_arg(const char *s, int min, int max, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "kvserver: invalid %s '%s' (%d..%d)\n", what, s, min, max);
		exit(2);
	}
	return (int)v;
}

static int start_workers(struct worker *workers, int n, int listen_fd, int stop_fd)
{
	for (int i = 0; i < n; i++) {
		workers[i].listen_fd = listen_fd;
		workers[i].stop_fd = stop_fd;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
			fprintf(stderr, "kvserver: cannot start worker %d\n", i);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? parse_arg(argv[1], 0, 65535, "port") : DEFAULT_PORT;
	int nworkers = argc > 2 ? parse_arg(argv[2], 1, MAX_WORKERS, "worker count") : DEFAULT_WORKERS;
	static struct worker workers[MAX_WORKERS];
	int listen_fd, bound_port, stop_pipe[2], sig;
	sigset_t stop_signals;

	/* Workers inherit the mask: only the main thread takes these two. */
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	listen_fd = listen_on(port, &bound_port);
	if (listen_fd < 0 || pipe2(stop_pipe, O_CLOEXEC) < 0 ||
	    start_workers(workers, nworkers, listen_fd, stop_pipe[0]) < 0)
		return 1;
	printf("kvserver: pid %d listening on 127.0.0.1:%d with %d workers\n", (int)getpid(), bound_port,
	       nworkers);
	fflush(stdout);

	sigwait(&stop_signals, &sig);
	printf("kvserver: %s, stopping\n", strsignal(sig));
	if (write(stop_pipe[1], "", 1) != 1)
		return 1;
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	printf("kvserver: stopped after %lu connections, %lu commands\n", atomic_load(&stats.connections),
	       atomic_load(&stats.commands));
	return 0;
}
