// unwind_test.cc: the reliable unwinder on real stacks. A signal handler
// unwinds its own thread from the ucontext (as the runtime's handler will),
// a parent unwinds a forked child stopped by ptrace (as the tracer will),
// and libunwind walks the same stacks as a cross-check.
#include "arch/x86_64/unwind.h"

#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chain.h"

// Counting malloc, to check that unwind_stack allocates nothing. Not under
// ASan, whose runtime owns malloc.
#if defined(__SANITIZE_ADDRESS__)
static constexpr bool kCountsMalloc = false;
#else
static constexpr bool kCountsMalloc = true;
#endif
static std::atomic<long> g_mallocs{0};
#if !defined(__SANITIZE_ADDRESS__)
extern "C" void* __libc_malloc(size_t n);
extern "C" void* __libc_calloc(size_t n, size_t size);
extern "C" void* __libc_realloc(void* p, size_t n);
extern "C" void* malloc(size_t n) noexcept {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t size) noexcept {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
extern "C" void* realloc(void* p, size_t n) noexcept {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
#endif

namespace uklp::rt::x86 {
namespace {

constexpr int kErrnoMark = 4242;
constexpr uint8_t kSigreturnCode[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};

// What the capturing signal handler saw.
struct Capture {
  StackTrace trace;
  uintptr_t interrupted_pc = 0;  // the ucontext's rip
  uintptr_t libunwind[StackTrace::kMaxFrames + 1];
  int libunwind_n = 0;
  char libunwind_last[64] = {};  // the name of libunwind's last frame
  long mallocs = 0;              // during unwind_stack
  int errno_after = 0;
};

UnwindTable g_table;
CachedReader g_self_reader(getpid());
Capture g_capture;
MemoryReader g_reader;                   // what the handler unwinds with
bool g_rip_rsp_only = false;             // give the handler's walk rip and rsp only
uintptr_t g_outer_pc = 0;                // the pc the SIGUSR2 handler interrupted
std::atomic<bool> g_captured{false};

Regs regs_from(const ucontext_t* uc) {
  const greg_t* g = uc->uc_mcontext.gregs;
  const int greg_of[kNumRegs] = {REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI, REG_RBP, REG_RSP, REG_R8,
                                 REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP};
  Regs regs;
  for (int reg = 0; reg < kNumRegs; ++reg) regs.set(reg, uint64_t(g[greg_of[reg]]));
  return regs;
}

Regs regs_from(const user_regs_struct& u) {
  const uint64_t values[kNumRegs] = {u.rax, u.rdx, u.rcx, u.rbx, u.rsi, u.rdi, u.rbp, u.rsp, u.r8,
                                     u.r9,  u.r10, u.r11, u.r12, u.r13, u.r14, u.r15, u.rip};
  Regs regs;
  for (int reg = 0; reg < kNumRegs; ++reg) regs.set(reg, values[reg]);
  return regs;
}

void libunwind_walk(ucontext_t* uc, Capture* c) {
  unw_cursor_t cursor, last;
  c->libunwind_n = 0;
  if (unw_init_local2(&cursor, reinterpret_cast<unw_context_t*>(uc), UNW_INIT_SIGNAL_FRAME) < 0) return;
  do {
    unw_word_t ip;
    unw_get_reg(&cursor, UNW_REG_IP, &ip);
    c->libunwind[c->libunwind_n++] = ip;
    last = cursor;  // the final unw_step leaves the cursor past the last frame
  } while (c->libunwind_n <= StackTrace::kMaxFrames && unw_step(&cursor) > 0);
  unw_word_t off;
  if (unw_get_proc_name(&last, c->libunwind_last, sizeof c->libunwind_last, &off) != 0)
    c->libunwind_last[0] = 0;
}

// SIGUSR1: unwind this thread from where the signal interrupted it.
void on_capture(int, siginfo_t*, void* ctx) {
  auto* uc = static_cast<ucontext_t*>(ctx);
  Capture& c = g_capture;
  c.interrupted_pc = uintptr_t(uc->uc_mcontext.gregs[REG_RIP]);
  Regs regs = regs_from(uc);
  if (g_rip_rsp_only) regs.known = 1u << kRip | 1u << kRsp;
  int saved_errno = errno;
  errno = kErrnoMark;
  g_self_reader.reset();
  long before = g_mallocs.load();
  unwind_stack(g_table, regs, g_reader, &c.trace);
  c.mallocs = g_mallocs.load() - before;
  c.errno_after = errno;
  errno = saved_errno;
  libunwind_walk(uc, &c);
  g_captured = true;
}

extern "C" __attribute__((noinline)) void raise_leaf(void* sig) {
  raise(int(reinterpret_cast<intptr_t>(sig)));
  __asm__ volatile("" ::: "memory");
}

// SIGUSR2: a handler that is itself interrupted (by SIGUSR1).
void on_outer(int, siginfo_t*, void* ctx) {
  g_outer_pc = uintptr_t(static_cast<ucontext_t*>(ctx)->uc_mcontext.gregs[REG_RIP]);
  raise_leaf(reinterpret_cast<void*>(SIGUSR1));
}

void* sig_arg(int sig) { return reinterpret_cast<void*>(intptr_t(sig)); }

std::vector<uintptr_t> pcs_of(const StackTrace& t) { return {t.pcs, t.pcs + t.n}; }
std::vector<uintptr_t> libunwind_of(const Capture& c) { return {c.libunwind, c.libunwind + c.libunwind_n}; }

int index_of(const StackTrace& t, uintptr_t pc) {
  for (int i = 0; i < t.n; ++i)
    if (t.pcs[i] == pc) return i;
  return -1;
}

std::string describe(const StackTrace& t) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s at 0x%lx after %d frames", unwind_status_name(t.status), t.failed_pc, t.n);
  return buf;
}

bool is_sigreturn(uintptr_t pc) { return std::memcmp(reinterpret_cast<void*>(pc), kSigreturnCode, 9) == 0; }

// The chain's return addresses are on the stack, b's right above c's.
void expect_chain(const StackTrace& t, const ChainMarks& m) {
  int in_b = index_of(t, m.ret_in_b);
  ASSERT_GT(in_b, 0) << "no return address into b";
  EXPECT_EQ(index_of(t, m.ret_in_a), in_b + 1) << "no return address into a above it";
  EXPECT_FALSE(t.exact[in_b]);
}

// Blocks in read() on the pipe whose read end is *arg.
extern "C" __attribute__((noinline)) void read_leaf(void* arg) {
  char byte;
  while (read(*static_cast<int*>(arg), &byte, 1) < 0 && errno == EINTR) {
  }
  __asm__ volatile("" ::: "memory");
}

// Waits until thread `tid` of `pid` is in read(2) (/proc/.../syscall: "0 ...").
bool wait_in_read(pid_t pid, pid_t tid) {
  std::string path = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall";
  for (int i = 0; i < 10000; ++i) {
    std::ifstream f(path);
    std::string nr;
    if (f >> nr && nr == "0") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

class UnwindTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(g_table.build().is_ok());
    install(SIGUSR1, on_capture);
    install(SIGUSR2, on_outer);
  }
  void SetUp() override {
    g_capture = {};
    g_reader = g_self_reader.reader();
    g_rip_rsp_only = false;
    g_captured = false;
  }
  static void install(int sig, void (*fn)(int, siginfo_t*, void*)) {
    struct sigaction sa = {};
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(sig, &sa, nullptr), 0);
  }
  // The main thread's walk up to and including _start.
  static void expect_main_thread_complete(const Capture& c) {
    EXPECT_EQ(pcs_of(c.trace), libunwind_of(c)) << "libunwind sees other frames";
    EXPECT_STREQ(c.libunwind_last, "_start");
    EXPECT_EQ(c.errno_after, kErrnoMark) << "unwind_stack changed errno";
  }
};

class UnwindChainTest : public UnwindTest, public ::testing::WithParamInterface<bool> {};

TEST_P(UnwindChainTest, SignalHandlerUnwindsItsThreadToStart) {
  ChainMarks m = {};
  (GetParam() ? chain_padded_a : chain_plain_a)(&m, raise_leaf, sig_arg(SIGUSR1));
  const StackTrace& t = g_capture.trace;
  ASSERT_EQ(t.status, UnwindStatus::ok) << describe(t);
  EXPECT_TRUE(t.exact[0]);
  EXPECT_EQ(t.pcs[0], g_capture.interrupted_pc);
  for (int i = 1; i < t.n; ++i) EXPECT_FALSE(t.exact[i]) << i;
  expect_chain(t, m);
  expect_main_thread_complete(g_capture);
}

INSTANTIATE_TEST_SUITE_P(Chains, UnwindChainTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "padded" : "plain"; });

TEST_F(UnwindTest, PassesThroughASignalFrame) {
  ChainMarks m = {};
  chain_plain_a(&m, raise_leaf, sig_arg(SIGUSR2));
  const StackTrace& t = g_capture.trace;
  ASSERT_EQ(t.status, UnwindStatus::ok) << describe(t);
  int restore_rt = -1;
  for (int i = 1; i + 1 < t.n && restore_rt < 0; ++i)
    if (is_sigreturn(t.pcs[i])) restore_rt = i;
  ASSERT_GT(restore_rt, 0) << "no __restore_rt frame";
  EXPECT_FALSE(t.exact[restore_rt]);
  EXPECT_TRUE(t.exact[restore_rt + 1]);
  EXPECT_EQ(t.pcs[restore_rt + 1], g_outer_pc);
  expect_chain(t, m);
  EXPECT_GT(index_of(t, m.ret_in_b), restore_rt);
  expect_main_thread_complete(g_capture);
}

TEST_F(UnwindTest, PthreadBlockedInReadEndsAtTheCloneEntry) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ChainMarks m = {};
  std::atomic<pid_t> tid{0};
  std::thread th([&] {
    tid = pid_t(syscall(SYS_gettid));
    chain_plain_a(&m, read_leaf, &fds[0]);
  });
  while (tid == 0) std::this_thread::yield();
  bool in_read = wait_in_read(getpid(), tid);
  if (in_read) pthread_kill(th.native_handle(), SIGUSR1);
  for (int i = 0; in_read && !g_captured && i < 10000; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  th.join();
  close(fds[0]);
  close(fds[1]);
  ASSERT_TRUE(in_read && g_captured);
  const StackTrace& t = g_capture.trace;
  ASSERT_EQ(t.status, UnwindStatus::ok) << describe(t);
  expect_chain(t, m);
  EXPECT_EQ(pcs_of(t), libunwind_of(g_capture));
  // clone3's child entry has no dynamic symbol (libunwind names a neighbour).
  Dl_info info = {};
  ASSERT_NE(dladdr(reinterpret_cast<void*>(t.pcs[t.n - 1] - 1), &info), 0);
  EXPECT_NE(std::strstr(info.dli_fname, "libc.so"), nullptr) << info.dli_fname;
}

TEST_F(UnwindTest, TracerUnwindsAForkedChildStoppedInRead) {
  ChainMarks own = {};
  chain_plain_a(&own, raise_leaf, sig_arg(SIGUSR1));  // our own _start frame
  ASSERT_EQ(g_capture.trace.status, UnwindStatus::ok);
  uintptr_t start_pc = g_capture.trace.pcs[g_capture.trace.n - 1];
  void* shared = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(shared, MAP_FAILED);
  auto* m = new (shared) ChainMarks();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    chain_plain_a(m, read_leaf, &fds[0]);
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  bool stopped = wait_in_read(pid, pid) && ptrace(PTRACE_SEIZE, pid, 0, 0) == 0 &&
                 ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0;
  int st = 0;
  stopped = stopped && waitpid(pid, &st, 0) == pid && WIFSTOPPED(st);
  user_regs_struct ur = {};
  stopped = stopped && ptrace(PTRACE_GETREGS, pid, 0, &ur) == 0;
  StackTrace t;
  auto reader = std::make_unique<CachedReader>(pid);  // the child has the same layout
  if (stopped) unwind_stack(g_table, regs_from(ur), reader->reader(), &t);
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  ChainMarks marks = *m;
  munmap(shared, 4096);
  close(fds[0]);
  close(fds[1]);
  if (!stopped) GTEST_SKIP() << "cannot ptrace a child here";
  ASSERT_EQ(t.status, UnwindStatus::ok) << describe(t);
  EXPECT_EQ(t.pcs[0], ur.rip);
  expect_chain(t, marks);
  EXPECT_EQ(t.pcs[t.n - 1], start_pc);
}

TEST_F(UnwindTest, DeepRecursionIsTooDeep) {
  chain_plain_recurse(150, raise_leaf, sig_arg(SIGUSR1));
  const StackTrace& t = g_capture.trace;
  EXPECT_EQ(t.status, UnwindStatus::too_deep) << describe(t);
  EXPECT_EQ(t.n, StackTrace::kMaxFrames);
  EXPECT_NE(t.failed_pc, 0u);
}

TEST_F(UnwindTest, ShallowRecursionIsComplete) {
  chain_plain_recurse(30, raise_leaf, sig_arg(SIGUSR1));
  EXPECT_EQ(g_capture.trace.status, UnwindStatus::ok) << describe(g_capture.trace);
  EXPECT_GT(g_capture.trace.n, 30);
}

// Fails every read that touches [lo, hi); reads the rest through `inner`.
struct FailingReader {
  CachedReader* inner;
  uintptr_t lo, hi;
  static bool read(void* ctx, uintptr_t addr, void* out, size_t n) {
    auto* f = static_cast<FailingReader*>(ctx);
    if (addr < f->hi && addr + n > f->lo) return false;
    return f->inner->read(addr, out, n);
  }
  MemoryReader reader() { return {&FailingReader::read, this}; }
};

TEST_F(UnwindTest, FailingReaderGivesUnreadableMemory) {
  FailingReader all = {&g_self_reader, 0, UINTPTR_MAX};
  g_reader = all.reader();
  ChainMarks m = {};
  chain_plain_a(&m, raise_leaf, sig_arg(SIGUSR1));
  EXPECT_EQ(g_capture.trace.status, UnwindStatus::unreadable_memory) << describe(g_capture.trace);
  EXPECT_EQ(g_capture.trace.n, 1);
  EXPECT_EQ(g_capture.trace.failed_pc, g_capture.interrupted_pc);
}

TEST_F(UnwindTest, UnreadableStackGivesUnreadableMemory) {
  int here;
  auto sp = reinterpret_cast<uintptr_t>(&here);
  FailingReader stack = {&g_self_reader, sp - (1u << 20), sp + (1u << 20)};
  g_reader = stack.reader();
  ChainMarks m = {};
  chain_plain_a(&m, raise_leaf, sig_arg(SIGUSR1));
  EXPECT_EQ(g_capture.trace.status, UnwindStatus::unreadable_memory) << describe(g_capture.trace);
  EXPECT_EQ(g_capture.trace.n, 1);  // the unwind data was readable
}

TEST_F(UnwindTest, RuleNeedingAnUnknownRegisterIsUnsupported) {
  struct Result {
    uintptr_t rip = 0;
    StackTrace partial, full;
  } r;
  fp_capture(64, [](uintptr_t rip, uintptr_t rsp, uintptr_t rbp, void* arg) {
    auto* r = static_cast<Result*>(arg);
    r->rip = rip;
    Regs regs;
    regs.set(kRip, rip);
    regs.set(kRsp, rsp);
    unwind_stack(g_table, regs, g_self_reader.reader(), &r->partial);
    regs.set(kRbp, rbp);
    unwind_stack(g_table, regs, g_self_reader.reader(), &r->full);
  }, &r);
  EXPECT_EQ(r.partial.status, UnwindStatus::unsupported_cfi) << describe(r.partial);
  EXPECT_EQ(r.partial.n, 1);
  EXPECT_EQ(r.partial.failed_pc, r.rip);
  EXPECT_EQ(r.full.status, UnwindStatus::ok) << describe(r.full);
}

// Reads the stack as it is and everything else (unwind data, code) with a
// random byte changed now and then: the walk must end, within bounds, with
// some status (ASan/UBSan watch the parser in the sanitized build).
struct CorruptingReader {
  CachedReader* inner;
  uintptr_t stack_lo, stack_hi;
  uint64_t rng = 0x9e3779b97f4a7c15;
  uint64_t next() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }
  static bool read(void* ctx, uintptr_t addr, void* out, size_t n) {
    auto* c = static_cast<CorruptingReader*>(ctx);
    if (!c->inner->read(addr, out, n)) return false;
    bool stack = addr >= c->stack_lo && addr < c->stack_hi;
    if (!stack && n > 0 && c->next() % 128 == 0) static_cast<uint8_t*>(out)[c->next() % n] = uint8_t(c->next());
    return true;
  }
  MemoryReader reader() { return {&CorruptingReader::read, this}; }
};

