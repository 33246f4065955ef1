/*
 * spawn.c: times whole program runs, for the start-up benchmark.
 *
 *   bench_spawn RUNS NAME [VAR=VALUE...] PROGRAM ARGS... [::: NAME ...]...
 *
 * runs each variant RUNS times, interleaved (A B C, B C A, C A B, ...: slow
 * drift of a shared machine hits every variant alike), and prints one line
 * `NAME WALL_NS MAIN_NS CPU_NS` per run:
 *   WALL_NS  from posix_spawn() to the end of wait4(): exec, dynamic loading,
 *            constructors, main, exit, and the time the machine gave to
 *            others meanwhile;
 *   MAIN_NS  from posix_spawn() to the start of main(), which the program
 *            reports as 8 bytes of CLOCK_MONOTONIC nanoseconds written to
 *            descriptor 3 (a pipe; -1 if it wrote nothing): the start-up
 *            part of WALL_NS, the rest being main() and exit;
 *   CPU_NS   the user and system time of the child (all its threads), from
 *            wait4()'s rusage.
 * VAR=VALUE words before PROGRAM are added to the environment (replacing a
 * variable of the same name). The programs' standard output goes to
 * /dev/null. A run that does not exit 0 stops everything.
 * bench.py reads the lines and computes the statistics.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { MAX_VARIANTS = 8, MAX_ENV = 512 };

struct variant {
	const char *name;
	char **argv;                 /* NULL-terminated, inside main's argv */
	char *envp[MAX_ENV];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* NAME=VALUE with NAME a shell variable name, not a path. */
static int is_assignment(const char *word)
{
	const char *eq = strchr(word, '=');
	if (!eq || eq == word || isdigit((unsigned char)word[0]))
		return 0;
	for (const char *c = word; c < eq; ++c)
		if (!isalnum((unsigned char)*c) && *c != '_')
			return 0;
	return 1;
}

/* environ without the variables `extra` sets, then `extra`. */
static int build_env(struct variant *v, char **extra, int n_extra)
{
	int n = 0;
	for (char **e = environ; *e; ++e) {
		int replaced = 0;
		for (int i = 0; i < n_extra; ++i) {
			size_t len = (size_t)(strchr(extra[i], '=') - extra[i]) + 1;
			replaced |= strncmp(*e, extra[i], len) == 0;
		}
		if (!replaced && n < MAX_ENV - 1)
			v->envp[n++] = *e;
	}
	for (int i = 0; i < n_extra && n < MAX_ENV - 1; ++i)
		v->envp[n++] = extra[i];
	v->envp[n] = NULL;
	return 0;
}

/* Parses `NAME [VAR=VALUE...] PROGRAM ARGS...` from args[0..]; ":::" ends it. */
static char **parse_variant(struct variant *v, char **args)
{
	v->name = *args++;
	char **extra = args;
	while (*args && is_assignment(*args))
		++args;
	build_env(v, extra, (int)(args - extra));
	v->argv = args;
	while (*args && strcmp(*args, ":::") != 0)
		++args;
	if (*args)
		*args++ = NULL;  /* terminates this variant's argv */
	return args;
}

static uint64_t cpu_ns(const struct rusage *ru)
{
	return ((uint64_t)ru->ru_utime.tv_sec + (uint64_t)ru->ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru->ru_utime.tv_usec + (uint64_t)ru->ru_stime.tv_usec) * 1000u;
}

/* The child's report of when main() began, or 0. */
static uint64_t read_main_time(int fd)
{
	uint64_t t = 0;
	if (read(fd, &t, sizeof t) != (ssize_t)sizeof t)
		return 0;
	return t;
}

static int spawn_child(const struct variant *v, int report_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, report_fd, 3);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	int rc = posix_spawn(pid, v->argv[0], &fa, NULL, v->argv, (char **)v->envp);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		fprintf(stderr, "bench_spawn: %s: %s\n", v->argv[0], strerror(rc));
	return rc;
}

static int run_once(const struct variant *v, uint64_t *wall, int64_t *main_ns, uint64_t *cpu)
{
	pid_t pid;
	int status, p[2];
	struct rusage ru;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	uint64_t t0 = now_ns();
	int rc = spawn_child(v, p[1], &pid);
	close(p[1]);
	if (rc != 0 || wait4(pid, &status, 0, &ru) != pid) {
		close(p[0]);
		return -1;
	}
	*wall = now_ns() - t0;
	uint64_t t_main = read_main_time(p[0]);
	close(p[0]);
	*main_ns = t_main ? (int64_t)(t_main - t0) : -1;
	*cpu = cpu_ns(&ru);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_spawn: %s: status 0x%x\n", v->name, status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct variant variants[MAX_VARIANTS];
	int n = 0;
	if (argc < 4) {
		fprintf(stderr, "usage: bench_spawn RUNS NAME [VAR=VALUE...] PROGRAM ARGS... [::: NAME ...]...\n");
		return 2;
	}
	long runs = strtol(argv[1], NULL, 10);
	for (char **a = argv + 2; *a && n < MAX_VARIANTS; ++n)
		a = parse_variant(&variants[n], a);
	for (long r = 0; r < runs; ++r) {
		for (int k = 0; k < n; ++k) {
			const struct variant *v = &variants[(r + k) % n];
			uint64_t wall, cpu;
			int64_t main_ns;
			if (run_once(v, &wall, &main_ns, &cpu) != 0)
				return 1;
			printf("%s %llu %lld %llu\n", v->name, (unsigned long long)wall, (long long)main_ns,
			       (unsigned long long)cpu);
		}
	}
	return 0;
}
