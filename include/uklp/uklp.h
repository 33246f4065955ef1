/* <uklp/uklp.h>: what a patchable program may call (patch modules use
 * <uklp/livepatch.h>).
 *
 * klp_update_patch_state(): a safe point of the program's own loop. During
 * a transition it switches the calling thread to the transition's target
 * state at once, without a stack check, as the kernel switches a task on
 * its way back to user space or in the idle loop. Call it where no
 * function that a patch may change is in the middle of a multi-call
 * contract: typically at the top of a thread's main loop, whose function
 * never returns and so would keep the thread from ever passing a stack
 * check. Cheap (a few loads and one store) and a no-op outside a
 * transition.
 *
 * The declaration is weak: a program built with it runs without the
 * runtime, where uklp_update_patch_state() does nothing.
 */
#ifndef UKLP_UKLP_H
#define UKLP_UKLP_H

#ifdef __cplusplus
extern "C" {
#endif

void klp_update_patch_state(void) __attribute__((weak));

static inline void uklp_update_patch_state(void)
{
	if (klp_update_patch_state)
		klp_update_patch_state();
}

#ifdef __cplusplus
}
#endif

#endif /* UKLP_UKLP_H */
