/* wxtext.c: a program that makes its own text writable (RWX), writes its
 * own code, and puts it back (R-X), while patches come and go.
 *
 * Workers call the patched wx_value() in a loop (x + 1000, the patch's
 * x + 2000; anything else is bad). "wx" makes every executable segment of
 * the program read-write-execute, "rx" read-execute again; "poke N"
 * rewrites the 32-bit immediate of wx_const() (assembly: mov $imm, %eax;
 * ret) in place and calls it, which must then return N. The runtime writes
 * its code through /proc/self/mem and never changes page protections: a
 * runtime that made the pages writable for its own writes and restored
 * R-X afterwards would make the next "poke" fault, and "perms" (the
 * protection of wx_value's page in /proc/self/maps) would show it.
 *
 * Commands: start N, wx, rx, poke N, perms, report (calls,bad,patched,
 * first error), quit. */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "value_worker.h"

__asm__(".text\n"
	".p2align 4\n"
	".type wx_const, @function\n"
	"wx_const:\n"
	".cfi_startproc\n"
	"	.byte 0xb8\n" /* mov $imm32, %eax */
	"wx_const_imm:\n"
	"	.long 7\n"
	"	ret\n"
	".cfi_endproc\n"
	".size wx_const, .-wx_const\n");
int wx_const(void);
extern char wx_const_imm[];

PATCHABLE int wx_value(int x) {
	return x + 1000 + *(volatile int *)&(int){ 0 };
}

/* Every PF_X segment of the main program (the first object listed). */
static int protect_main_text(struct dl_phdr_info *info, size_t size, void *data) {
	(void)size;
	int prot = *(int *)data;
	long page = sysconf(_SC_PAGESIZE);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
		uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~(uintptr_t)(page - 1);
		uintptr_t end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		if (mprotect((void *)start, end - start, prot)) return errno;
	}
	return -1;  /* stop after the main program */
}

static int set_text(int prot) {
	int rc = dl_iterate_phdr(protect_main_text, &prot);
	return rc == -1 ? 0 : rc;
}

static void perms_of(uintptr_t addr, char *out) {
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	strcpy(out, "none");
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char p[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, p) == 3 && addr >= lo && addr < hi) {
			strcpy(out, p);
			break;
		}
	}
	if (f) fclose(f);
}

int main(void) {
	char line[256], perms[8];
	while (next_command(line, sizeof line)) {
		int n;
		if (!strcmp(line, "wx")) {
			printf("wx=%d\n", set_text(PROT_READ | PROT_WRITE | PROT_EXEC));
		} else if (!strcmp(line, "rx")) {
			printf("rx=%d\n", set_text(PROT_READ | PROT_EXEC));
		} else if (sscanf(line, "poke %d", &n) == 1) {
			/* Plain stores into our own code: faults unless the page is writable. */
			int32_t v = n;
			memcpy(wx_const_imm, &v, sizeof v);
			__builtin___clear_cache(wx_const_imm, wx_const_imm + sizeof v);
			printf("poke=%d\n", wx_const());
		} else if (!strcmp(line, "perms")) {
			perms_of((uintptr_t)wx_value, perms);
			printf("perms=%s\n", perms);
		} else if (!value_command(line, wx_value)) {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
