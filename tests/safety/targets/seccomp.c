/* seccomp.c: a program under a seccomp filter that forbids making memory
 * executable after the fact, while patches come and go.
 *
 * The filter (a classic BPF program, SECCOMP_SET_MODE_FILTER with TSYNC,
 * so the runtime's control thread is under it too) answers EPERM to
 * mprotect and pkey_mprotect with PROT_EXEC and to mmap with both
 * PROT_WRITE and PROT_EXEC; "strict" also to mmap with PROT_EXEC at all (a
 * policy under which no library can be loaded any more). Installed:
 *  - before the runtime starts, when SAFETY_SECCOMP_EARLY=1: the program
 *    installs it and executes itself again (/proc/self/exe), so the
 *    runtime's constructor and everything after it run under the filter;
 *  - on the command "filter" or "filter strict", at any later time.
 * "filter debug" installs another filter, the one of systemd's services
 * without @debug (SystemCallFilter=@system-service): ptrace and
 * process_vm_readv/writev refused with EPERM, so the runtime's tracer
 * cannot stop any thread.
 * Workers call the patched sc_value() (x + 1000, the patch's x + 2000).
 *
 * Commands: start N, filter [strict|debug], probe (errno of an mprotect(PROT_EXEC)
 * of a fresh page: 1 = EPERM, filtered), report (calls,bad,patched,first
 * error), quit. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "value_worker.h"

PATCHABLE int sc_value(int x) {
	return x + 1000 + *(volatile int *)&(int){ 0 };
}

#define ARG_LO(n) offsetof(struct seccomp_data, args[n])
#define DENY BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
/* Other architectures' calls pass; the accumulator holds the call number. */
#define LOAD_X86_64_NR                                                             \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),   \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0), ALLOW,      \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))

/* For every thread (TSYNC): the runtime's control thread, and the tracer
 * it forks, are under the filter too. */
static int install(struct sock_fprog *prog) {
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, prog)) return errno;
	return 0;
}

static int install_filter(int strict) {
	/* mmap's prot test: PROT_WRITE|PROT_EXEC both set, or (strict) PROT_EXEC. */
	unsigned mmap_mask = strict ? PROT_EXEC : PROT_WRITE | PROT_EXEC;
	struct sock_filter f[] = {
		LOAD_X86_64_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pkey_mprotect, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 4, 3),
		/* mprotect, pkey_mprotect: deny PROT_EXEC */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
		DENY,
		ALLOW,
		/* mmap: deny when every bit of mmap_mask is set */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, mmap_mask),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, mmap_mask, 0, 1),
		DENY,
		ALLOW,
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	return install(&prog);
}

static int install_debug_filter(void) {
	struct sock_filter f[] = {
		LOAD_X86_64_NR,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_writev, 1, 0),
		ALLOW,
		DENY,
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	return install(&prog);
}

/* 1 when mprotect(PROT_EXEC) of a fresh page fails with EPERM. */
static int probe(void) {
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) return -1;
	int denied = mprotect(p, 4096, PROT_READ | PROT_EXEC) != 0 && errno == EPERM;
	munmap(p, 4096);
	return denied;
}

int main(int argc, char **argv) {
	char line[256];
	const char *early = getenv("SAFETY_SECCOMP_EARLY");
	if (early && !strcmp(early, "1") && argc < 2) {
		int rc = install_filter(0);
		if (rc) {
			printf("seccomp filter: %s\n", strerror(rc));
			return 1;
		}
		char *again[] = { argv[0], "filtered", NULL };
		execv("/proc/self/exe", again);
		printf("exec: %s\n", strerror(errno));
		return 1;
	}
	while (next_command(line, sizeof line)) {
		if (!strcmp(line, "filter debug")) {
			printf("filter=%d\n", install_debug_filter());
		} else if (!strncmp(line, "filter", 6)) {
			printf("filter=%d\n", install_filter(!strcmp(line, "filter strict")));
		} else if (!strcmp(line, "probe")) {
			printf("probe=%d\n", probe());
		} else if (!value_command(line, sc_value)) {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
