/*
 * test_klp_mod_target.c: the kernel selftests' test_klp_mod_target module,
 * as a library: its constructor adds /proc/test_klp_mod_target to the
 * target (read with "cat test_klp_mod_target"), whose show function
 * test_klp_mod_patch patches; its destructor removes it.
 */
#include "klp_selftest.h"

__attribute__((noipa)) int test_klp_mod_target_show(struct seq_file *m, void *v)
{
	(void)v;
	seq_printf(m, "%s: %s\n", KBUILD_MODNAME, "original output");
	return 0;
}

__attribute__((constructor)) static void test_klp_mod_target_init(void)
{
	pr_info("%s\n", __func__);
	selftest_proc_create(KBUILD_MODNAME, test_klp_mod_target_show);
}

__attribute__((destructor)) static void test_klp_mod_target_exit(void)
{
	selftest_proc_remove(KBUILD_MODNAME);
	pr_info("%s\n", __func__);
}
