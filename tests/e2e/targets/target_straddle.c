/* target_straddle.c: straddle() has its pad across a page boundary: the
 * filler below ends 8 bytes before a page, and this file is compiled with
 * -falign-functions=8, so the 14-byte pad starts there. test_e2e.py checks
 * that the layout really straddles. */
#include "target.h"

__asm__(".pushsection .text.uklp_straddle,\"ax\",@progbits\n"
        ".p2align 12\n"
        ".skip 4088, 0xcc\n"
        ".popsection\n");

__attribute__((section(".text.uklp_straddle"))) PATCHABLE int straddle(void) {
	__asm__ volatile("");
	return VALUE(3);
}
