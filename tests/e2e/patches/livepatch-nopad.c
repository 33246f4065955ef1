/* livepatch-nopad.c: nopad() was built without a pad: refused by name */
#include <uklp/livepatch.h>

static int livepatch_nopad(void) { return 8; }

static struct klp_func funcs[] = { { .old_name = "nopad", .new_func = livepatch_nopad,  }, { } };
static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
