/* mountns.c: a program in its own mount namespace, where its own files
 * are hidden, that later chroots away from everything, while patches come
 * and go.
 *
 * At start (before the runtime's constructor, by executing itself again)
 * it enters a new mount namespace (unshare(CLONE_NEWNS), / made private)
 * and mounts an empty tmpfs over each directory of SAFETY_HIDE (the test
 * names the program's own: not libuklp.so's, which LD_PRELOAD must still
 * find when the program executes itself): the program's binary, the patch
 * modules and their directory are gone from its view, while the uklp
 * CLI, in the original namespace, still opens the modules there and
 * passes their descriptors. "chroot DIR" makes DIR
 * (the test's, in the original view) the root: with "chroot DIR proc",
 * /proc is mounted in it first (the runtime finds itself through
 * /proc/self), without, the new root is empty. The workers call the
 * patched mn_value() (x + 1000, the patch's x + 2000).
 *
 * Commands: start N, hidden PATH (1 when PATH cannot be seen), chroot DIR
 * [proc] (0 or errno), report (calls,bad,patched,first error), quit. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "value_worker.h"

PATCHABLE int mn_value(int x) {
	return x + 1000 + *(volatile int *)&(int){ 0 };
}

/* A new mount namespace with an empty tmpfs over each directory of the
 * colon-separated `dirs`; 0 or errno. */
static int hide(const char *dirs) {
	char list[4096];
	snprintf(list, sizeof list, "%s", dirs);
	if (unshare(CLONE_NEWNS)) return errno;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) return errno;
	for (char *save, *dir = strtok_r(list, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
		if (mount("uklp-safety", dir, "tmpfs", 0, "size=64k")) return errno;
	return 0;
}

static int enter_root(const char *dir, int with_proc) {
	char proc[4200];
	snprintf(proc, sizeof proc, "%s/proc", dir);
	if (with_proc && (mkdir(proc, 0555) || mount("proc", proc, "proc", 0, NULL))) return errno;
	if (chroot(dir) || chdir("/")) return errno;
	return 0;
}

int main(int argc, char **argv) {
	char line[4096];
	const char *hide_dirs = getenv("SAFETY_HIDE");
	if (hide_dirs && argc < 2) {
		int rc = hide(hide_dirs);
		if (rc) {
			printf("hiding %s: %s\n", hide_dirs, strerror(rc));
			return 1;
		}
		char *again[] = { argv[0], "hidden", NULL };
		execv("/proc/self/exe", again);
		printf("exec: %s\n", strerror(errno));
		return 1;
	}
	while (next_command(line, sizeof line)) {
		int n;
		char path[4096], flag[16];
		if (sscanf(line, "hidden %4095s", path) == 1) {
			printf("hidden=%d\n", access(path, F_OK) != 0 && errno == ENOENT);
		} else if ((n = sscanf(line, "chroot %4095s %15s", path, flag)) >= 1) {
			printf("chroot=%d\n", enter_root(path, n == 2 && !strcmp(flag, "proc")));
		} else if (!value_command(line, mn_value)) {
			printf("unknown=%s\n", line);
		}
	}
	return 0;
}
