// nopad.c: a library compiled without -fpatchable-function-entry and
// without a DT_SONAME, so it is named by the base name of its path.
__attribute__((noipa, used)) static int nopad_helper(int x) { return x + 1; }

int nopad_call(int x) { return nopad_helper(x); }
void* nopad_helper_address(void) { return (void*)&nopad_helper; }
