// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * callbacks-target: the "kernel" of the callbacks demo (the kernel's
 * samples/livepatch/livepatch-callbacks-demo.c, -mod.c and -busymod.c).
 *
 *   callbacks-target
 *
 * The program itself is the demo's vmlinux (uklp's object "main"); its
 * libraries libcallbacks-mod.so and libcallbacks-busymod.so are the demo's
 * kernel modules. It reads commands from stdin, one a line, and plays the
 * kernel's module loader (lib-module.h):
 *
 *   insmod LIB [NAME=VALUE...]   dlopen LIB (a file name is looked up next
 *                                to the program), set its parameters, run
 *                                its init
 *   rmmod LIB                    run its exit, dlclose it
 *   param LIB NAME=VALUE         set a parameter of a loaded library
 *                                (echo VALUE > /sys/module/LIB/parameters/NAME)
 *   lsmod                        the loaded libraries and their states
 *
 * Each command is echoed as "% COMMAND" before it runs, and ends with
 * one line "[N] ok" or "[N] error: MESSAGE" (N counts the commands from
 * 1), which scripts wait for. End of input exits, after unloading the
 * libraries still loaded. Start-up prints "callbacks-target: pid PID".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib-module.h"

#define MAX_MODULES 16
#define MAX_ARGS 8

static struct lib_module modules[MAX_MODULES];
static char lib_dir[PATH_MAX];

struct lib_module *find_lib_module(const char *name)
{
	for (int i = 0; i < MAX_MODULES; i++) {
		struct lib_module *mod = &modules[i];

		if (atomic_load_explicit(&mod->used, memory_order_acquire) && strcmp(mod->name, name) == 0)
			return mod;
	}
	return NULL;
}

static const char *const state_names[] = {
	[MODULE_STATE_LIVE] = "live",
	[MODULE_STATE_COMING] = "coming",
	[MODULE_STATE_GOING] = "going",
	[MODULE_STATE_UNFORMED] = "unformed",
};

/* ---- the module loader ---- */

/* A free entry, named and published as UNFORMED (the name is written
 * before `used` is set, for find_lib_module() on other threads). */
static struct lib_module *add_unformed_module(const char *name, char *err, size_t errlen)
{
	for (int i = 0; i < MAX_MODULES; i++) {
		struct lib_module *mod = &modules[i];

		if (atomic_load(&mod->used))
			continue;
		snprintf(mod->name, sizeof(mod->name), "%s", name);
		atomic_store(&mod->state, MODULE_STATE_UNFORMED);
		atomic_store_explicit(&mod->used, 1, memory_order_release);
		return mod;
	}
	snprintf(err, errlen, "too many modules");
	return NULL;
}

static void free_module(struct lib_module *mod)
{
	atomic_store_explicit(&mod->used, 0, memory_order_release);
	mod->handle = NULL;
	mod->ops = NULL;
}

static int set_param(struct lib_module *mod, const char *assignment, char *err, size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	char *end;
	long value;

	if (!eq || eq == assignment) {
		snprintf(err, errlen, "'%s' is not NAME=VALUE", assignment);
		return -EINVAL;
	}
	value = strtol(eq + 1, &end, 10);
	if (!eq[1] || *end) {
		snprintf(err, errlen, "'%s': not an integer", eq + 1);
		return -EINVAL;
	}
	for (const struct lib_param *p = mod->ops->params; p && p->name; p++) {
		if (strlen(p->name) == (size_t)(eq - assignment) && !strncmp(p->name, assignment, (size_t)(eq - assignment))) {
			*p->value = (int)value;
			return 0;
		}
	}
	snprintf(err, errlen, "%s has no parameter '%.*s'", mod->name, (int)(eq - assignment), assignment);
	return -ENOENT;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The kernel's load_module() and do_init_module(), reduced. */
static int insmod(char **argv, int argc, char *err, size_t errlen)
{
	char path[PATH_MAX + 64];
	struct lib_module *mod;
	int ret;

	if (find_lib_module(base_name(argv[0]))) {
		snprintf(err, errlen, "could not insert '%s': File exists", argv[0]);
		return -EEXIST;
	}
	mod = add_unformed_module(base_name(argv[0]), err, errlen);
	if (!mod)
		return -ENOMEM;
	if (strchr(argv[0], '/'))
		snprintf(path, sizeof(path), "%s", argv[0]);
	else
		snprintf(path, sizeof(path), "%s/%s", lib_dir, argv[0]);

	atomic_store(&mod->state, MODULE_STATE_COMING);
	mod->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!mod->handle) {
		snprintf(err, errlen, "could not insert '%s': %s", argv[0], dlerror());
		free_module(mod);
		return -ENOEXEC;
	}
	mod->ops = dlsym(mod->handle, "lib_module");
	if (!mod->ops) {
		snprintf(err, errlen, "'%s' defines no lib_module", argv[0]);
		ret = -ENOEXEC;
		goto err_close;
	}
	for (int i = 1; i < argc; i++) {
		ret = set_param(mod, argv[i], err, errlen);
		if (ret)
			goto err_close;
	}
	ret = mod->ops->init ? mod->ops->init() : 0;
	if (ret) {
		snprintf(err, errlen, "could not insert '%s': init returned %d", argv[0], ret);
		goto err_close;
	}
	atomic_store(&mod->state, MODULE_STATE_LIVE);
	return 0;

err_close:
	atomic_store(&mod->state, MODULE_STATE_GOING);
	dlclose(mod->handle);
	free_module(mod);
	return ret;
}

