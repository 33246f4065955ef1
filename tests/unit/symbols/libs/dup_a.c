// dup_a.c + dup_b.c: one shared library with two static functions named
// `helper`, the ambiguity old_sympos resolves (sympos 1 is this one: dup_a.o
// is linked first). SYMTEST_VARIANT changes the code, hence the build-id, so
// that the replaced-file and debug-info tests can tell builds apart.
#ifndef SYMTEST_VARIANT
#define SYMTEST_VARIANT 1
#endif

// noipa: keep each function out of line, unrenamed (no .isra/.constprop).
#define SYMTEST_KEEP __attribute__((noipa, used))

#if SYMTEST_VARIANT != 1
// Moves the functions below in the other builds.
SYMTEST_KEEP static int variant_filler(int x) { return x * SYMTEST_VARIANT + 7; }
#endif

static int counter __attribute__((used)) = SYMTEST_VARIANT;
static __thread int tls_counter __attribute__((used));

SYMTEST_KEEP static int helper(int x) { return x + counter++ + tls_counter++; }

int dup_a_call(int x) { return helper(x); }
void* dup_a_helper_address(void) { return (void*)&helper; }
void* dup_a_counter_address(void) { return (void*)&counter; }
