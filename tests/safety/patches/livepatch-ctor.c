/* livepatch-ctor.c: ct_value() of targets/ctor.c and ce_value() of its
 * library libctor_early.so (targets/ctor_early.c) return x + 2000. */
#include <uklp/livepatch.h>

static int livepatch_ct_value(int x)
{
	return x + 2000;
}

static int livepatch_ce_value(int x)
{
	return x + 2000;
}

static struct klp_func main_funcs[] = { { .old_name = "ct_value", .new_func = livepatch_ct_value, }, { } };
static struct klp_func lib_funcs[] = { { .old_name = "ce_value", .new_func = livepatch_ce_value, }, { } };
static struct klp_object objs[] = {
	{ .funcs = main_funcs, },
	{ .name = "libctor_early.so", .funcs = lib_funcs, },
	{ }
};
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
