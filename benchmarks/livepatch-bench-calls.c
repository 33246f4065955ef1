/*
 * livepatch-bench-calls.c: replaces patched() of the benchmark program
 * calls.cc and lib_patched() of its library calls_lib.c with functions of the
 * same body, so that the benchmark measures only the way a call reaches them
 * (the site), not what they do; and hold(), in which a thread of calls.cc
 * can sleep to keep the patching transition open.
 */
#include <errno.h>
#include <unistd.h>

#include <uklp/livepatch.h>

__attribute__((noipa)) static int livepatch_patched(int x)
{
	return x * 2 + 1;
}

__attribute__((noipa)) static int livepatch_lib_patched(int x)
{
	return x * 2 + 1;
}

__attribute__((noipa)) static int livepatch_hold(int fd)
{
	char c;
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	return 1;
}

static struct klp_func funcs[] = {
	{ .old_name = "patched", .new_func = livepatch_patched, },
	{ .old_name = "hold", .new_func = livepatch_hold, },
	{ }
};
static struct klp_func lib_funcs[] = { { .old_name = "lib_patched", .new_func = livepatch_lib_patched, }, { } };
static struct klp_object objs[] = {
	{ .name = NULL, .funcs = funcs, },
	{ .name = "libbench_calls_lib.so", .funcs = lib_funcs, },
	{ }
};
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