TEST_F(UnwindTest, CorruptUnwindDataEndsTheWalk) {
  struct Counts {
    int ok = 0, failed = 0;
  } counts;
  fp_capture(16, [](uintptr_t rip, uintptr_t rsp, uintptr_t rbp, void* arg) {
    auto* counts = static_cast<Counts*>(arg);
    Regs regs;
    regs.set(kRip, rip);
    regs.set(kRsp, rsp);
    regs.set(kRbp, rbp);
    CorruptingReader corrupt = {&g_self_reader, rsp - (1u << 20), rsp + (1u << 20)};
    for (int i = 0; i < 2000; ++i) {
      StackTrace t;
      unwind_stack(g_table, regs, corrupt.reader(), &t);
      EXPECT_LE(t.n, StackTrace::kMaxFrames);
      (t.status == UnwindStatus::ok ? counts->ok : counts->failed)++;
    }
  }, &counts);
  EXPECT_GT(counts.failed, 0) << "the corruption changed nothing";
}

TEST_F(UnwindTest, WithoutRipAndRspNothingIsWalked) {
  Regs regs;
  regs.set(kRip, reinterpret_cast<uintptr_t>(&chain_plain_c));
  StackTrace t;
  unwind_stack(g_table, regs, g_self_reader.reader(), &t);
  EXPECT_EQ(t.status, UnwindStatus::unsupported_cfi);
  EXPECT_EQ(t.n, 0);
}

