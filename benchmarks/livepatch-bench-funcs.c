/*
 * livepatch-bench-funcs.c: the patch modules of the patch-size benchmark.
 * Built twice: livepatch-bench-funcs-1000.so (BENCH_ALL_FUNCS) replaces the
 * 1000 functions of funcs.c with copies of their body, and
 * livepatch-bench-funcs-1.so replaces func_000() alone, the baseline: the
 * same target and module layout, one function.
 */
#include <uklp/livepatch.h>

#include "funcs.h"

#define DEFINE_NEW_FUNC(n) __attribute__((noipa)) static int livepatch_func_##n(int x) { return x * 2 + 1; }
#define KLP_FUNC(n) { .old_name = "func_" #n, .new_func = livepatch_func_##n, },

#ifdef BENCH_ALL_FUNCS
FUNCS_1000(DEFINE_NEW_FUNC)
static struct klp_func funcs[] = { FUNCS_1000(KLP_FUNC) { } };
#else
DEFINE_NEW_FUNC(000)
static struct klp_func funcs[] = { KLP_FUNC(000) { } };
#endif

static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
