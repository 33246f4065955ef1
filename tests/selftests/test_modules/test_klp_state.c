// SPDX-License-Identifier: GPL-2.0
/*
 * test_klp_state.c: port of the kernel selftests' test_klp_state (and,
 * built with CONSOLE_LOGLEVEL_STATE_VERSION 2, of test_klp_state2 and
 * test_klp_state3): a cumulative patch whose callbacks change a system
 * state, the target's console_loglevel, and keep its old value in the
 * data of the klp_state CONSOLE_LOGLEVEL_STATE.
 *
 * Version 1 does not support migration; version 2 takes the state over
 * from an installed patch (klp_get_prev_state) and hands it back on a
 * reverted transition.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <errno.h>
#include <stdlib.h>

#include <uklp/livepatch.h>

#include "callback_info.h"

#define CONSOLE_LOGLEVEL_STATE 1
#ifndef CONSOLE_LOGLEVEL_STATE_VERSION
#define CONSOLE_LOGLEVEL_STATE_VERSION 1
#endif
#define CONSOLE_LOGLEVEL_MOTORMOUTH 15

/* The target's, reached through a klp relocation. */
extern int console_loglevel;

static struct klp_patch patch;

/* The state of an installed patch that this one takes over, if any. */
static struct klp_state *migrated_state(void)
{
	if (CONSOLE_LOGLEVEL_STATE_VERSION < 2)
		return NULL;
	return klp_get_prev_state(CONSOLE_LOGLEVEL_STATE);
}

static int allocate_loglevel_state(void)
{
	struct klp_state *loglevel_state;

	if (migrated_state()) {
		pr_info("%s: space to store console_loglevel already allocated\n", __func__);
		return 0;
	}
	loglevel_state = klp_get_state(&patch, CONSOLE_LOGLEVEL_STATE);
	if (!loglevel_state)
		return -EINVAL;
	loglevel_state->data = calloc(1, sizeof(console_loglevel));
	if (!loglevel_state->data)
		return -ENOMEM;
	pr_info("%s: allocating space to store console_loglevel\n", __func__);
	return 0;
}

static void fix_console_loglevel(void)
{
	struct klp_state *loglevel_state = klp_get_state(&patch, CONSOLE_LOGLEVEL_STATE);
	struct klp_state *prev_loglevel_state = migrated_state();

	if (!loglevel_state)
		return;
	if (prev_loglevel_state) {
		pr_info("%s: taking over the console_loglevel change\n", __func__);
		loglevel_state->data = prev_loglevel_state->data;
		return;
	}
	pr_info("%s: fixing console_loglevel\n", __func__);
	*(int *)loglevel_state->data = console_loglevel;
	console_loglevel = CONSOLE_LOGLEVEL_MOTORMOUTH;
}

static void restore_console_loglevel(void)
{
	struct klp_state *loglevel_state;

	if (migrated_state()) {
		pr_info("%s: passing the console_loglevel change back to the old livepatch\n", __func__);
		return;
	}
	loglevel_state = klp_get_state(&patch, CONSOLE_LOGLEVEL_STATE);
	if (!loglevel_state)
		return;
	pr_info("%s: restoring console_loglevel\n", __func__);
	console_loglevel = *(int *)loglevel_state->data;
}

static void free_loglevel_state(void)
{
	struct klp_state *loglevel_state;

	if (migrated_state()) {
		pr_info("%s: keeping space to store console_loglevel\n", __func__);
		return;
	}
	loglevel_state = klp_get_state(&patch, CONSOLE_LOGLEVEL_STATE);
	if (!loglevel_state)
		return;
	pr_info("%s: freeing space for the stored console_loglevel\n", __func__);
	free(loglevel_state->data);
}

/* Executed on object patching (ie, patch enablement) */
static int pre_patch_callback(struct klp_object *obj)
{
	callback_info(__func__, obj);
	return allocate_loglevel_state();
}

/* Executed on object patching, once every thread runs the new code */
static void post_patch_callback(struct klp_object *obj)
{
	callback_info(__func__, obj);
	fix_console_loglevel();
}

/* Executed on object unpatching (ie, patch disablement) */
static void pre_unpatch_callback(struct klp_object *obj)
{
	callback_info(__func__, obj);
	restore_console_loglevel();
}

/* Executed on object unpatching, once no thread runs the new code */
static void post_unpatch_callback(struct klp_object *obj)
{
	callback_info(__func__, obj);
	free_loglevel_state();
}

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

static struct klp_state states[] = {
	{
		.id = CONSOLE_LOGLEVEL_STATE,
		.version = CONSOLE_LOGLEVEL_STATE_VERSION,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
	.states = states,
	.replace = true,
};

static int test_klp_state_init(void)
{
	return klp_enable_patch(&patch);
}

static void test_klp_state_exit(void)
{
}

module_init(test_klp_state_init);
module_exit(test_klp_state_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("Livepatch selftest: system state modification");
