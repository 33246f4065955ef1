/* livepatch-fork.c: fork_blocker() and fork_value() of targets/fork.c.
 * fork_blocker is in the patch so that a thread sleeping in it keeps the
 * transition open; its replacement returns at once (the test opens the
 * gate only while the original runs). fork_value() returns 2. */
#include <uklp/livepatch.h>

static int livepatch_fork_blocker(void)
{
	return 0;
}

static int livepatch_fork_value(void)
{
	return 2;
}

static struct klp_func funcs[] = {
	{ .old_name = "fork_blocker", .new_func = livepatch_fork_blocker, },
	{ .old_name = "fork_value", .new_func = livepatch_fork_value, },
	{ }
};
static struct klp_object objs[] = { { .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