// A walk from the entry of chain_plain_c (CFA = rsp + 8, the return
// address at rsp) over a stack made up here.
StackTrace walk_from_entry(uintptr_t stack) {
  Regs regs;
  regs.set(kRip, reinterpret_cast<uintptr_t>(&chain_plain_c));
  regs.set(kRsp, stack);
  StackTrace t;
  g_self_reader.reset();
  unwind_stack(g_table, regs, g_self_reader.reader(), &t);
  return t;
}

class UnwindFakeStack : public UnwindTest {
 protected:
  void SetUp() override {
    UnwindTest::SetUp();
    page_ = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(page_, MAP_FAILED);
  }
  void TearDown() override { munmap(page_, 4096); }
  uintptr_t page() const { return reinterpret_cast<uintptr_t>(page_); }
  void* page_ = nullptr;
};

TEST_F(UnwindFakeStack, PcOutsideEveryObjectHasNoUnwindInfo) {
  uint64_t stack[2] = {};
  Regs regs;
  regs.set(kRip, page() + 16);
  regs.set(kRsp, reinterpret_cast<uintptr_t>(stack));
  StackTrace t;
  unwind_stack(g_table, regs, g_self_reader.reader(), &t);
  EXPECT_EQ(t.status, UnwindStatus::no_unwind_info);
  EXPECT_EQ(t.n, 1);
  EXPECT_EQ(t.failed_pc, page() + 16);
}

