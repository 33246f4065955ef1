// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * livepatch-late.c: a patch for liblate.so, which the target loads after the
 * patch (the kernel's patch for a module that is not loaded yet). The new
 * late_answer() calls the library's static late_secret() through a klp
 * relocation, which can only be resolved once the library is there. Every
 * callback logs, and appends its name to $LATE_LOG, the file the library's
 * constructor and destructor write to, so the test sees one order of events,
 * and whether the library was still mapped at each callback.
 * fail_pre_patch=1 makes pre_patch fail with -ENODEV.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uklp/livepatch.h>

extern int late_secret(void);

static int fail_pre_patch;
module_param(fail_pre_patch, int, 0644);

static int livepatch_late_answer(void)
{
	return late_secret() + 41;
}

/* Whether the library's code is still mapped (mincore fails on a hole). */
static const char *library_state(void)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char v;
	void *at = (void *)((unsigned long)late_secret & ~(unsigned long)(page - 1));

	return mincore(at, (size_t)page, &v) == 0 ? "mapped" : "unmapped";
}

static void note(const char *what, struct klp_object *obj)
{
	const char *path = getenv("LATE_LOG");
	FILE *f = path ? fopen(path, "a") : NULL;

	pr_info("%s: %s\n", what, obj->name ? obj->name : "main");
	if (!f)
		return;
	fprintf(f, "%s %s (library %s)\n", what, obj->name ? obj->name : "main", library_state());
	fclose(f);
}

static int pre_patch(struct klp_object *obj)
{
	note("pre_patch", obj);
	return fail_pre_patch ? -ENODEV : 0;
}

static void post_patch(struct klp_object *obj) { note("post_patch", obj); }
static void pre_unpatch(struct klp_object *obj) { note("pre_unpatch", obj); }
static void post_unpatch(struct klp_object *obj) { note("post_unpatch", obj); }

static struct klp_func funcs[] = {
	{ .old_name = "late_answer", .new_func = livepatch_late_answer, }, { }
};

static struct klp_object objs[] = {
	{
		.name = "liblate.so",
		.funcs = funcs,
		.callbacks = {
			.pre_patch = pre_patch,
			.post_patch = post_patch,
			.pre_unpatch = pre_unpatch,
			.post_unpatch = post_unpatch,
		},
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int livepatch_init(void)
{
	return klp_enable_patch(&patch);
}

static void livepatch_exit(void)
{
}

module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
