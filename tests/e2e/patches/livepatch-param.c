/* livepatch-param.c: answer() returns a module parameter, settable at
 * load and writable later through module/livepatch_param/parameters/value. */
#include <uklp/livepatch.h>

static int value = 1041;
module_param(value, int, 0644);
MODULE_PARM_DESC(value, "what answer() returns");

static int livepatch_answer(void) { return value; }

static struct klp_func funcs[] = { { .old_name = "answer", .new_func = livepatch_answer, }, { } };
static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
