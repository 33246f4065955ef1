/*
 * lib-module.h: libraries as "kernel modules" of callbacks-target.
 *
 * callbacks-target plays the kernel and its module loader: `insmod LIB`
 * dlopen()s a library and runs its init, `rmmod LIB` runs its exit and
 * dlclose()s it. This header is what the target, its libraries
 * (libcallbacks-mod.so, libcallbacks-busymod.so) and the demo patch share.
 *
 * A library exports `lib_module`: its init and exit functions (the
 * kernel's module_init / module_exit) and its parameters (module_param).
 * The target keeps each loaded library's state, with the kernel's
 * enum module_state, in a table that find_lib_module() reads:
 *
 *   COMING  from before dlopen() until the library's init has returned
 *           (uklp patches a library, and runs its callbacks, inside
 *           dlopen(), before any of the library's code runs)
 *   LIVE    then
 *   GOING   from before the library's exit until dlclose() has returned
 */
#ifndef LIB_MODULE_H
#define LIB_MODULE_H

#include <stdatomic.h>

/* include/linux/module.h */
enum module_state {
	MODULE_STATE_LIVE,	/* Normal state. */
	MODULE_STATE_COMING,	/* Full formed, running module_init. */
	MODULE_STATE_GOING,	/* Going away. */
	MODULE_STATE_UNFORMED,	/* Still setting it up. */
};

struct lib_param {
	const char *name;
	volatile int *value; /* int parameters only; read while they change */
};

struct lib_module_ops {
	int (*init)(void);
	void (*exit)(void);
	const struct lib_param *params; /* ends with { NULL, NULL } */
};

/* What a library defines: LIB_MODULE(init, exit, params). */
#define LIB_MODULE(init_fn, exit_fn, param_table) \
	__attribute__((visibility("default"))) const struct lib_module_ops lib_module = { \
		init_fn, exit_fn, param_table }

/* An entry of the target's module table. */
#define LIB_MODULE_NAME_LEN 64
struct lib_module {
	char name[LIB_MODULE_NAME_LEN]; /* the file name: libcallbacks-mod.so */
	_Atomic int state;              /* enum module_state */
	_Atomic int used;               /* the entry is taken (name is set) */
	void *handle;                   /* from dlopen() */
	const struct lib_module_ops *ops;
};

/*
 * The loaded library called name, or NULL (the kernel's find_module()).
 * Takes no lock: it may be called from any thread, also from inside the
 * target's own dlopen() and dlclose() calls (by uklp callbacks).
 */
struct lib_module *find_lib_module(const char *name);

#endif /* LIB_MODULE_H */
