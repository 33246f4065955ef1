/* livepatch-wrongbuild.c: built against another build of the target: refused */
#include <uklp/livepatch.h>

static int livepatch_answer(void) { return 42; }

static struct klp_func funcs[] = { { .old_name = "answer", .new_func = livepatch_answer,  }, { } };
static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
