// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libcallbacks-mod.so - (un)patching callbacks demo support library
 *
 * The kernel's samples/livepatch/livepatch-callbacks-mod.c as a library of
 * callbacks-target: a "module" that does nothing but say when its init and
 * exit run. The demo patch has an object for it, with callbacks and no
 * functions.
 *
 * This library is not intended to be standalone. See the "Usage" section
 * of livepatch-callbacks-demo.c.
 */
#include <stdio.h>

#include "lib-module.h"

#define pr_info(fmt, ...) printf("libcallbacks-mod.so: " fmt, ##__VA_ARGS__)

static int callbacks_mod_init(void)
{
	pr_info("%s\n", __func__);
	return 0;
}

static void callbacks_mod_exit(void)
{
	pr_info("%s\n", __func__);
}

LIB_MODULE(callbacks_mod_init, callbacks_mod_exit, NULL);
