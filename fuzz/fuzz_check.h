// fuzz_check.h: FUZZ_CHECK(cond), a fuzzer's own check of what a parser
// promises. A failure prints the condition and aborts, which libFuzzer
// reports as a crash and saves the input (to stderr: stdout is buffered
// and lost at abort()).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                           \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)