/* The kernel's delete_module(): exit, then the library goes away. */
static void unload_module(struct lib_module *mod)
{
	atomic_store(&mod->state, MODULE_STATE_GOING);
	if (mod->ops->exit)
		mod->ops->exit();
	dlclose(mod->handle);
	free_module(mod);
}

static int rmmod(const char *name, char *err, size_t errlen)
{
	struct lib_module *mod = find_lib_module(base_name(name));

	if (!mod) {
		snprintf(err, errlen, "ERROR: Module %s is not currently loaded", name);
		return -ENOENT;
	}
	unload_module(mod);
	return 0;
}

static int param(char **argv, int argc, char *err, size_t errlen)
{
	struct lib_module *mod = argc == 2 ? find_lib_module(base_name(argv[0])) : NULL;

	if (!mod) {
		snprintf(err, errlen, "usage: param LIB NAME=VALUE, with LIB loaded");
		return -EINVAL;
	}
	return set_param(mod, argv[1], err, errlen);
}

static void lsmod(void)
{
	for (int i = 0; i < MAX_MODULES; i++)
		if (atomic_load(&modules[i].used))
			printf("%-28s %s\n", modules[i].name, state_names[atomic_load(&modules[i].state)]);
}

/* ---- commands ---- */

static int split(char *line, char **argv)
{
	int argc = 0;

	for (char *word = strtok(line, " \t\n"); word && argc < MAX_ARGS; word = strtok(NULL, " \t\n"))
		argv[argc++] = word;
	return argc;
}

static int run_command(char *line, char *err, size_t errlen)
{
	char *argv[MAX_ARGS];
	int argc = split(line, argv);

	if (argc >= 2 && strcmp(argv[0], "insmod") == 0)
		return insmod(argv + 1, argc - 1, err, errlen);
	if (argc == 2 && strcmp(argv[0], "rmmod") == 0)
		return rmmod(argv[1], err, errlen);
	if (argc >= 1 && strcmp(argv[0], "param") == 0)
		return param(argv + 1, argc - 1, err, errlen);
	if (argc == 1 && strcmp(argv[0], "lsmod") == 0) {
		lsmod();
		return 0;
	}
	snprintf(err, errlen, "unknown command (insmod LIB [NAME=VALUE...], rmmod LIB, param LIB NAME=VALUE, lsmod)");
	return -EINVAL;
}

static void find_lib_dir(const char *argv0)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		snprintf(exe, sizeof(exe), "%s", argv0);
	else
		exe[n] = '\0';
	snprintf(lib_dir, sizeof(lib_dir), "%s", exe);
	*(char *)base_name(lib_dir) = '\0';
	if (!*lib_dir)
		snprintf(lib_dir, sizeof(lib_dir), ".");
}

int main(int argc, char **argv)
{
	char line[1024], err[512];
	unsigned long n = 0;

	(void)argc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	find_lib_dir(argv[0]);
	printf("callbacks-target: pid %d\n", getpid());

	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[strspn(line, " \t")])
			continue;
		printf("%% %s\n", line);
		err[0] = '\0';
		if (run_command(line, err, sizeof(err)) == 0)
			printf("[%lu] ok\n", ++n);
		else
			printf("[%lu] error: %s\n", ++n, err);
	}
	for (int i = MAX_MODULES - 1; i >= 0; i--)
		if (atomic_load(&modules[i].used))
			unload_module(&modules[i]);
	printf("callbacks-target: exit\n");
	return 0;
}
