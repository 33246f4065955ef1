/* livepatch-bigbss.c: the sample with 64 GiB of zero-initialized data: its
 * dlopen() cannot map it in a process whose address space is limited
 * (RLIMIT_AS), as a module too big for the memory left (test_faults.py). */
#include <uklp/livepatch.h>

/* Never touched: only its size matters. In its own section so that no
 * PC-relative reference of the module spans it. */
__attribute__((used, section(".bss.huge"))) static char huge[64UL << 30];

static int livepatch_answer(void) { return 42; }

static struct klp_func funcs[] = { { .old_name = "answer", .new_func = livepatch_answer, }, { } };
static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };
static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
