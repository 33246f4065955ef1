/* livepatch-sweep.c: a cumulative patch (.replace = true) of probe() alone
 * (returns 3). Replacing livepatch-sleepy, it sends sleepy() back to the
 * original: a thread asleep in livepatch-sleepy's sleepy() keeps the
 * transition open until it leaves. */
#include <uklp/livepatch.h>

static int livepatch_probe(void) { return 3; }

static struct klp_func funcs[] = { { .old_name = "probe", .new_func = livepatch_probe, }, { } };
static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, .replace = true, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
