/* livepatch-syscalls.c: syscall_round() of targets/syscalls.c returns 2,
 * so each blocked thread's report shows it ran the patched code. */
#include <uklp/livepatch.h>

static int livepatch_syscall_round(int kind)
{
	return kind >= 0 ? 2 : 0;
}

static struct klp_func funcs[] = { { .old_name = "syscall_round", .new_func = livepatch_syscall_round, }, { } };
static struct klp_object objs[] = { { .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
