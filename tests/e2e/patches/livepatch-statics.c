/* livepatch-statics.c: compute() now calls both static helper()s of the
 * main program, told apart by their sympos, and reads its static counter. */
#include <uklp/livepatch.h>

extern int helper_a(int);
KLP_SYMPOS(helper_a, "main", "helper", 1);
extern int helper_b(int);
KLP_SYMPOS(helper_b, "main", "helper", 2);
extern int counter;

static int livepatch_compute(int x)
{
	return helper_a(x) + helper_b(x) + counter;
}

static struct klp_func funcs[] = { { .old_name = "compute", .new_func = livepatch_compute, }, { } };
static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
