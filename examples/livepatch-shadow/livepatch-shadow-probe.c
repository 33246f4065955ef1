// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * livepatch-shadow-probe.c - Shadow variables, livepatch demo: a look
 *
 * Not one of the kernel's samples: a patch module that changes no
 * function and only looks. Its init walks shadow-mod's dummy_list and
 * logs how many dummies have an SV_LEAK (fix1) and an SV_COUNTER (fix2)
 * shadow variable attached:
 *
 *   livepatch_shadow_probe: 12 dummies: 7 with SV_LEAK, 12 with SV_COUNTER
 *
 * Shadow variables belong to the process, not to the module that made
 * them, so this module sees those of fix1 and fix2. Loaded after both
 * fixes were disabled and unloaded, it must find none: their module exits
 * freed them all (klp_shadow_free_all()). A variable left behind for a
 * freed dummy would show on a new dummy at the same address.
 *
 *   uklp load PID livepatch-shadow-probe.so
 *   uklp disable PID livepatch_shadow_probe
 *   uklp unload PID livepatch_shadow_probe
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <uklp/livepatch.h>

#include "shadow-mod.h"

/* Shadow variable enums, as in fix1 and fix2 */
#define SV_LEAK		1
#define SV_COUNTER	2

static void probe_shadow_variables(void)
{
	struct dummy *d, *tmp;
	int dummies = 0, leaks = 0, counters = 0;

	pthread_mutex_lock(&dummy_list_mutex);
	list_for_each_entry_safe(d, tmp, &dummy_list, list) {
		dummies++;
		if (klp_shadow_get(d, SV_LEAK))
			leaks++;
		if (klp_shadow_get(d, SV_COUNTER))
			counters++;
	}
	pthread_mutex_unlock(&dummy_list_mutex);
	pr_info("%d dummies: %d with SV_LEAK, %d with SV_COUNTER\n", dummies, leaks, counters);
}

static struct klp_func no_funcs[] = {
	{ }
};

static struct klp_object objs[] = {
	{
		/* name being NULL means the main program, shadow-mod */
		.funcs = no_funcs,
	}, { }
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int livepatch_shadow_probe_init(void)
{
	probe_shadow_variables();
	return klp_enable_patch(&patch);
}

static void livepatch_shadow_probe_exit(void)
{
}

module_init(livepatch_shadow_probe_init);
module_exit(livepatch_shadow_probe_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
