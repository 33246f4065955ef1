/*
 * <uklp/livepatch.h>: the patch author's interface to uklp.
 *
 * A uklp patch module is written like a Linux kernel livepatch module
 * (samples/livepatch/livepatch-sample.c): it declares replacement functions,
 * describes them with struct klp_func / klp_object / klp_patch, and enables
 * the patch from its module_init function with klp_enable_patch(). The
 * structures keep the kernel's field names; a source written for the kernel
 * compiles here once its target functions are the program's.
 *
 *   #include <uklp/livepatch.h>
 *
 *   static int livepatch_answer(void) { return 42; }
 *
 *   static struct klp_func funcs[] = {
 *       { .old_name = "answer", .new_func = livepatch_answer, }, { }
 *   };
 *   static struct klp_object objs[] = {
 *       { .name = NULL, .funcs = funcs, },  // NULL: the main program
 *       { }
 *   };
 *   static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };
 *
 *   static int livepatch_init(void) { return klp_enable_patch(&patch); }
 *   static void livepatch_exit(void) { }
 *   module_init(livepatch_init);
 *   module_exit(livepatch_exit);
 *   MODULE_LICENSE("GPL");
 *   MODULE_INFO(livepatch, "Y");
 *
 * Build it as a shared object (`uklp_add_patch_module()` in CMake, or the
 * flags of `pkg-config --cflags --libs uklp-patch`), which also runs
 * uklp-klp-convert to bind the module to the target build and turn
 * references to the target's internal symbols into klp relocations
 * (docs/patch-format.md).
 *
 * Objects: `name == NULL` is the main program (shown as "main"); any other
 * name is a shared library, matched against its DT_SONAME and then the base
 * name of its path (e.g. "libdemo.so.1").
 *
 * Functions return negative errno values, like the kernel's.
 */
#ifndef UKLP_LIVEPATCH_H
#define UKLP_LIVEPATCH_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#define UKLP_EXTERN_C extern "C"
#else
#define UKLP_EXTERN_C
#endif

#define UKLP_EXPORT __attribute__((visibility("default")))

/* Per-thread patch states (the kernel's task->patch_state). */
#define KLP_TRANSITION_IDLE -1
#define KLP_TRANSITION_UNPATCHED 0
#define KLP_TRANSITION_PATCHED 1

/* The patch module itself (the kernel's struct module, reduced). The
 * runtime fills it in before module_init runs. */
#define MODULE_NAME_LEN 56
struct module {
	char name[MODULE_NAME_LEN];
	void *uklp_private;
};

struct klp_func {
	/* external */
	const char *old_name;    /* name of the function to be patched */
	void *new_func;          /* replacement function */
	unsigned long old_sympos; /* 0: unique name; N: N-th occurrence */

	/* internal, maintained by the runtime */
	void *old_func;
	unsigned long old_size, new_size;
	bool nop;
	bool patched;
	bool transition;
	void *uklp_private;
};

struct klp_object;

struct klp_callbacks {
	int (*pre_patch)(struct klp_object *obj);
	void (*post_patch)(struct klp_object *obj);
	void (*pre_unpatch)(struct klp_object *obj);
	void (*post_unpatch)(struct klp_object *obj);
	bool post_unpatch_enabled;
};

struct klp_object {
	/* external */
	const char *name;        /* NULL: the main program; else a library */
	struct klp_func *funcs;
	struct klp_callbacks callbacks;

	/* internal */
	void *mod;               /* non-NULL while the library is loaded */
	bool dynamic;
	bool patched;
	void *uklp_private;
};

struct klp_state {
	unsigned long id;
	unsigned int version;
	void *data;
};

struct klp_patch {
	/* external */
	struct module *mod;
	struct klp_object *objs;
	struct klp_state *states;
	bool replace;

	/* internal */
	bool enabled;
	bool forced;
	void *uklp_private;
};

#define klp_for_each_object_static(patch, obj) \
	for (obj = (patch)->objs; (obj)->funcs || (obj)->name; obj++)
#define klp_for_each_func_static(obj, func) \
	for (func = (obj)->funcs; func && ((func)->old_name || (func)->new_func || (func)->old_sympos); func++)

UKLP_EXPORT int klp_enable_patch(struct klp_patch *patch);

/* Shadow variables (Documentation/livepatch/shadow-vars.rst). */
typedef unsigned int gfp_t;
#define GFP_KERNEL 0u
#define GFP_ATOMIC 0u
#define GFP_NOWAIT 0u
typedef int (*klp_shadow_ctor_t)(void *obj, void *shadow_data, void *ctor_data);
typedef void (*klp_shadow_dtor_t)(void *obj, void *shadow_data);
UKLP_EXPORT void *klp_shadow_get(void *obj, unsigned long id);
UKLP_EXPORT void *klp_shadow_alloc(void *obj, unsigned long id, size_t size, gfp_t gfp_flags,
				   klp_shadow_ctor_t ctor, void *ctor_data);
UKLP_EXPORT void *klp_shadow_get_or_alloc(void *obj, unsigned long id, size_t size,
					  gfp_t gfp_flags, klp_shadow_ctor_t ctor, void *ctor_data);
UKLP_EXPORT void klp_shadow_free(void *obj, unsigned long id, klp_shadow_dtor_t dtor);
UKLP_EXPORT void klp_shadow_free_all(unsigned long id, klp_shadow_dtor_t dtor);

/* System states (Documentation/livepatch/system-state.rst). */
UKLP_EXPORT struct klp_state *klp_get_state(struct klp_patch *patch, unsigned long id);
UKLP_EXPORT struct klp_state *klp_get_prev_state(unsigned long id);

