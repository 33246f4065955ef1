/* livepatch-loop.c: work() returns 2; worker_loop() is changed too, so a
 * thread that never leaves it never passes a stack check and switches
 * only at the program's klp_update_patch_state() safe point. */
#include <stdatomic.h>
#include <unistd.h>

#include <uklp/livepatch.h>

extern atomic_int loop_value;
extern int work(void);

static int livepatch_work(void) { return 2; }

static void *livepatch_worker_loop(void *arg)
{
	(void)arg;
	for (;;) {
		loop_value = work();
		usleep(1000);
	}
	return NULL;
}

static struct klp_func funcs[] = {
	{ .old_name = "work", .new_func = livepatch_work, },
	{ .old_name = "worker_loop", .new_func = livepatch_worker_loop, },
	{ }
};
static struct klp_object objs[] = { { .name = NULL, .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
