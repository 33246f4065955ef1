// chain_padded.c: the test chain with patchable entries (UKLP_PATCHABLE_FLAG,
// set in CMakeLists.txt): the pads must not change its unwinding.
#define CHAIN(name) chain_padded_##name
#include "chain.inc"