/* Logging into the runtime log (`uklp dmesg PID`). */
UKLP_EXPORT int uklp_printk(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

/* ---- module boilerplate (include/linux/module.h, moduleparam.h) ---- */

/* Every patch module has one struct module; the runtime fills it in. It is
 * protected: exported for the runtime to find, but each module's own code
 * always binds to its own copy, never to another module's. */
#ifndef UKLP_RUNTIME_INTERNAL
#ifdef __cplusplus
/* Braced: a definition in C++ too (a lone `extern "C" T x;` only declares). */
extern "C" {
#endif
__attribute__((weak, visibility("protected"))) struct module __this_module;
#ifdef __cplusplus
}
#endif
#endif
#define THIS_MODULE (&__this_module)

/* Kernel section annotations, accepted and ignored. Not in C++, where a
 * glibc structure has a field called __init. */
#ifndef __cplusplus
#define __init
#define __exit
#define __initdata
#endif
#define __user

#define UKLP_UNIQUE_ID(prefix) UKLP_CAT(UKLP_CAT(prefix, __COUNTER__), _)
#define UKLP_CAT_(a, b) a##b
#define UKLP_CAT(a, b) UKLP_CAT_(a, b)

/* The runtime calls module_init's function after loading the module and
 * applying its klp relocations; a non-zero return fails the load. */
#define module_init(fn) \
	UKLP_EXTERN_C __attribute__((visibility("default"), used)) int (*const uklp_module_init)(void) = fn;
/* Called when the module is unloaded (after its patch is disabled). */
#define module_exit(fn) \
	UKLP_EXTERN_C __attribute__((visibility("default"), used)) void (*const uklp_module_exit)(void) = fn;

/* "tag=value" strings in .modinfo, read by `uklp info` and the runtime. */
#define MODULE_INFO(tag, info) \
	static const char UKLP_UNIQUE_ID(uklp_modinfo_)[] \
		__attribute__((section(".modinfo"), used, aligned(1))) = #tag "=" info
#define MODULE_LICENSE(l) MODULE_INFO(license, l)
#define MODULE_AUTHOR(a) MODULE_INFO(author, a)
#define MODULE_DESCRIPTION(d) MODULE_INFO(description, d)
#define MODULE_VERSION(v) MODULE_INFO(version, v)
#define MODULE_PARM_DESC(p, d) MODULE_INFO(parm, #p ":" d)

/* Module parameters: set by `uklp load PID PATCH.so NAME=VALUE`, and read
 * or written later with `uklp sys PID module/PATCH/parameters/NAME [VALUE]`. */
enum uklp_param_type {
	UKLP_PARAM_int, UKLP_PARAM_uint, UKLP_PARAM_long, UKLP_PARAM_ulong,
	UKLP_PARAM_short, UKLP_PARAM_ushort, UKLP_PARAM_bool, UKLP_PARAM_charp,
};
struct uklp_param_desc {
	const char *name;
	int type;          /* enum uklp_param_type */
	unsigned int perm; /* 0: not visible after load; 0444 read-only; 0644 writable */
	void *arg;
};
#define module_param(name, type, perm) \
	static const struct uklp_param_desc UKLP_UNIQUE_ID(uklp_param_) \
		__attribute__((section("uklp_param"), used, aligned(8))) = \
		{ #name, UKLP_PARAM_##type, perm, (void *)&name }

/* ---- references to the target's internal symbols ----
 *
 * A patch may call the target's static functions and use its static
 * variables: declare them `extern` and use them. uklp-klp-convert turns
 * each such reference into a klp relocation that the runtime resolves in
 * the target process. A name that occurs more than once in its object (two
 * static functions called `helper` in different files) is chosen with
 * KLP_SYMPOS, which also lets one module name both:
 *
 *   extern int helper_in_b(int);
 *   KLP_SYMPOS(helper_in_b, "main", "helper", 2);  // 2nd "helper" of main
 *
 * `object` is "main" for the main program, else a library name. */
#define KLP_SYMPOS(alias, object, sym, sympos) \
	static const char UKLP_UNIQUE_ID(uklp_klpsym_)[] \
		__attribute__((section(".uklp.klp_syms"), used, aligned(1))) = \
		#alias "\t" object "\t" sym "\t" #sympos

/* ---- logging (include/linux/printk.h) ---- */
#define KERN_EMERG 0
#define KERN_ALERT 1
#define KERN_CRIT 2
#define KERN_ERR 3
#define KERN_WARNING 4
#define KERN_NOTICE 5
#define KERN_INFO 6
#define KERN_DEBUG 7

#ifndef pr_fmt
#ifdef KBUILD_MODNAME
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#else
#define pr_fmt(fmt) fmt
#endif
#endif
#define pr_emerg(fmt, ...) uklp_printk(KERN_EMERG, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_alert(fmt, ...) uklp_printk(KERN_ALERT, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_crit(fmt, ...) uklp_printk(KERN_CRIT, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_err(fmt, ...) uklp_printk(KERN_ERR, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) uklp_printk(KERN_WARNING, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_notice(fmt, ...) uklp_printk(KERN_NOTICE, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) uklp_printk(KERN_INFO, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_debug(fmt, ...) uklp_printk(KERN_DEBUG, pr_fmt(fmt), ##__VA_ARGS__)
#define printk(fmt, ...) uklp_printk(KERN_INFO, fmt, ##__VA_ARGS__)

#endif /* UKLP_LIVEPATCH_H */