TEST_F(UnwindFakeStack, ReturnIntoUnwindFakeStackHasNoUnwindInfo) {
  uint64_t stack[2] = {page() + 16, 0};
  StackTrace t = walk_from_entry(reinterpret_cast<uintptr_t>(stack));
  EXPECT_EQ(t.status, UnwindStatus::no_unwind_info) << describe(t);
  ASSERT_EQ(t.n, 2);
  EXPECT_EQ(t.pcs[1], page() + 16);
  EXPECT_FALSE(t.exact[1]);
  EXPECT_EQ(t.failed_pc, page() + 16);
}

TEST_F(UnwindFakeStack, ReturnAddressZeroIsNotReliable) {
  uint64_t stack[2] = {0, 0};
  StackTrace t = walk_from_entry(reinterpret_cast<uintptr_t>(stack));
  EXPECT_EQ(t.status, UnwindStatus::no_unwind_info) << describe(t);
  EXPECT_EQ(t.n, 2);
  EXPECT_EQ(t.failed_pc, 0u);
}

TEST_F(UnwindFakeStack, UnmappedStackKeepsErrnoAndAllocatesNothing) {
  void* other = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);  // for TearDown
  ASSERT_NE(other, MAP_FAILED);
  uintptr_t gone = page();
  munmap(page_, 4096);
  page_ = other;
  errno = kErrnoMark;
  long before = g_mallocs.load();
  StackTrace t = walk_from_entry(gone);
  long mallocs = g_mallocs.load() - before;
  EXPECT_EQ(errno, kErrnoMark);
  EXPECT_EQ(t.status, UnwindStatus::unreadable_memory) << describe(t);
  if (kCountsMalloc) {
    EXPECT_EQ(mallocs, 0);
  }
}

