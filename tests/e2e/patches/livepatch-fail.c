/* livepatch-fail.c: a patch module that fails on request, for the fault
 * suite (test_faults.py). answer() returns 43 when it loads; init_ret != 0
 * makes module_init fail before klp_enable_patch() (the kernel's model of a
 * module whose init fails: insmod is refused, nothing is patched);
 * pre_patch_ret != 0 makes the main program's pre_patch callback fail, which
 * klp_enable_patch() reports. The constructor only counts: an ELF
 * constructor cannot fail (it returns nothing), module_init is where a
 * module refuses to load. */
#include <uklp/livepatch.h>

static int init_ret;
module_param(init_ret, int, 0444);
MODULE_PARM_DESC(init_ret, "what module_init returns before enabling the patch (0: enable it)");
static int pre_patch_ret;
module_param(pre_patch_ret, int, 0444);
MODULE_PARM_DESC(pre_patch_ret, "what the pre_patch callback returns");

static int constructed;
__attribute__((constructor)) static void count_construction(void) { constructed++; }

static int livepatch_answer(void) { return 43; }

static int pre_patch(struct klp_object *obj)
{
	(void)obj;
	pr_info("pre_patch returns %d (constructed %d)\n", pre_patch_ret, constructed);
	return pre_patch_ret;
}

static struct klp_func funcs[] = { { .old_name = "answer", .new_func = livepatch_answer, }, { } };
static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, .callbacks = { .pre_patch = pre_patch, }, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void)
{
	if (init_ret) {
		pr_info("module_init returns %d\n", init_ret);
		return init_ret;
	}
	return klp_enable_patch(&patch);
}
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
