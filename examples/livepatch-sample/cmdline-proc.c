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
 * the FIFO. A FIFO has no per-open file position: a reader still reading
 * one answer would also get the next one written to the same FIFO. So as
 * soon as a reader has opened it, the server renames a new FIFO over the
 * path: the next reader opens the new one, and the answer goes to this
 * reader alone. (Readers that open at the very same moment share one
 * answer.)
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

/* A function of its own, under its own name, as a function to be patched
 * must be: GCC's -flive-patching=inline-clone still inlines and clones. */
#if defined(__GNUC__) && !defined(__clang__)
#define noinline __attribute__((noinline, noclone))
#else
#define noinline __attribute__((noinline))
#endif

/* What `cat /proc/cmdline` prints, reached through the proc entry's show
 * pointer. */
static noinline int cmdline_proc_show(struct seq_file *m, void *v)
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

/* A new FIFO at the entry's path, renamed over the old one (if any), so
 * that the path never goes missing for a reader. */
static int proc_new_fifo(const struct proc_entry *e)
{
	char tmp[PATH_MAX + 16];

	snprintf(tmp, sizeof(tmp), "%s.new", e->path);
	unlink(tmp);
	if (mkfifo(tmp, 0644) < 0 || rename(tmp, e->path) < 0) {
		fprintf(stderr, "cmdline-proc: cannot make %s: %s\n", e->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* proc_create_single(): the entry DIR/NAME, shown by show. */
static int proc_create_single(struct proc_entry *e, const char *dir, const char *name,
			      int (*show)(struct seq_file *, void *))
{
	snprintf(e->path, sizeof(e->path), "%s/%s", dir, name);
	e->show = show;
	return proc_new_fifo(e);
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

/* One read of the entry: the show function's output, then end of file. */
static void proc_serve_one(struct proc_entry *e)
{
	struct seq_file m = { .count = 0 };
	int fd = open(e->path, O_WRONLY | O_CLOEXEC); /* blocks until a reader opens */

	if (fd < 0)
		return;
	if (proc_new_fifo(e) < 0) /* the next reader opens another FIFO */
		exit(1);
	e->show(&m, NULL);
	write_all(fd, m.buf, m.count);
	close(fd);
	atomic_fetch_add(&reads, 1);
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
