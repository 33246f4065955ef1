// SPDX-License-Identifier: GPL-2.0
/*
 * test_klp_mod_patch.c: port of the kernel selftests' test_klp_mod_patch:
 * patches test_klp_mod_target_show() of the library test_klp_mod_target.so
 * (the kernel's test_klp_mod_target module).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <uklp/livepatch.h>

#include "klp_selftest.h"

static int livepatch_mod_target_show(struct seq_file *m, void *v)
{
	(void)v;
	seq_printf(m, "%s: %s\n", THIS_MODULE->name, "this has been live patched");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "test_klp_mod_target_show",
		.new_func = livepatch_mod_target_show,
	}, { }
};

static struct klp_object objs[] = {
	{
		.name = "test_klp_mod_target.so",
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int test_klp_mod_patch_init(void)
{
	return klp_enable_patch(&patch);
}

static void test_klp_mod_patch_exit(void)
{
}

module_init(test_klp_mod_patch_init);
module_exit(test_klp_mod_patch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("Livepatch selftest: patch for a library's function");
