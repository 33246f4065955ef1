/* livepatch-sleepy.c: sleepy() and probe() return 2. sleepy() blocks on
 * the same pipe as the original, so a thread can sleep in either version. */
#include <errno.h>
#include <unistd.h>

#include <uklp/livepatch.h>

extern int sleepy_pipe[2];

static int livepatch_sleepy(void)
{
	char c;
	while (read(sleepy_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return 2;
}

static int livepatch_probe(void) { return 2; }

static struct klp_func funcs[] = {
	{ .old_name = "sleepy", .new_func = livepatch_sleepy, },
	{ .old_name = "probe", .new_func = livepatch_probe, },
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
