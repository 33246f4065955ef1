/* churn_dl.c: the small library churn.c opens and closes in loops. Its
 * constructor and destructor run under the dynamic loader's lock. */
static volatile int constructed;

__attribute__((constructor)) static void churn_dl_init(void) { constructed = 1; }
__attribute__((destructor)) static void churn_dl_fini(void) { constructed = 0; }

int churn_dl_value(int x) {
	return constructed ? x * 7 : -1;
}
