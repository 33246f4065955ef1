/*
 * callback_info.h: the callback logging of the kernel selftests' callback
 * and state test modules. As in the kernel, an object with obj->mod set is
 * a loaded library (the kernel's module), one without is the main program
 * (the kernel's vmlinux): "<callback>: main", or "<callback>: <library> ->
 * <module state>". uklp's obj->mod is the library's link_map, which has
 * neither the kernel's mod->name nor mod->state: the name is obj->name,
 * and the state the one the target's loader keeps for the library. With
 * LOGGING_CALLBACKS defined, also the four callbacks that only log.
 */
#ifndef CALLBACK_INFO_H
#define CALLBACK_INFO_H

#include <uklp/livepatch.h>

#include "klp_selftest.h"

static const char *const module_state[] = {
	[MODULE_STATE_LIVE]	= "[MODULE_STATE_LIVE] Normal state",
	[MODULE_STATE_COMING]	= "[MODULE_STATE_COMING] Full formed, running module_init",
	[MODULE_STATE_GOING]	= "[MODULE_STATE_GOING] Going away",
	[MODULE_STATE_UNFORMED]	= "[MODULE_STATE_UNFORMED] Still setting it up",
};

static void callback_info(const char *callback, struct klp_object *obj)
{
	if (obj->mod)
		pr_info("%s: %s -> %s\n", callback, obj->name,
			module_state[klp_test_module_state(obj->name)]);
	else
		pr_info("%s: main\n", callback);
}

/* The callbacks of an object, by the names every test module gives them. */
#define ALL_CALLBACKS { \
	.pre_patch = pre_patch_callback, \
	.post_patch = post_patch_callback, \
	.pre_unpatch = pre_unpatch_callback, \
	.post_unpatch = post_unpatch_callback, \
}

/* The callbacks of test_klp_callbacks_demo and demo2: each logs its call;
 * pre_patch returns the includer's pre_patch_ret. */
#ifdef LOGGING_CALLBACKS
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
#endif

#endif /* CALLBACK_INFO_H */
