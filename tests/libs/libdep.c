/* libdep.c: a library whose only purpose is to need liblate.so (DT_NEEDED),
 * so that liblate comes in as a dependency of something dlopen()ed. */
int late_answer(void);

int dep_answer(void) { return late_answer(); }
