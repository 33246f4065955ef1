/*
 * test_klp_callbacks_mod.c: the kernel selftests' idle target module, as a
 * library the target dlopen()s: its constructor and destructor are the
 * module's init and exit, and log as they do. test_klp_callbacks_demo
 * names it as an object, with callbacks and no functions.
 */
#include "klp_selftest.h"

__attribute__((constructor)) static void test_klp_callbacks_mod_init(void)
{
	pr_info("%s\n", __func__);
}

__attribute__((destructor)) static void test_klp_callbacks_mod_exit(void)
{
	pr_info("%s\n", __func__);
}
