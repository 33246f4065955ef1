// main_padded.c: compiled into the test program with the pad flag, so the
// main program has a __patchable_function_entries section to find.
__attribute__((noipa, used)) static int main_padded_helper(int x) { return x + 3; }

int symtest_main_padded_call(int x) { return main_padded_helper(x); }
void* symtest_main_padded_address(void) { return (void*)&main_padded_helper; }
