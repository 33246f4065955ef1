/* livepatch-churn.c: churn_step() of targets/churn.c returns 2,
 * so the report shows the threads ran the patched code. */
#include <uklp/livepatch.h>

static int livepatch_churn_step(int x)
{
	return x >= 0 ? 2 : 0;
}

static struct klp_func funcs[] = { { .old_name = "churn_step", .new_func = livepatch_churn_step, }, { } };
static struct klp_object objs[] = { { .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