TEST_F(UnwindTest, SignalHandlerWalkAllocatesNothing) {
  if (!kCountsMalloc) GTEST_SKIP() << "ASan owns malloc";
  long before = g_mallocs.load();
  void* p = malloc(1);  // the counter works
  free(p);
  ASSERT_EQ(g_mallocs.load() - before, 1);
  ChainMarks m = {};
  chain_plain_a(&m, raise_leaf, sig_arg(SIGUSR1));
  EXPECT_EQ(g_capture.trace.status, UnwindStatus::ok);
  EXPECT_EQ(g_capture.mallocs, 0);
}

// ---- UnwindTable ----

TEST_F(UnwindTest, TableFindsProgramLibcAndVdso) {
  const UnwindObject* self = g_table.find(reinterpret_cast<uintptr_t>(&chain_plain_a));
  ASSERT_NE(self, nullptr);
  EXPECT_NE(self->eh_frame_hdr, 0u);
  const UnwindObject* libc = g_table.find(reinterpret_cast<uintptr_t>(&::read));
  ASSERT_NE(libc, nullptr);
  EXPECT_NE(libc, self);
  auto vdso = uintptr_t(getauxval(AT_SYSINFO_EHDR));
  ASSERT_NE(vdso, 0u);
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(vdso);
  const auto* ph = reinterpret_cast<const Elf64_Phdr*>(vdso + eh->e_phoff);
  uintptr_t text = 0;
  for (int i = 0; i < eh->e_phnum; ++i)
    if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X)) text = vdso + ph[i].p_vaddr + ph[i].p_memsz / 2;
  const UnwindObject* v = g_table.find(text);
  ASSERT_NE(v, nullptr);
  EXPECT_NE(v->eh_frame_hdr, 0u);
  int here;
  EXPECT_EQ(g_table.find(reinterpret_cast<uintptr_t>(&here)), nullptr);  // the stack
}

