// chain.h: known call chains for the unwinder's tests, in C so that the
// frames are plain (no exceptions, no C++ runtime in between).
//
//   CHAIN_a -> CHAIN_b -> CHAIN_c -> leaf(arg)
//
// Each link is noinline and does work after its call (no tail call), and
// records where its callee returns to, so a test knows which return
// addresses the stack of `leaf` must show. The chain is built twice:
// chain_plain.c as is, chain_padded.c with UKLP_PATCHABLE_FLAG.
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ChainMarks {
  uintptr_t ret_in_a;  // where CHAIN_b returns to
  uintptr_t ret_in_b;  // where CHAIN_c returns to
};

typedef void (*chain_leaf)(void* arg);

void chain_plain_a(struct ChainMarks* marks, chain_leaf leaf, void* arg);
void chain_plain_c(struct ChainMarks* marks, chain_leaf leaf, void* arg);
void chain_padded_a(struct ChainMarks* marks, chain_leaf leaf, void* arg);

// Recurses `depth` times, then calls leaf(arg).
void chain_plain_recurse(int depth, chain_leaf leaf, void* arg);

// frame_pointer.c: a frame whose CFA is rbp + 16 (alloca, frame pointer),
// calling back with the registers at a pc inside it.
typedef void (*fp_callback)(uintptr_t rip, uintptr_t rsp, uintptr_t rbp, void* arg);
void fp_capture(int alloca_bytes, fp_callback cb, void* arg);

#ifdef __cplusplus
}
#endif
