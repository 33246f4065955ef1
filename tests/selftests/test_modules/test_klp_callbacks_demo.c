// SPDX-License-Identifier: GPL-2.0
/*
 * test_klp_callbacks_demo.c: port of the kernel selftests'
 * test_klp_callbacks_demo: logs every callback of three objects, the main
 * program and the libraries test_klp_callbacks_mod.so (no functions) and
 * test_klp_callbacks_busy.so (busymod_work_func patched). The parameter
 * pre_patch_ret is what pre_patch returns.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <uklp/livepatch.h>

static int pre_patch_ret;
module_param(pre_patch_ret, int, 0644);
MODULE_PARM_DESC(pre_patch_ret, "pre_patch_ret (default=0)");

#define LOGGING_CALLBACKS
#include "callback_info.h"

static void patched_work_func(void *work)
{
	(void)work;
	pr_info("%s\n", __func__);
}

static struct klp_func no_funcs[] = {
	{ }
};

static struct klp_func busymod_funcs[] = {
	{
		.old_name = "busymod_work_func",
		.new_func = patched_work_func,
	}, { }
};

static struct klp_object objs[] = {
	{
		.name = NULL,	/* the main program (the kernel's vmlinux) */
		.funcs = no_funcs,
		.callbacks = ALL_CALLBACKS,
	}, {
		.name = "test_klp_callbacks_mod.so",
		.funcs = no_funcs,
		.callbacks = ALL_CALLBACKS,
	}, {
		.name = "test_klp_callbacks_busy.so",
		.funcs = busymod_funcs,
		.callbacks = ALL_CALLBACKS,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int test_klp_callbacks_demo_init(void)
{
	return klp_enable_patch(&patch);
}

static void test_klp_callbacks_demo_exit(void)
{
}

module_init(test_klp_callbacks_demo_init);
module_exit(test_klp_callbacks_demo_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("Livepatch selftest: livepatch demo");
