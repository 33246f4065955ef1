/* livepatch-fp.c: fp_scale() of targets/fp.c, the same arithmetic (so
 * every checksum stays bit-identical) and one more count of its calls. */
#include <uklp/livepatch.h>

static double livepatch_fp_scale(double x, long *patched_calls)
{
	++*patched_calls;
	return x * 0.999999 + 1e-7;
}

static struct klp_func funcs[] = { { .old_name = "fp_scale", .new_func = livepatch_fp_scale, }, { } };
static struct klp_object objs[] = { { .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
