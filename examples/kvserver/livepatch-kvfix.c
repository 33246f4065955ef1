// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * livepatch-kvfix.c - the kvserver fix, as a uklp live patch
 *
 * Written like the kernel's samples/livepatch/livepatch-sample.c.
 *
 * kvserver's cmd_set() parses "SET key value" with sscanf("%s %s"), which
 * stops the value at its first blank: `SET greeting hello world` stores
 * "hello". This patch replaces cmd_set() with a version that takes the
 * value as the rest of the line.
 *
 * The replacement calls the server's own static function reply() and
 * counts into its static variable `stats`, and calls kv_set() of store.c:
 * none of them is exported from the executable, so uklp-klp-convert turns
 * these references into klp relocations that the runtime resolves in the
 * running process (docs/patch-format.md).
 *
 * Example:
 *
 * $ kvclient -p 7070 send "SET greeting hello world" "GET greeting"
 * < VALUE hello
 *
 * $ uklp load $(pidof kvserver) livepatch-kvfix.so
 * $ kvclient -p 7070 send "SET greeting hello world" "GET greeting"
 * < VALUE hello world
 *
 * $ uklp disable $(pidof kvserver) livepatch_kvfix
 * $ uklp unload $(pidof kvserver) livepatch_kvfix
 */

#include <stdatomic.h>
#include <string.h>

#include <uklp/livepatch.h>

#include "kvserver.h"

/* The server's internals (kvserver.c), resolved by klp relocations. */
extern void reply(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern struct kv_stats stats;

static void livepatch_cmd_set(struct conn *c, char *args)
{
	size_t key_len, value_len;
	char *key, *value;

	key = args + strspn(args, " ");
	key_len = strcspn(key, " ");
	value = key + key_len;
	if (key_len == 0 || key_len > KV_MAX_KEY || *value != ' ' || value[1] == '\0') {
		reply(c, "ERROR usage: SET key value\n");
		return;
	}
	*value++ = '\0';
	value_len = strlen(value);
	if (value_len > KV_MAX_VALUE) {
		reply(c, "ERROR value longer than %d bytes\n", KV_MAX_VALUE);
		return;
	}
	atomic_fetch_add(&stats.sets, 1);
	if (kv_set(key, value, value_len) < 0) {
		reply(c, "ERROR out of memory\n");
		return;
	}
	reply(c, "OK\n");
}

static struct klp_func funcs[] = {
	{
		.old_name = "cmd_set",
		.new_func = livepatch_cmd_set,
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
};

static int livepatch_init(void)
{
	pr_info("fixing cmd_set(): SET keeps the blanks of its value\n");
	return klp_enable_patch(&patch);
}

static void livepatch_exit(void)
{
	pr_info("unloaded\n");
}

module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("kvserver: SET keeps the blanks of its value");
