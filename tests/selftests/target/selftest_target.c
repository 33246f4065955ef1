/*
 * selftest_target.c: the program that the ported kernel livepatch selftests
 * (tests/selftests/test_*.py) patch; it stands for the kernel.
 *
 * It reads one command per line on stdin and answers one line
 * "<command>=<result>" on stdout:
 *
 *   cat NAME             the output of /proc/NAME's show function: cmdline
 *                        and meminfo are the program's own (patched by
 *                        test_klp_livepatch and test_klp_atomic_replace),
 *                        a library may add one (test_klp_mod_target);
 *                        sys/kernel/printk shows console_loglevel
 *   dlopen FILE [P=V..]  loads FILE (from the program's directory) with
 *                        parameters, as insmod loads a module: "ok" or
 *                        "ERROR <dlerror>"
 *   dlclose FILE         unloads it, as rmmod: "ok" or "ERROR <reason>"
 *   getpid_start N       starts N threads calling sys_getpid() in a loop
 *                        (the kernel's test_klp-call_getpid processes);
 *                        answers their thread ids, comma-separated
 *   getpid_stop          stops and joins them; answers the number of calls
 *   quit
 *
 * Every function a test module patches is noipa: no caller may inline it
 * or rely on what it does, as for a function of the kernel.
 */
#define _GNU_SOURCE
#include "klp_selftest.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define PATCHABLE __attribute__((noipa))

/* ---- the program's /proc ---- */

typedef int (*proc_show_t)(struct seq_file *m, void *v);

struct proc_entry {
	char name[64];
	proc_show_t show;
};

#define MAX_PROC_ENTRIES 16
static struct proc_entry proc_entries[MAX_PROC_ENTRIES];
static char boot_cmdline[200];

PATCHABLE int seq_printf(struct seq_file *m, const char *fmt, ...)
{
	va_list ap;
	size_t room = sizeof(m->buf) - m->count;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(m->buf + m->count, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		m->count += (size_t)n < room ? (size_t)n : room - 1;
	return 0;
}

PATCHABLE int cmdline_proc_show(struct seq_file *m, void *v)
{
	(void)v;
	seq_printf(m, "%s\n", boot_cmdline);
	return 0;
}

/* The kernel's console_loglevel, the system state that test_klp_state
 * and its successors change from their callbacks. */
int console_loglevel = 7;

/* /proc/sys/kernel/printk: console_loglevel first, as in the kernel. */
PATCHABLE int printk_proc_show(struct seq_file *m, void *v)
{
	(void)v;
	seq_printf(m, "%d\t4\t1\t7\n", console_loglevel);
	return 0;
}

PATCHABLE int meminfo_proc_show(struct seq_file *m, void *v)
{
	struct sysinfo si;

	(void)v;
	if (sysinfo(&si))
		return -errno;
	seq_printf(m, "MemTotal: %lu kB\n", (unsigned long)(si.totalram * si.mem_unit / 1024));
	return 0;
}

void selftest_proc_create(const char *name, proc_show_t show)
{
	for (int i = 0; i < MAX_PROC_ENTRIES; i++) {
		if (!proc_entries[i].show) {
			snprintf(proc_entries[i].name, sizeof(proc_entries[i].name), "%s", name);
			proc_entries[i].show = show;
			return;
		}
	}
}

void selftest_proc_remove(const char *name)
{
	for (int i = 0; i < MAX_PROC_ENTRIES; i++)
		if (proc_entries[i].show && !strcmp(proc_entries[i].name, name))
			proc_entries[i].show = NULL;
}

static void read_boot_cmdline(void)
{
	FILE *f = fopen("/proc/self/cmdline", "r");
	size_t n = f ? fread(boot_cmdline, 1, sizeof(boot_cmdline) - 1, f) : 0;

	if (f)
		fclose(f);
	for (size_t i = 0; i + 1 < n; i++)
		if (!boot_cmdline[i])
			boot_cmdline[i] = ' ';
}

static void cat(const char *name)
{
	struct seq_file m = { .count = 0 };

	for (int i = 0; i < MAX_PROC_ENTRIES; i++) {
		if (proc_entries[i].show && !strcmp(proc_entries[i].name, name)) {
			int ret = proc_entries[i].show(&m, NULL);

			while (m.count && m.buf[m.count - 1] == '\n')
				m.buf[--m.count] = 0;
			if (ret)
				printf("cat=ERROR %d\n", ret);
			else
				printf("cat=%s\n", m.buf);
			return;
		}
	}
	printf("cat=ERROR no such file\n");
}

/* ---- libraries: the kernel's modules ---- */

struct library {
	char file[64];
	void *handle;
	enum module_state state;
};

#define MAX_LIBRARIES 8
static struct library libraries[MAX_LIBRARIES];
static char exe_dir[PATH_MAX];
static char *loading_params[8];
static int loading_nparams;

enum module_state klp_test_module_state(const char *name)
{
	for (int i = 0; i < MAX_LIBRARIES; i++)
		if (libraries[i].file[0] && !strcmp(libraries[i].file, name))
			return libraries[i].state;
	return MODULE_STATE_UNFORMED;
}

const char *selftest_module_param(const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < loading_nparams; i++)
		if (!strncmp(loading_params[i], name, len) && loading_params[i][len] == '=')
			return loading_params[i] + len + 1;
	return NULL;
}

