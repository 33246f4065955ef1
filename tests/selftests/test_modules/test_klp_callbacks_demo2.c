// SPDX-License-Identifier: GPL-2.0
/*
 * test_klp_callbacks_demo2.c: port of the kernel selftests'
 * test_klp_callbacks_demo2: logs the callbacks of the main program only;
 * replace=1 makes it a cumulative patch.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <uklp/livepatch.h>

static int replace;
module_param(replace, int, 0644);
MODULE_PARM_DESC(replace, "replace (default=0)");

/* pre_patch always succeeds */
static const int pre_patch_ret;

#define LOGGING_CALLBACKS
#include "callback_info.h"

static struct klp_func no_funcs[] = {
	{ }
};

static struct klp_object objs[] = {
	{
		.name = NULL,	/* the main program (the kernel's vmlinux) */
		.funcs = no_funcs,
		.callbacks = ALL_CALLBACKS,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
	/* .replace is set from the parameter in init */
};

static int test_klp_callbacks_demo2_init(void)
{
	patch.replace = replace;
	return klp_enable_patch(&patch);
}

static void test_klp_callbacks_demo2_exit(void)
{
}

module_init(test_klp_callbacks_demo2_init);
module_exit(test_klp_callbacks_demo2_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("Livepatch selftest: livepatch demo2");