TEST(UnwindStatusName, NamesEveryStatus) {
  EXPECT_STREQ(unwind_status_name(UnwindStatus::no_unwind_info), "no unwind info");
  std::vector<std::string> names;
  for (auto s : {UnwindStatus::ok, UnwindStatus::no_unwind_info, UnwindStatus::unsupported_cfi, UnwindStatus::bad_cfi,
                 UnwindStatus::unreadable_memory, UnwindStatus::too_deep}) {
    std::string name = unwind_status_name(s);
    EXPECT_FALSE(name.empty());
    for (const auto& other : names) EXPECT_NE(name, other);
    names.push_back(name);
  }
}

// ---- CachedReader ----

__attribute__((noinline)) void first_code_page_marker() { asm volatile(""); }

class CachedReaderTest : public ::testing::Test {
 protected:
  static constexpr size_t kPage = 4096;
  static constexpr int kPages = CachedReader::kCapacity + 4;
  void SetUp() override {
    mem_ = static_cast<uint8_t*>(mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE,
                                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    ASSERT_NE(mem_, MAP_FAILED);
    for (size_t i = 0; i < kPages * kPage; ++i) mem_[i] = uint8_t(i * 7 + i / kPage);
  }
  void TearDown() override { munmap(mem_, kPages * kPage); }
  uintptr_t at(size_t off) const { return reinterpret_cast<uintptr_t>(mem_) + off; }
  uint8_t first_byte(CachedReader& r, int page) {
    uint8_t b = 0;
    EXPECT_TRUE(r.read(at(page * kPage), &b, 1));
    return b;
  }
  uint8_t* mem_ = nullptr;
  std::unique_ptr<CachedReader> reader_ = std::make_unique<CachedReader>(getpid());
};

TEST_F(CachedReaderTest, ReadsSpanPages) {
  uint8_t buf[3 * kPage];
  ASSERT_TRUE(reader_->read(at(kPage - 100), buf, sizeof buf));
  EXPECT_EQ(std::memcmp(buf, mem_ + kPage - 100, sizeof buf), 0);
}

TEST_F(CachedReaderTest, UnreadablePageFailsTheRead) {
  ASSERT_EQ(mprotect(mem_ + 2 * kPage, kPage, PROT_NONE), 0);
  uint8_t buf[200];
  EXPECT_TRUE(reader_->read(at(2 * kPage - 200), buf, 200));
  EXPECT_FALSE(reader_->read(at(2 * kPage - 100), buf, 200));
  EXPECT_FALSE(CachedReader(0x7fffffff).read(at(0), buf, 1)) << "no such pid";
}

TEST_F(CachedReaderTest, EvictsTheLeastRecentlyUsedPage) {
  constexpr int n = CachedReader::kCapacity;
  for (int p = 0; p < n; ++p) first_byte(*reader_, p);  // the cache is full
  first_byte(*reader_, 0);                              // page 1 is now the oldest
  mem_[0] = 0xaa;
  mem_[kPage] = 0xbb;
  first_byte(*reader_, n);                              // evicts page 1
  EXPECT_NE(first_byte(*reader_, 0), 0xaa) << "page 0 was evicted";
  EXPECT_EQ(first_byte(*reader_, 1), 0xbb) << "page 1 was kept";
  reader_->reset();
  EXPECT_EQ(first_byte(*reader_, 0), 0xaa);
}

// One call fills the pages up to an unreadable one; reads of them then
// need no call (shown by changing the memory behind the cache's back).
TEST_F(CachedReaderTest, PrefetchReadsPagesUpToAnUnreadableOne) {
  ASSERT_EQ(mprotect(mem_ + 3 * kPage, kPage, PROT_NONE), 0);
  reader_->prefetch(at(kPage + 123), 4);  // pages 1, 2; page 3 fails
  uint8_t was1 = mem_[kPage], was2 = mem_[2 * kPage];
  mem_[kPage] = uint8_t(was1 + 1);
  mem_[2 * kPage] = uint8_t(was2 + 1);
  EXPECT_EQ(first_byte(*reader_, 1), was1);
  EXPECT_EQ(first_byte(*reader_, 2), was2);
  uint8_t b;
  EXPECT_FALSE(reader_->read(at(3 * kPage), &b, 1));
  reader_->prefetch(at(kPage), 2);  // again: the cached copies are replaced
  EXPECT_EQ(first_byte(*reader_, 1), uint8_t(was1 + 1));
}

// Pages of read-only segments survive reset_keeping(): this test binary's
// code is one, this fixture's anonymous memory is not.
TEST_F(CachedReaderTest, ResetKeepingKeepsReadOnlySegments) {
  UnwindTable table;
  ASSERT_TRUE(table.build().is_ok());
  uintptr_t code = reinterpret_cast<uintptr_t>(&first_code_page_marker) & ~uintptr_t(kPage - 1);
  EXPECT_TRUE(table.read_only_page(code));
  EXPECT_FALSE(table.read_only_page(at(0)));
  uint8_t c;
  ASSERT_TRUE(reader_->read(code, &c, 1));
  first_byte(*reader_, 0);
  mem_[0] = uint8_t(mem_[0] + 1);
  reader_->reset_keeping(table);
  EXPECT_EQ(first_byte(*reader_, 0), mem_[0]) << "a writable page is read again";
}

}  // namespace
}  // namespace uklp::rt::x86
