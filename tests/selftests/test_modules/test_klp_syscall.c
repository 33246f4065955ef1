// SPDX-License-Identifier: GPL-2.0
/*
 * test_klp_syscall.c: port of the kernel selftests' test_klp_syscall:
 * patches the target's sys_getpid() (the kernel's __x64_sys_getpid) while
 * the threads listed in klp_pids (thread ids, comma-separated; the
 * kernel's process ids) call it in a loop. The new function strikes the
 * calling thread off the list; the read-only parameter npids (the
 * kernel's /sys/kernel/test_klp_syscall/npids) counts the threads that
 * have not called it yet, so 0 means every thread has switched.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uklp/livepatch.h>

#define MAX_PIDS 128

/* Protects klp_pid_list and npids. */
static pthread_mutex_t kpid_mutex = PTHREAD_MUTEX_INITIALIZER;

static char *klp_pids;
module_param(klp_pids, charp, 0);
MODULE_PARM_DESC(klp_pids, "Thread ids to be transitioned to the livepatched state, comma-separated");

static unsigned int npids;
module_param(npids, uint, 0444);
MODULE_PARM_DESC(npids, "Threads of klp_pids that have not run the livepatched sys_getpid yet");

static pid_t klp_pid_list[MAX_PIDS];
static unsigned int npids_total;

static long lp_sys_getpid(void)
{
	pid_t tid = gettid();

	pthread_mutex_lock(&kpid_mutex);
	for (unsigned int i = 0; npids > 0 && i < npids_total; i++) {
		if (klp_pid_list[i] == tid) {
			klp_pid_list[i] = 0;
			npids--;
			break;
		}
	}
	pthread_mutex_unlock(&kpid_mutex);

	return syscall(SYS_getpid);
}

static struct klp_func funcs[] = {
	{
		.old_name = "sys_getpid",
		.new_func = lp_sys_getpid,
	}, { }
};

static struct klp_object objs[] = {
	{
		/* name being NULL means the main program (the kernel's vmlinux) */
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int parse_klp_pids(void)
{
	for (char *p = klp_pids; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (npids_total == MAX_PIDS)
			return -E2BIG;
		klp_pid_list[npids_total++] = (pid_t)atoi(p);
	}
	return 0;
}

static int livepatch_init(void)
{
	int ret = parse_klp_pids();

	if (ret)
		return ret;
	/* Every listed thread is pending until it runs lp_sys_getpid(). */
	npids = npids_total;
	return klp_enable_patch(&patch);
}

static void livepatch_exit(void)
{
}

module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("Livepatch selftest: syscall transition");
