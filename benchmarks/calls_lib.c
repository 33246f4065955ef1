/* calls_lib.c: libbench_calls_lib.so, the shared-library half of the call
 * benchmark (calls.cc): the same body as base() and patched(), in a library,
 * which the dynamic loader maps near where it will later map the patch
 * module, whereas the main program (PIE) lies terabytes away. Both are
 * called the same way (through the GOT), so lib_patched() compares with
 * lib_base(). */
__attribute__((noipa, patchable_function_entry(0, 0))) int lib_base(int x) { return x * 2 + 1; }
__attribute__((noipa)) int lib_patched(int x) { return x * 2 + 1; }
