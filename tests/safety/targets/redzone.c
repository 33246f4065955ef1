/* redzone.c: live data in the x86-64 red zone of threads that the tracer
 * stops again and again (stack checks of every transition, entry switches).
 *
 * The System V ABI lets a leaf function keep data in the 128 bytes below
 * rsp without moving rsp; signal delivery skips them, and so must anything
 * the runtime or its tracer does to an interrupted thread. rz_spin() (in
 * assembly, a leaf, not patched) fills all 16 quadwords of its red zone
 * with values derived from its seed, then reads them back `rounds` times
 * and counts every quadword that changed. Worker threads spend nearly all
 * their time there, and call the patched rz_value() between two spins
 * (x + 1000, the patch's x + 2000; anything else is bad), so the tracer's
 * stops land inside rz_spin and the threads are switched there.
 *
 * Commands: start N (N workers), report (spins,bad,patched,first error),
 * quit. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

enum { ROUNDS = 4000 };

/* rz_spin(seed, rounds): rdi = seed, rsi = rounds > 0; returns the number
 * of red-zone quadwords that did not hold what was stored. The value
 * sequence v(i+1) = rol(v(i), 7) + 0x3b makes every slot differ. The CFI
 * (rsp untouched: the CFA is rsp + 8) lets the tracer unwind through it. */
__asm__(".text\n"
	".p2align 4\n"
	".type rz_spin, @function\n"
	"rz_spin:\n"
	".cfi_startproc\n"
	"	mov %rdi, %rax\n"
	"	xor %ecx, %ecx\n"
	"1:	mov %rax, -128(%rsp,%rcx,8)\n"
	"	rol $7, %rax\n"
	"	add $0x3b, %rax\n"
	"	inc %ecx\n"
	"	cmp $16, %ecx\n"
	"	jne 1b\n"
	"	xor %edx, %edx\n"
	"2:	mov %rdi, %rax\n"
	"	xor %ecx, %ecx\n"
	"3:	cmp %rax, -128(%rsp,%rcx,8)\n"
	"	je 4f\n"
	"	inc %rdx\n"
	"4:	rol $7, %rax\n"
	"	add $0x3b, %rax\n"
	"	inc %ecx\n"
	"	cmp $16, %ecx\n"
	"	jne 3b\n"
	"	dec %rsi\n"
	"	jnz 2b\n"
	"	mov %rdx, %rax\n"
	"	ret\n"
	".cfi_endproc\n"
	".size rz_spin, .-rz_spin\n");
long rz_spin(uint64_t seed, long rounds);

PATCHABLE long rz_value(long x) {
	return x + 1000 + *(volatile int *)&(int){ 0 };
}

static atomic_long spins, nbad, patched;
static char first_error[256];

static void *worker(void *arg) {
	uint64_t seed = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
	for (long x = 0;; x = (x + 1) & 0xffff) {
		long lost = rz_spin(seed++, ROUNDS);
		long v = rz_value(x);
		if (lost) {
			char msg[128];
			snprintf(msg, sizeof msg, "%ld red-zone quadword reads differed in one spin", lost);
			note_first_error(first_error, sizeof first_error, msg);
			atomic_fetch_add(&nbad, 1);
		}
		if (v == x + 2000) {
			atomic_fetch_add(&patched, 1);
		} else if (v != x + 1000) {
			note_first_error(first_error, sizeof first_error, "rz_value returned neither x+1000 nor x+2000");
			atomic_fetch_add(&nbad, 1);
		}
		atomic_fetch_add_explicit(&spins, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(void) {
	char line[256];
	pthread_t t;
	if (rz_spin(1, 10) != 0) abort();  /* the check itself works */
	while (next_command(line, sizeof line)) {
		int n;
		if (sscanf(line, "start %d", &n) == 1) {
			for (int i = 0; i < n; i++) pthread_create(&t, NULL, worker, (void *)(intptr_t)i);
			printf("start=%d\n", n);
		} else if (!strcmp(line, "report")) {
			printf("report=%ld,%ld,%ld,%s\n", spins, nbad, patched, first_error[0] ? first_error : "none");
		} else if (!strcmp(line, "quit")) {
			fflush(stdout);
			_exit(0);
		} else {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
