/* livepatch-seccomp.c: sc_value() of targets/seccomp.c returns x + 2000. */
#include <uklp/livepatch.h>

static int livepatch_sc_value(int x)
{
	return x + 2000;
}

static struct klp_func funcs[] = { { .old_name = "sc_value", .new_func = livepatch_sc_value, }, { } };
static struct klp_object objs[] = { { .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
