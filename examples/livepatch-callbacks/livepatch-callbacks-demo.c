// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * livepatch-callbacks-demo.c - (un)patching callbacks livepatch demo
 *
 * The kernel's samples/livepatch/livepatch-callbacks-demo.c, for
 * callbacks-target. The main program stands for vmlinux (uklp names it
 * "main"), its libraries libcallbacks-mod.so and libcallbacks-busymod.so
 * for the kernel modules livepatch_callbacks_mod and
 * livepatch_callbacks_busymod.
 *
 *
 * Purpose
 * -------
 *
 * Demonstration of registering livepatch (un)patching callbacks.
 *
 *
 * Usage
 * -----
 *
 * Step 1 - run the target and load the simple library (type the insmod
 *          line into callbacks-target)
 *
 *   uklp run --log demo.log -- callbacks-target
 *   insmod libcallbacks-mod.so
 *
 *
 * Step 2 - load the demonstration livepatch (with callbacks)
 *
 *   uklp load PID livepatch-callbacks-demo.so
 *
 *
 * Step 3 - cleanup
 *
 *   uklp disable PID livepatch_callbacks_demo
 *   uklp unload PID livepatch_callbacks_demo
 *   rmmod libcallbacks-mod.so
 *
 * Watch the runtime log (uklp dmesg PID, or demo.log) to see livepatch
 * enablement, callback execution and patching operations for both the
 * main program and library targets.
 *
 * NOTE: swap the order of insmod libcallbacks-mod.so and uklp load to
 *       observe what happens when a target library is loaded after a
 *       livepatch with callbacks.
 *
 * NOTE: 'pre_patch_ret' is a module parameter that sets the pre-patch
 *       callback return status.  Try setting up a non-zero status
 *       such as -19 (-ENODEV):
 *
 *       # Load demo livepatch, the main program is patched
 *       uklp load PID livepatch-callbacks-demo.so
 *
 *       # Setup next pre-patch callback to return -ENODEV
 *       uklp sys PID module/livepatch_callbacks_demo/parameters/pre_patch_ret -- -19
 *
 *       # The target's dlopen() refuses to load the target library
 *       insmod libcallbacks-mod.so
 *
 * NOTE: There is a second target library, libcallbacks-busymod.so,
 *       available for experimenting with livepatch (un)patch callbacks.
 *       This library has a 'sleep_secs' parameter that parks its work
 *       thread on one of the functions that the livepatch demo module
 *       wants to patch. Modifying this value and tweaking the order of
 *       loads can effectively demonstrate stalled patch transitions:
 *
 *       # Load a target library, let it park on 'busymod_work_func' for
 *       # thirty seconds
 *       insmod libcallbacks-busymod.so sleep_secs=30
 *
 *       # Meanwhile load the livepatch
 *       uklp load --no-wait PID livepatch-callbacks-demo.so
 *
 *       # ... then load and unload another target library while the
 *       # transition is in progress
 *       insmod libcallbacks-mod.so
 *       rmmod libcallbacks-mod.so
 *
 *       # Finally cleanup
 *       uklp disable PID livepatch_callbacks_demo
 *       uklp unload PID livepatch_callbacks_demo
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <uklp/livepatch.h>

#include "lib-module.h"

static int pre_patch_ret;
module_param(pre_patch_ret, int, 0644);
MODULE_PARM_DESC(pre_patch_ret, "pre_patch_ret (default=0)");

static const char *const module_state[] = {
	[MODULE_STATE_LIVE]	= "[MODULE_STATE_LIVE] Normal state",
	[MODULE_STATE_COMING]	= "[MODULE_STATE_COMING] Full formed, running module_init",
	[MODULE_STATE_GOING]	= "[MODULE_STATE_GOING] Going away",
	[MODULE_STATE_UNFORMED]	= "[MODULE_STATE_UNFORMED] Still setting it up",
};

/*
 * As in the kernel, obj->mod is set while the object is a loaded library
 * (uklp sets it to the library's link_map), and is NULL for the main
 * program. A link_map has neither the kernel's mod->name nor mod->state:
 * the name is obj->name, and the state is the one callbacks-target's
 * module loader keeps, read with its find_lib_module() (a klp relocation).
 */
static void callback_info(const char *callback, struct klp_object *obj)
{
	struct lib_module *mod;

	if (obj->mod) {
		mod = find_lib_module(obj->name);
		pr_info("%s: %s -> %s\n", callback, obj->name,
			mod ? module_state[mod->state] : "(not loaded by insmod)");
	} else {
		pr_info("%s: main\n", callback);
	}
}

/* Executed on object patching (ie, patch enablement) */
static int pre_patch_callback(struct klp_object *obj)
{
	callback_info(__func__, obj);
	return pre_patch_ret;
}

/* Executed on object patching, once every thread runs the new code */
static void post_patch_callback(struct klp_object *obj)
{
	callback_info(__func__, obj);
}

/* Executed on object unpatching (ie, patch disablement) */
static void pre_unpatch_callback(struct klp_object *obj)
{
	callback_info(__func__, obj);
}

/* Executed on object unpatching, once no thread runs the new code */
static void post_unpatch_callback(struct klp_object *obj)
{
	callback_info(__func__, obj);
}

struct work_struct;

static void patched_work_func(struct work_struct *work)
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
		.name = NULL,	/* the main program (vmlinux) */
		.funcs = no_funcs,
		.callbacks = {
			.pre_patch = pre_patch_callback,
			.post_patch = post_patch_callback,
			.pre_unpatch = pre_unpatch_callback,
			.post_unpatch = post_unpatch_callback,
		},
	},	{
		.name = "libcallbacks-mod.so",
		.funcs = no_funcs,
		.callbacks = {
			.pre_patch = pre_patch_callback,
			.post_patch = post_patch_callback,
			.pre_unpatch = pre_unpatch_callback,
			.post_unpatch = post_unpatch_callback,
		},
	},	{
		.name = "libcallbacks-busymod.so",
		.funcs = busymod_funcs,
		.callbacks = {
			.pre_patch = pre_patch_callback,
			.post_patch = post_patch_callback,
			.pre_unpatch = pre_unpatch_callback,
			.post_unpatch = post_unpatch_callback,
		},
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int livepatch_callbacks_demo_init(void)
{
	return klp_enable_patch(&patch);
}

static void livepatch_callbacks_demo_exit(void)
{
}

module_init(livepatch_callbacks_demo_init);
module_exit(livepatch_callbacks_demo_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
