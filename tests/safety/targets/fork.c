/* fork.c: fork() during a transition, from inside the patched function.
 *
 * A worker thread waits at a gate outside any patched function; "enter"
 * opens the gate and the worker calls fork_blocker() (patched), which
 * blocks reading a command pipe: while it sleeps there the transition
 * stays open. "fork" makes it fork right there. The child is the worker's
 * copy alone, still inside the old fork_blocker(), so the child's own
 * transition stays open until "release" lets that copy return; the child
 * then calls fork_value() (patched: 1 here, 2 in livepatch-fork) every
 * millisecond and writes "<pid> <value> <calls>" to the file named by the
 * command, until the file "<file>.stop" exists. The parent's worker
 * returns to its gate at once.
 *
 * "spawn_exec FILE": the main thread forks and the child execs this program
 * with the argument "exec FILE", which writes "<pid> ready" to FILE and
 * waits for FILE.stop (at most 20 s).
 *
 * Commands: enter, fork FILE (answers the child's pid), release, value
 * (fork_value() here), spawn_exec FILE (answers the pid), reap (waits for
 * the children: "exit statuses"), quit. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static int gate[2], command[2], child_release[2], answer_pipe[2];
static char child_file[256];

PATCHABLE int fork_value(void) {
	return 1 + *(volatile int *)&(int){ 0 };
}

static int file_exists(const char *path) {
	struct stat st;
	return stat(path, &st) == 0;
}

/* What the child does once its copy of fork_blocker() returned. */
static void child_main(void) {
	char stop[300], tmp[300];
	snprintf(stop, sizeof stop, "%s.stop", child_file);
	snprintf(tmp, sizeof tmp, "%s.tmp", child_file);
	long long deadline = now_ns() + 60000000000LL;
	for (long calls = 1; !file_exists(stop) && now_ns() < deadline; calls++) {
		int v = fork_value();
		if (calls % 10 == 1) {
			FILE *f = fopen(tmp, "w");
			if (f) {
				fprintf(f, "%d %d %ld\n", getpid(), v, calls);
				fclose(f);
				rename(tmp, child_file);
			}
		}
		usleep(1000);
	}
	_exit(0);
}

/* The patched function: blocks on the command pipe; 'f' forks here. In
 * the child, blocks again (its copy of this frame) until released. */
PATCHABLE int fork_blocker(void) {
	char c;
	if (read(command[0], &c, 1) != 1 || c != 'f') return 0;
	pid_t pid = fork();
	if (pid == 0) {
		if (read(child_release[0], &c, 1) != 1) _exit(3);
		return 1;
	}
	if (write(answer_pipe[1], &pid, sizeof pid) != sizeof pid) abort();
	return 0;
}

static void *worker(void *arg) {
	(void)arg;
	char c;
	while (read(gate[0], &c, 1) == 1)
		if (fork_blocker()) child_main();
	return NULL;
}

static int exec_main(const char *file) {
	char stop[300];
	snprintf(stop, sizeof stop, "%s.stop", file);
	FILE *f = fopen(file, "w");
	if (!f) return 2;
	fprintf(f, "%d ready\n", getpid());
	fclose(f);
	for (int i = 0; i < 20000 && !file_exists(stop); i++) usleep(1000);
	return 0;
}

int main(int argc, char **argv) {
	char line[256];
	pthread_t t;
	if (argc == 3 && !strcmp(argv[1], "exec")) return exec_main(argv[2]);
	if (pipe(gate) || pipe(command) || pipe(child_release) || pipe(answer_pipe)) abort();
	pthread_create(&t, NULL, worker, NULL);
	while (next_command(line, sizeof line)) {
		if (!strcmp(line, "enter")) {
			if (write(gate[1], "g", 1) != 1) abort();
			usleep(20000);  /* into fork_blocker's read() */
			printf("enter=1\n");
		} else if (!strncmp(line, "fork ", 5)) {
			pid_t pid = 0;
			snprintf(child_file, sizeof child_file, "%s", line + 5);
			if (write(command[1], "f", 1) != 1 || read(answer_pipe[0], &pid, sizeof pid) != sizeof pid) abort();
			printf("fork=%d\n", pid);
		} else if (!strcmp(line, "release")) {
			printf("release=%d\n", write(child_release[1], "r", 1) == 1);
		} else if (!strcmp(line, "value")) {
			printf("value=%d\n", fork_value());
		} else if (!strncmp(line, "spawn_exec ", 11)) {
			pid_t pid = fork();
			if (pid == 0) {
				execl("/proc/self/exe", argv[0], "exec", line + 11, (char *)NULL);
				_exit(127);
			}
			printf("spawn_exec=%d\n", pid);
		} else if (!strcmp(line, "reap")) {
			int status;
			pid_t pid;
			printf("reap=");
			while ((pid = waitpid(-1, &status, 0)) > 0) printf("%d ", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			printf("\n");
		} else if (!strcmp(line, "quit")) {
			break;
		} else {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
