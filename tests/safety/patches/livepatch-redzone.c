/* livepatch-redzone.c: rz_value() of targets/redzone.c returns x + 2000. */
#include <uklp/livepatch.h>

static long livepatch_rz_value(long x)
{
	return x + 2000;
}

static struct klp_func funcs[] = { { .old_name = "rz_value", .new_func = livepatch_rz_value, }, { } };
static struct klp_object objs[] = { { .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
