// dup_b.c: the second static `helper` of libsymtest_dup.so (see dup_a.c).
#ifndef SYMTEST_VARIANT
#define SYMTEST_VARIANT 1
#endif

__attribute__((noipa, used)) static int helper(int x) { return x * 2 + SYMTEST_VARIANT; }

int dup_b_call(int x) { return helper(x); }
void* dup_b_helper_address(void) { return (void*)&helper; }
