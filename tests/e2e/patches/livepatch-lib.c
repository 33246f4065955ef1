/* livepatch-lib.c: lib_answer() of libe2e.so, calling the library's
 * static lib_secret() through a klp relocation. */
#include <uklp/livepatch.h>

extern int lib_secret(void);

static int livepatch_lib_answer(void)
{
	return lib_secret() + 541;
}

static struct klp_func funcs[] = { { .old_name = "lib_answer", .new_func = livepatch_lib_answer, }, { } };
static struct klp_object objs[] = { { .name = "libe2e.so", .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
