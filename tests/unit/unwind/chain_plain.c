// chain_plain.c: the test chain, compiled as the test program is.
#define CHAIN(name) chain_plain_##name
#include "chain.inc"
