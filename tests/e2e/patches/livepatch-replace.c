// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * livepatch-replace.c: a cumulative patch (.replace = true): answer() returns
 * 45, and every function that the patches it replaces changed and it does
 * not (lib_answer() of livepatch-lib) goes back to the original.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <uklp/livepatch.h>

static int livepatch_answer(void)
{
	return 45;
}

static struct klp_func funcs[] = {
	{
		.old_name = "answer",
		.new_func = livepatch_answer,
	}, { }
};

static struct klp_object objs[] = {
	{
		/* name being NULL means the main program */
		.funcs = funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
	.replace = true,
};

static int livepatch_init(void)
{
	pr_info("loading\n");
	return klp_enable_patch(&patch);
}

static void livepatch_exit(void)
{
	pr_info("unloading\n");
}

module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
