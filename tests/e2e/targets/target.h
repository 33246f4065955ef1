/* target.h: keeps the compiler from inlining a function or propagating
 * its result across calls, as a real patchable function would not be
 * (see docs/patch-author-guide.md on -fno-ipa-*). */
/* clang propagates a constant return value into callers even across
 * noinline functions, so the test functions return a volatile read. */
#define VALUE(v) (*(volatile int *)&(int){ v })
#ifdef __clang__
#define PATCHABLE __attribute__((noinline, optnone))
#else
#define PATCHABLE __attribute__((noipa))
#endif
