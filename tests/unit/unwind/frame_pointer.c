// frame_pointer.c: compiled with -fno-omit-frame-pointer (CMakeLists.txt);
// the alloca makes GCC keep the CFA on rbp, so unwinding the pc captured
// below needs rbp.
#include <alloca.h>
#include <string.h>

#include "chain.h"

__attribute__((noinline)) void fp_capture(int alloca_bytes, fp_callback cb, void* arg) {
  char* p = alloca(alloca_bytes);
  memset(p, 0, alloca_bytes);
  uintptr_t rip, rsp, rbp;
  __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(rip), "=r"(rsp), "=r"(rbp));
  cb(rip, rsp, rbp, arg);
  __asm__ volatile("" : : "r"(p) : "memory");
}
