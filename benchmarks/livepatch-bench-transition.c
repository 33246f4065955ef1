/*
 * livepatch-bench-transition.c: replaces transition_func() of the
 * transition-latency benchmark's target (transition.c) with a function of
 * the same body: one function, so the benchmark measures the transition,
 * not the size of the patch.
 */
#include <uklp/livepatch.h>

__attribute__((noipa)) static int livepatch_transition_func(int x)
{
	return x * 2 + 1;
}

static struct klp_func funcs[] = { { .old_name = "transition_func", .new_func = livepatch_transition_func, }, { } };
static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
