// empty.cc: a shared library like libuklp.so (C++, linked with libstdc++,
// -z now) that does nothing, the baseline of the dlopen benchmark
// (bench_dlopen_probe).
#include <string>

extern "C" __attribute__((visibility("default"))) std::size_t uklp_bench_empty(const char* s) {
  return std::string(s).size();  // keeps libstdc++ a real dependency
}
