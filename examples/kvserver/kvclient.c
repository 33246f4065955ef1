/*
 * kvclient: a client for the kvserver demo service.
 *
 *   kvclient [-p PORT] send LINE...
 *       Sends each line as one command and prints it and its reply:
 *         > SET greeting hello world
 *         < OK
 *   kvclient [-p PORT] [-c CONNS] [-n REQUESTS] [-t SECONDS] [-e buggy|fixed] load
 *       CONNS threads (default 4), each on its own connection, issue
 *       SET/GET pairs (and now and then DEL/GET) and check every reply,
 *       until REQUESTS requests were sent, SECONDS passed, or SIGINT/SIGTERM
 *       (default: -n 400; -n 0 without -t: until a signal). Half of the
 *       values contain blanks. Prints
 *         requests=N ok=N buggy=N failed=N
 *       where buggy counts wrong answers and failed counts requests that got
 *       no answer (connection refused or reset, 5 s without a reply).
 *
 * Exit status: 0; 1 if a request failed (or, for send, got no reply);
 * 2 if -e was given and not met (buggy: no wrong answer seen; fixed: one
 * was); 64 for a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_MAX 2048
#define TIMEOUT_SECONDS 5
#define KEYS_PER_CONN 64

enum outcome { OK, BUGGY, FAILED };

struct options {
	int port;
	int conns;
	long requests; /* 0: no limit */
	double seconds; /* 0: no limit */
	const char *expect; /* NULL, "buggy" or "fixed" */
};

struct totals {
	atomic_long requests, ok, buggy, failed;
	atomic_long issued; /* requests claimed against the -n budget */
	atomic_flag first_buggy_shown;
};

/* A connection with a line reader. fd < 0: not connected. */
struct client {
	int fd;
	size_t len;
	char buf[REPLY_MAX];
};

struct loader {
	pthread_t thread;
	int id;
	const struct options *opt;
	struct totals *totals;
	double deadline;
};

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- connection ---- */

