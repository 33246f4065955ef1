/* livepatch-cancel.c: blocking_wait() of targets/cancel.c, whose cleanup
 * handler records 2: cancellation must unwind through the patch's frame
 * and run the patch's handler. Built with -fexceptions, as the target. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <uklp/livepatch.h>

static void livepatch_inner_cleanup(void *arg)
{
	*(int *)arg = 2;
}

static int livepatch_blocking_wait(int fd, int *inner, atomic_int *entered)
{
	char c;
	int r;
	pthread_cleanup_push(livepatch_inner_cleanup, inner);
	atomic_store(entered, 1);
	r = (int)read(fd, &c, 1);
	pthread_cleanup_pop(0);
	return r;
}

static struct klp_func funcs[] = { { .old_name = "blocking_wait", .new_func = livepatch_blocking_wait, }, { } };
static struct klp_object objs[] = { { .funcs = funcs, }, { } };
static struct klp_patch patch = { .mod = THIS_MODULE, .objs = objs, };

static int livepatch_init(void) { return klp_enable_patch(&patch); }
static void livepatch_exit(void) { }
module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
