/* park_thread.c: stops a thread exactly between GCC's two entry NOPs.
 *
 *   park_thread TID ADDRESS HOLD_MS
 *
 * Attaches to thread TID with ptrace, single-steps it until its pc is
 * ADDRESS (the second entry NOP of a function it calls in a loop), prints
 * "parked", keeps it stopped there for HOLD_MS milliseconds, and detaches.
 * The thread then resumes at ADDRESS, as a thread preempted there would:
 * if uklp had written a jump over the two NOPs meanwhile, it would now
 * execute half an instruction. SIGUSR1 ends the hold early (killing this
 * process would not do: the kernel then delivers the pending single-step
 * SIGTRAP to the thread, which kills its process). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>

static void wake(int sig) { (void)sig; }

static void die(const char *what) {
	perror(what);
	exit(1);
}

int main(int argc, char **argv) {
	if (argc != 4) {
		fprintf(stderr, "usage: park_thread TID ADDRESS HOLD_MS\n");
		return 2;
	}
	pid_t tid = (pid_t)atoi(argv[1]);
	unsigned long long target = strtoull(argv[2], NULL, 0);
	long hold_ms = atol(argv[3]);
	int status;
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) die("PTRACE_SEIZE");
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0) die("PTRACE_INTERRUPT");
	if (waitpid(tid, &status, __WALL) < 0) die("waitpid");
	for (long steps = 0;; steps++) {
		struct user_regs_struct regs;
		if (ptrace(PTRACE_GETREGS, tid, 0, &regs) != 0) die("PTRACE_GETREGS");
		if (regs.rip == target) break;
		if (steps > 50000000) {
			fprintf(stderr, "park_thread: never reached %#llx\n", target);
			return 1;
		}
		if (ptrace(PTRACE_SINGLESTEP, tid, 0, 0) != 0) die("PTRACE_SINGLESTEP");
		if (waitpid(tid, &status, __WALL) < 0) die("waitpid");
	}
	struct sigaction sa = { .sa_handler = wake };  /* no SA_RESTART: nanosleep returns */
	sigaction(SIGUSR1, &sa, NULL);
	printf("parked\n");
	fflush(stdout);
	struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	if (ptrace(PTRACE_DETACH, tid, 0, 0) != 0) die("PTRACE_DETACH");
	return 0;
}
