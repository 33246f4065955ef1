/* livepatch-contract.c: version 2 of contract_caller() and
 * contract_callee(), which must only ever meet each other. */
#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>

#include <uklp/livepatch.h>

extern atomic_long contract_calls, contract_mismatches;
extern atomic_int blocker_in;
extern int contract_pipe[2];
extern int contract_callee(void);

static int livepatch_callee(void) { return 2; }

static int livepatch_caller(int block)
{
	const int mine = 2;
	if (contract_callee() != mine)
		contract_mismatches++;
	if (block) {
		char c;
		blocker_in = 1;
		while (read(contract_pipe[0], &c, 1) < 0 && errno == EINTR)
			;
	} else {
		for (volatile int i = 0; i < 200; i++)
			;
	}
	if (contract_callee() != mine)
		contract_mismatches++;
	contract_calls++;
	return mine;
}

static struct klp_func funcs[] = {
	{ .old_name = "contract_caller", .new_func = livepatch_caller, },
	{ .old_name = "contract_callee", .new_func = livepatch_callee, },
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
