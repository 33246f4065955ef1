// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * livepatch-sample.c - uklp Live Patching Sample Module
 *
 * The kernel's samples/livepatch/livepatch-sample.c, for cmdline-proc, the
 * user-space stand-in for /proc/cmdline: the same structure, the same
 * replacement function, only the header changes (<uklp/livepatch.h>).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <uklp/livepatch.h>

#include "seq_file.h"

/*
 * This (dumb) live patch overrides the function that prints the
 * command line when DIR/cmdline is read.
 *
 * Example:
 *
 * $ cat DIR/cmdline
 * <cmdline-proc's command line>
 *
 * $ uklp load $(pidof cmdline-proc) livepatch-sample.so
 * $ cat DIR/cmdline
 * this has been live patched
 *
 * $ uklp disable $(pidof cmdline-proc) livepatch_sample
 * $ cat DIR/cmdline
 * <cmdline-proc's command line>
 *
 * seq_printf() is cmdline-proc's: the reference becomes a klp relocation,
 * resolved in the running process (exported from vmlinux, in the kernel).
 */
static int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
	(void)v;
	seq_printf(m, "%s\n", "this has been live patched");
	return 0;
}

static struct klp_func funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = livepatch_cmdline_proc_show,
	}, { }
};

static struct klp_object objs[] = {
	{
		/* name being NULL means the main program (vmlinux, in the kernel) */
		.funcs = funcs,
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
