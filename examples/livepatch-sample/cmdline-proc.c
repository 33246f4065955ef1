// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cmdline-proc: the user-space stand-in for the kernel's /proc/cmdline
 * (fs/proc/cmdline.c), the file that the kernel's
 * samples/livepatch/livepatch-sample.c changes.
 *
 *   cmdline-proc DIR [WORDS...]
 *
 * Makes DIR/cmdline a FIFO and serves it like a proc file: every reader
 * gets the output of cmdline_proc_show(), produced through a small
 * seq_file, then end of file:
 *
 *   $ cat DIR/cmdline
 *   cmdline-proc DIR WORDS...
 *
 * saved_command_line is the program's own command line, as /proc/cmdline
 * shows the kernel's. livepatch-sample.c replaces cmdline_proc_show().
 *
 * Start-up prints one line that scripts wait for:
 *   cmdline-proc: pid PID serving DIR/cmdline
 * SIGINT or SIGTERM removes the FIFO and exits 0 after printing
 *   cmdline-proc: stopped after N reads
 *
 * Threads: the main thread waits for the signals; a "proc" thread serves
 * the FIFO. A FIFO has no per-open file position, so after each answer the
 * server waits (10 ms polls) until that reader has closed its end before it
 * answers the next open; otherwise a slow reader could read two answers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "seq_file.h"

/* ---- a seq_file, reduced to one buffer (fs/seq_file.c) ---- */

void seq_printf(struct seq_file *m, const char *fmt, ...)
{
	size_t room = sizeof(m->buf) - m->count;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m->buf + m->count, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		m->count = sizeof(m->buf); /* overflow: the kernel retries with a larger buffer */
		return;
	}
	m->count += (size_t)n;
}

void seq_puts(struct seq_file *m, const char *s)
{
	seq_printf(m, "%s", s);
}

/* ---- /proc/cmdline ---- */

static char saved_command_line[4096];

/*
 * What `cat /proc/cmdline` prints. Reached only through the proc entry's
 * show pointer; noinline keeps it a function of its own at every
 * optimization level, as a function to be patched must be.
 */
__attribute__((noinline)) static int cmdline_proc_show(struct seq_file *m, void *v)
{
	(void)v;
	seq_puts(m, saved_command_line);
	seq_printf(m, "\n");
	return 0;
}

struct proc_entry {
	char path[PATH_MAX];
	int (*show)(struct seq_file *m, void *v);
};

static struct proc_entry cmdline_entry;
static atomic_ulong reads;

static void save_command_line(int argc, char **argv)
{
	size_t len = 0;

	for (int i = 0; i < argc && len < sizeof(saved_command_line); i++)
		len += (size_t)snprintf(saved_command_line + len, sizeof(saved_command_line) - len,
					"%s%s", i ? " " : "", argv[i]);
}

/* proc_create_single(): the entry DIR/NAME, shown by show. */
static int proc_create_single(struct proc_entry *e, const char *dir, const char *name,
			      int (*show)(struct seq_file *, void *))
{
	snprintf(e->path, sizeof(e->path), "%s/%s", dir, name);
	e->show = show;
	unlink(e->path);
	if (mkfifo(e->path, 0644) < 0) {
		fprintf(stderr, "cmdline-proc: cannot make %s: %s\n", e->path, strerror(errno));
		return -1;
	}
	return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the reader went away */
		p += w;
		n -= (size_t)w;
	}
}

/* Waits until no reader has the FIFO open (a non-blocking open for
 * writing fails with ENXIO then). */
static void wait_reader_gone(const char *path)
{
	const struct timespec poll_interval = { 0, 10 * 1000 * 1000 };

	for (;;) {
		int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0)
			return;
		close(fd);
		nanosleep(&poll_interval, NULL);
	}
}

/* One read of the entry: the show function's output, then end of file. */
static void proc_serve_one(struct proc_entry *e)
{
	struct seq_file m = { .count = 0 };
	int fd = open(e->path, O_WRONLY | O_CLOEXEC); /* blocks until a reader opens */

	if (fd < 0)
		return;
	e->show(&m, NULL);
	write_all(fd, m.buf, m.count);
	close(fd);
	atomic_fetch_add(&reads, 1);
	wait_reader_gone(e->path);
}

static void *proc_thread(void *arg)
{
	struct proc_entry *e = arg;

	for (;;)
		proc_serve_one(e);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t thread;
	sigset_t stop;
	int sig;

	if (argc < 2) {
		fprintf(stderr, "usage: cmdline-proc DIR [WORDS...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	save_command_line(argc, argv);

	/* The signals are taken by sigwait below, in every thread. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	if (proc_create_single(&cmdline_entry, argv[1], "cmdline", cmdline_proc_show) < 0)
		return 1;
	if (pthread_create(&thread, NULL, proc_thread, &cmdline_entry) != 0) {
		fprintf(stderr, "cmdline-proc: cannot start the proc thread\n");
		return 1;
	}
	pthread_setname_np(thread, "proc");
	printf("cmdline-proc: pid %d serving %s\n", getpid(), cmdline_entry.path);

	sigwait(&stop, &sig);
	unlink(cmdline_entry.path);
	printf("cmdline-proc: stopped after %lu reads\n", atomic_load(&reads));
	return 0;
}
