/* target.h: keeps the compiler from inlining a function or propagating
 * its result across calls, as a real patchable function would not be
 * (see docs/patch-author-guide.md on -fno-ipa-*). */
#ifdef __clang__
#define PATCHABLE __attribute__((noinline, optnone))
#else
#define PATCHABLE __attribute__((noipa))
#endif