static struct library *find_library(const char *file)
{
	for (int i = 0; i < MAX_LIBRARIES; i++)
		if (libraries[i].file[0] && !strcmp(libraries[i].file, file))
			return &libraries[i];
	return NULL;
}

/* "dlopen FILE P=V ...": args points after "dlopen ". */
static void load_library(char *args)
{
	char *save = NULL, *file = strtok_r(args, " ", &save), path[PATH_MAX + 64];
	struct library *lib = NULL;

	if (!file || find_library(file)) {
		printf("dlopen=ERROR %s\n", file ? "already loaded" : "no file");
		return;
	}
	for (int i = 0; i < MAX_LIBRARIES && !lib; i++)
		if (!libraries[i].file[0])
			lib = &libraries[i];
	loading_nparams = 0;
	for (char *p; loading_nparams < 8 && (p = strtok_r(NULL, " ", &save));)
		loading_params[loading_nparams++] = p;
	snprintf(lib->file, sizeof(lib->file), "%s", file);
	snprintf(path, sizeof(path), "%s/%s", exe_dir, file);
	lib->state = MODULE_STATE_COMING;
	lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	loading_nparams = 0;
	if (!lib->handle) {
		const char *err = dlerror();

		lib->file[0] = 0;
		printf("dlopen=ERROR %s\n", err ? err : "(no dlerror)");
		return;
	}
	lib->state = MODULE_STATE_LIVE;
	printf("dlopen=ok\n");
}

static void unload_library(const char *file)
{
	struct library *lib = find_library(file);
	int ret;

	if (!lib) {
		printf("dlclose=ERROR not loaded\n");
		return;
	}
	lib->state = MODULE_STATE_GOING;
	ret = dlclose(lib->handle);
	lib->file[0] = 0;
	lib->handle = NULL;
	if (ret)
		printf("dlclose=ERROR %s\n", dlerror());
	else
		printf("dlclose=ok\n");
}

/* ---- the getpid system call, hammered by threads ---- */

PATCHABLE long sys_getpid(void)
{
	return syscall(SYS_getpid);
}

#define MAX_GETPID_THREADS 128
static pthread_t getpid_threads[MAX_GETPID_THREADS];
static pid_t getpid_tids[MAX_GETPID_THREADS];
static int getpid_nthreads;
static atomic_int getpid_stop;
static atomic_long getpid_calls;
static sem_t getpid_started;

static void *call_getpid(void *arg)
{
	long count = 0;

	*(pid_t *)arg = gettid();
	sem_post(&getpid_started);
	while (!atomic_load_explicit(&getpid_stop, memory_order_relaxed)) {
		(void)sys_getpid();
		count++;
	}
	atomic_fetch_add(&getpid_calls, count);
	return NULL;
}

static void start_getpid_threads(int n)
{
	char list[MAX_GETPID_THREADS * 12] = "";
	size_t len = 0;

	sem_init(&getpid_started, 0, 0);
	for (int i = 0; i < n && getpid_nthreads < MAX_GETPID_THREADS; i++) {
		pid_t *tid = &getpid_tids[getpid_nthreads];

		if (pthread_create(&getpid_threads[getpid_nthreads], NULL, call_getpid, tid))
			break;
		getpid_nthreads++;
		sem_wait(&getpid_started);
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", len ? "," : "", *tid);
	}
	printf("getpid_start=%s\n", list);
}

static void stop_getpid_threads(void)
{
	atomic_store(&getpid_stop, 1);
	for (int i = 0; i < getpid_nthreads; i++)
		pthread_join(getpid_threads[i], NULL);
	getpid_nthreads = 0;
	atomic_store(&getpid_stop, 0);
	printf("getpid_stop=%ld\n", atomic_exchange(&getpid_calls, 0));
}

/* ---- the command loop ---- */

static void init(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n > 0 ? n : 0] = 0;
	snprintf(exe_dir, sizeof(exe_dir), "%s", exe);
	if (strrchr(exe_dir, '/'))
		*strrchr(exe_dir, '/') = 0;
	read_boot_cmdline();
	selftest_proc_create("cmdline", cmdline_proc_show);
	selftest_proc_create("meminfo", meminfo_proc_show);
	selftest_proc_create("sys/kernel/printk", printk_proc_show);
}

int main(void)
{
	char line[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	init();
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "cat ", 4))
			cat(line + 4);
		else if (!strncmp(line, "dlopen ", 7))
			load_library(line + 7);
		else if (!strncmp(line, "dlclose ", 8))
			unload_library(line + 8);
		else if (!strncmp(line, "getpid_start ", 13))
			start_getpid_threads(atoi(line + 13));
		else if (!strcmp(line, "getpid_stop"))
			stop_getpid_threads();
		else if (!strcmp(line, "quit"))
			break;
		else
			printf("unknown=%s\n", line);
	}
	if (getpid_nthreads)
		stop_getpid_threads();
	return 0;
}