static int client_connect(struct client *cl, int port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	struct timeval tv = { .tv_sec = TIMEOUT_SECONDS };
	int one = 1;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cl->len = 0;
	cl->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cl->fd < 0)
		return -1;
	setsockopt(cl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(cl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(cl->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(cl->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(cl->fd);
		cl->fd = -1;
		return -1;
	}
	return 0;
}

static void client_close(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads one reply line into out (without the newline). */
static int read_line(struct client *cl, char *out, size_t size)
{
	char *nl;

	while (!(nl = memchr(cl->buf, '\n', cl->len))) {
		ssize_t k;

		if (cl->len == sizeof(cl->buf))
			return -1;
		k = recv(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len, 0);
		if (k < 0 && errno == EINTR)
			continue; /* a stop signal: finish this request anyway */
		if (k <= 0)
			return -1;
		cl->len += (size_t)k;
	}
	*nl = '\0';
	snprintf(out, size, "%s", cl->buf);
	cl->len -= (size_t)(nl + 1 - cl->buf);
	memmove(cl->buf, nl + 1, cl->len);
	return 0;
}

/* Sends one command line and reads its reply. */
static int roundtrip(struct client *cl, const char *line, char *reply, size_t size)
{
	char msg[REPLY_MAX];
	int n = snprintf(msg, sizeof(msg), "%s\n", line);

	if (n < 0 || (size_t)n >= sizeof(msg))
		return -1;
	if (send_all(cl->fd, msg, (size_t)n) < 0 || read_line(cl, reply, size) < 0) {
		client_close(cl);
		return -1;
	}
	return 0;
}

/* ---- send ---- */

static int run_send(const struct options *opt, int nlines, char **lines)
{
	struct client cl;
	char reply[REPLY_MAX];

	if (client_connect(&cl, opt->port) < 0) {
		fprintf(stderr, "kvclient: cannot connect to 127.0.0.1:%d: %s\n", opt->port, strerror(errno));
		return 1;
	}
	for (int i = 0; i < nlines; i++) {
		printf("> %s\n", lines[i]);
		if (roundtrip(&cl, lines[i], reply, sizeof(reply)) < 0) {
			printf("< (no reply)\n");
			return 1;
		}
		printf("< %s\n", reply);
	}
	client_close(&cl);
	return 0;
}

/* ---- load ---- */

static void count(struct totals *t, enum outcome o)
{
	atomic_fetch_add(&t->requests, 1);
	atomic_fetch_add(o == OK ? &t->ok : o == BUGGY ? &t->buggy : &t->failed, 1);
}

/* One request: sends line, compares the reply with expected. */
static enum outcome request(struct loader *l, struct client *cl, const char *line, const char *expected)
{
	char reply[REPLY_MAX];

	if (cl->fd < 0 && client_connect(cl, l->opt->port) < 0) {
		usleep(50 * 1000); /* the server is down: do not spin */
		return FAILED;
	}
	if (roundtrip(cl, line, reply, sizeof(reply)) < 0)
		return FAILED;
	if (strcmp(reply, expected) == 0)
		return OK;
	if (!atomic_flag_test_and_set(&l->totals->first_buggy_shown))
		printf("first wrong answer: %s -> \"%s\" (expected \"%s\")\n", line, reply, expected);
	return BUGGY;
}

static bool loader_should_stop(struct loader *l, long batch)
{
	if (stop_requested || (l->deadline > 0 && now() >= l->deadline))
		return true;
	return l->opt->requests > 0 && atomic_fetch_add(&l->totals->issued, batch) >= l->opt->requests;
}

/* One round: SET then GET of a key of this connection's own, and every 16th
 * round DEL and GET of it. */
static void loader_round(struct loader *l, struct client *cl, long i)
{
	char key[32], value[96], line[160], expected[128];
	int k = (int)(i % KEYS_PER_CONN);

	snprintf(key, sizeof(key), "k%d-%d", l->id, k);
	if (i % 2)
		snprintf(value, sizeof(value), "value %ld of client %d", i, l->id);
	else
		snprintf(value, sizeof(value), "v%ld.%d", i, l->id);
	snprintf(line, sizeof(line), "SET %s %s", key, value);
	count(l->totals, request(l, cl, line, "OK"));
	snprintf(line, sizeof(line), "GET %s", key);
	snprintf(expected, sizeof(expected), "VALUE %s", value);
	count(l->totals, request(l, cl, line, expected));
	if (i % 16 == 15) {
		snprintf(line, sizeof(line), "DEL %s", key);
		count(l->totals, request(l, cl, line, "DELETED"));
		snprintf(line, sizeof(line), "GET %s", key);
		count(l->totals, request(l, cl, line, "NOT_FOUND"));
	}
}

static void *loader_main(void *arg)
{
	struct loader *l = arg;
	struct client cl = { .fd = -1 };

	for (long i = 0; !loader_should_stop(l, i % 16 == 15 ? 4 : 2); i++)
		loader_round(l, &cl, i);
	client_close(&cl);
	return NULL;
}

static int load_verdict(const struct options *opt, long buggy, long failed)
{
	if (failed)
		return 1;
	if (opt->expect && strcmp(opt->expect, "buggy") == 0 && buggy == 0) {
		printf("kvclient: expected wrong answers, got none\n");
		return 2;
	}
	if (opt->expect && strcmp(opt->expect, "fixed") == 0 && buggy != 0) {
		printf("kvclient: expected no wrong answers, got %ld\n", buggy);
		return 2;
	}
	return 0;
}

static int run_load(const struct options *opt)
{
	struct loader *loaders = calloc((size_t)opt->conns, sizeof(*loaders));
	struct totals totals = { .first_buggy_shown = ATOMIC_FLAG_INIT };
	double deadline = opt->seconds > 0 ? now() + opt->seconds : 0;
	int started = 0;

	if (!loaders)
		return 1;
	for (; started < opt->conns; started++) {
		loaders[started] = (struct loader){ .id = started, .opt = opt, .totals = &totals, .deadline = deadline };
		if (pthread_create(&loaders[started].thread, NULL, loader_main, &loaders[started]) != 0)
			break;
	}
	for (int i = 0; i < started; i++)
		pthread_join(loaders[i].thread, NULL);
	free(loaders);
	printf("requests=%ld ok=%ld buggy=%ld failed=%ld\n", atomic_load(&totals.requests),
	       atomic_load(&totals.ok), atomic_load(&totals.buggy), atomic_load(&totals.failed));
	if (started < opt->conns)
		return 1;
	return load_verdict(opt, atomic_load(&totals.buggy), atomic_load(&totals.failed));
}

/* ---- main ---- */

static void usage(void)
{
	fprintf(stderr, "usage: kvclient [-p PORT] send LINE...\n"
			"       kvclient [-p PORT] [-c CONNS] [-n REQUESTS] [-t SECONDS] [-e buggy|fixed] load\n");
	exit(64);
}

static long number(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

static void parse_options(int argc, char **argv, struct options *opt)
{
	int c;

	/* '+': stop at the mode word, so that send's lines are never options. */
	while ((c = getopt(argc, argv, "+p:c:n:t:e:")) != -1) {
		switch (c) {
		case 'p': opt->port = (int)number(optarg, 1, 65535); break;
		case 'c': opt->conns = (int)number(optarg, 1, 1024); break;
		case 'n': opt->requests = number(optarg, 0, 1000000000); break;
		case 't': opt->seconds = (double)number(optarg, 0, 86400); break;
		case 'e':
			if (strcmp(optarg, "buggy") != 0 && strcmp(optarg, "fixed") != 0)
				usage();
			opt->expect = optarg;
			break;
		default: usage();
		}
	}
}

int main(int argc, char **argv)
{
	struct options opt = { .port = 7070, .conns = 4, .requests = -1 };
	struct sigaction sa = { .sa_handler = on_stop_signal };

	parse_options(argc, argv, &opt);
	if (optind >= argc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[optind], "send") == 0)
		return run_send(&opt, argc - optind - 1, argv + optind + 1);
	if (strcmp(argv[optind], "load") != 0 || optind + 1 != argc)
		usage();
	if (opt.requests < 0)
		opt.requests = opt.seconds > 0 ? 0 : 400;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return run_load(&opt);
}
