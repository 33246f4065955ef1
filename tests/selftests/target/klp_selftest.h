/*
 * klp_selftest.h: what the selftest target (selftest_target.c), its
 * libraries (the kernel selftests' target modules) and the ported test
 * modules share.
 *
 * The target stands for the kernel: it has the functions the kernel's
 * test modules patch (cmdline_proc_show, meminfo_proc_show, sys_getpid),
 * a /proc of its own (entries read with its "cat" command), and it loads
 * and unloads libraries on command (dlopen / dlclose), keeping for each
 * the state the kernel's module loader keeps in mod->state.
 */
#ifndef KLP_SELFTEST_H
#define KLP_SELFTEST_H

#include <stddef.h>

/* The kernel's enum module_state, in the kernel's order. The target sets
 * a library's state as the kernel's module loader does: COMING while
 * dlopen() runs (the kernel runs module_init in that state), LIVE once it
 * has returned, GOING while dlclose() runs (the kernel runs module_exit in
 * that state), and forgets the library after dlclose(). */
enum module_state {
	MODULE_STATE_LIVE,
	MODULE_STATE_COMING,
	MODULE_STATE_GOING,
	MODULE_STATE_UNFORMED,
};

/* The target's seq_file: one buffer that a proc "show" function fills. */
struct seq_file {
	char buf[256];
	size_t count;
};

/* Defined in the target; patch modules call them through klp relocations. */
int seq_printf(struct seq_file *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
enum module_state klp_test_module_state(const char *name);

/* Exported by the target to its libraries (-Wl,--export-dynamic-symbol):
 * the parameters given to the "dlopen" command (the kernel's module
 * parameters; NULL when not given), and the /proc entries a library
 * registers from its constructor and removes from its destructor. */
const char *selftest_module_param(const char *name);
void selftest_proc_create(const char *name, int (*show)(struct seq_file *m, void *v));
void selftest_proc_remove(const char *name);

/* Logging of the target's libraries into the runtime log (the kernel's
 * printk from a module): uklp_printk of the preloaded runtime, weak so
 * that a library also loads without it. */
#ifdef SELFTEST_LIBRARY
extern int uklp_printk(int level, const char *fmt, ...) __attribute__((weak, format(printf, 2, 3)));
#define pr_info(fmt, ...) \
	do { \
		if (uklp_printk) \
			uklp_printk(6, KBUILD_MODNAME ": " fmt, ##__VA_ARGS__); \
	} while (0)
#endif

#endif /* KLP_SELFTEST_H */
