/*
 * fixture_patch.c: a patch module for the CLI's offline tests (`uklp info`,
 * the checks of `uklp load`). It is never loaded into a process: it only
 * has to look like a real module to patch_module.h: .modinfo tags,
 * parameters, a KLP_SYMPOS alias and a .uklp.targets line as
 * uklp-klp-convert would write it.
 */
#include <uklp/livepatch.h>

static int answer = 42;
static char *greeting = "hello";
static bool verbose;

module_param(answer, int, 0644);
MODULE_PARM_DESC(answer, "The answer to return");
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "What to say");
module_param(verbose, bool, 0);

extern int helper_in_b(int);
KLP_SYMPOS(helper_in_b, "main", "helper", 2);

__attribute__((section(".uklp.targets"), used)) static const char targets[] =
	"main\t0123456789abcdef0123456789abcdef01234567\n";

int livepatch_answer(void) { return answer + (verbose ? 1 : 0) + greeting[0]; }

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("uklp CLI test fixture");
MODULE_INFO(livepatch, "Y");
