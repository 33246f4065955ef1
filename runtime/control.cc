// control.cc: see control.h.
//
// One request per connection, served on the control thread with the klp
// mutex held, so requests never interleave; their lines are read from many
// connections at once, so a client that sends nothing holds no one up. A
// peer must be root or the process's own user (SO_PEERCRED), otherwise
// EACCES. While a request is served, every runtime log line is also
// streamed to its client.
#include "control.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "core.h"
#include "loader.h"
#include "log.h"
#include "protocol.h"
#include "symbols.h"
#include "redirect.h"
#include "text_poke.h"
#include "transition.h"

namespace uklp::rt {
namespace {

int g_listen_fd = -1;

struct Reply {
  int sock;
  std::vector<std::string> data;
  // Set by the first write that fails (a client gone, or one that has not
  // read for SO_SNDTIMEO): the rest of the answer is dropped, instead of
  // every later line blocking the control thread for SO_SNDTIMEO again.
  bool gone = false;
  void send(const std::string& text) {
    if (!gone) gone = !protocol::send_all(sock, text);
  }
  void send_line(const std::string& kind, const std::string& payload) { send(kind + "\t" + payload + "\n"); }
  // The answer's last line for a request that failed: "error\tERRNO\tMESSAGE".
  void send_error(const Status& s) { send_line("error", std::to_string(s.code()) + "\t" + s.message()); }
};

using Args = std::vector<std::string>;

std::string hex(uintptr_t v) {
  char b[32];
  snprintf(b, sizeof b, "0x%" PRIxPTR, v);
  return b;
}

// ---- the attribute tree ----

Object* find_object_dir(Patch* p, const std::string& name) {
  for (auto& o : p->objs)
    if (o->name == name) return o.get();
  return nullptr;
}

bool thread_exists(const std::string& tid) {
  if (tid.empty() || tid.find_first_not_of("0123456789") != std::string::npos) return false;
  struct stat st {};
  return stat(("/proc/self/task/" + tid).c_str(), &st) == 0;
}

Result<std::string> read_livepatch_attr(const Args& parts) {
  Patch* p = find_patch(parts[1]);
  if (!p) return error(ENOENT, "no such patch '" + parts[1] + "'");
  if (parts.size() == 3) {
    const std::string& a = parts[2];
    if (a == "enabled") return std::to_string(p->enabled);
    if (a == "transition") return std::to_string(p == klp_transition_patch());
    if (a == "replace") return std::to_string(p->replace);
    if (a == "stack_order") return std::to_string(patch_stack_order(p));
    if (a == "force") return error(EACCES, "'force' is write-only");
  }
  if (parts.size() == 4 && parts[3] == "patched") {
    Object* o = find_object_dir(p, parts[2]);
    if (o) return std::to_string(o->patched);
  }
  return error(ENOENT, "no such attribute 'livepatch/" + parts[1] + "/" + (parts.size() > 2 ? parts[2] : "") + "'");
}

Status write_livepatch_attr(const Args& parts, const std::string& value) {
  Patch* p = find_patch(parts[1]);
  if (!p) return error(ENOENT, "no such patch '" + parts[1] + "'");
  if (parts.size() == 3 && parts[2] == "enabled") {
    UKLP_ASSIGN_OR_RETURN(bool on, kstrtobool(value));
    return patch_set_enabled(p, on);
  }
  if (parts.size() == 3 && parts[2] == "force") {
    UKLP_ASSIGN_OR_RETURN(bool on, kstrtobool(value));
    return on ? patch_force(p) : Status::ok();
  }
  return error(EACCES, "attribute is read-only or does not exist");
}

Result<const Param*> find_param(const Args& parts) {
  if (parts.size() != 4 || parts[2] != "parameters") return error(ENOENT, "no such attribute");
  Module* m = find_module(parts[1]);
  if (!m) return error(ENOENT, "no such module '" + parts[1] + "'");
  for (const Param& p : m->params)
    if (p.name == parts[3] && p.perm) return &p;
  return error(ENOENT, "no such parameter '" + parts[3] + "' of module " + parts[1]);
}

Args split_path(const std::string& path) {
  Args parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

Result<std::string> sys_read(const std::string& path) {
  Args parts = split_path(path);
  if (parts.size() >= 3 && parts[0] == "livepatch") return read_livepatch_attr(parts);
  if (parts.size() >= 2 && parts[0] == "module") {
    UKLP_ASSIGN_OR_RETURN(const Param* p, find_param(parts));
    if (!(p->perm & 0444)) return error(EACCES, "parameter is not readable");
    return param_get(*p);
  }
  if (parts.size() == 3 && parts[0] == "task" && parts[2] == "patch_state") {
    if (!thread_exists(parts[1])) return error(ENOENT, "no such thread " + parts[1]);
    return std::to_string(thread_patch_state(pid_t(std::stol(parts[1]))));
  }
  return error(ENOENT, "no such attribute '" + path + "'");
}

Status sys_write(const std::string& path, const std::string& value) {
  Args parts = split_path(path);
  if (parts.size() >= 3 && parts[0] == "livepatch") return write_livepatch_attr(parts, value);
  if (parts.size() >= 2 && parts[0] == "module") {
    UKLP_ASSIGN_OR_RETURN(const Param* p, find_param(parts));
    if (!(p->perm & 0222)) return error(EACCES, "parameter is read-only");
    return param_set(*p, value);
  }
  if (parts.size() == 3 && parts[0] == "task") return error(EACCES, "patch_state is read-only");
  return error(ENOENT, "no such attribute '" + path + "'");
}

// ---- commands ----

Status cmd_load(const Args& a, int fd, Reply& r) {
  if (fd < 0) return error(EBADF, "load: no file descriptor was passed");
  if (a.size() < 4) return error(EINVAL, "load: NAME FILE FLAGS [KEY=VALUE...] expected");
  LoadRequest req;
  req.fd = fd;
  req.name = a[1];
  req.path = a[2];
  req.params.assign(a.begin() + 4, a.end());
  UKLP_TRY(load_module(req));
  Module* mod = find_module(req.name);
  r.data.push_back(mod && mod->patch ? "patch=active" : "patch=none");
  // The first attempt often completes it: the CLI then has nothing to wait for.
  if (mod && mod->patch && mod->patch->enabled && mod->patch != klp_transition_patch())
    r.data.push_back("transition=complete");
  return Status::ok();
}

Status cmd_disable(const Args& a, Reply& r) {
  if (a.size() != 2 && a.size() != 3) return error(EINVAL, "disable: PATCH [FLAGS] expected");
  Patch* p = find_patch(a[1]);
  if (!p) {
    if (find_module(a[1])) return error(EINVAL, "patch '" + a[1] + "' is already disabled");
    return error(ENOENT, "no such patch '" + a[1] + "'");
  }
  UKLP_TRY(patch_set_enabled(p, false));
  p = find_patch(a[1]);  // freed once its unpatching completed
  if (!p || (!p->enabled && p != klp_transition_patch())) r.data.push_back("transition=complete");
  return Status::ok();
}

Status cmd_unload(const Args& a, Reply&) {
  if (a.size() != 2) return error(EINVAL, "unload: PATCH expected");
  return unload_module(a[1]);
}

void list_patch(Patch* p, Reply& r) {
  r.data.push_back("patch=" + p->name + "\tenabled=" + std::to_string(p->enabled) +
                   "\ttransition=" + std::to_string(p == klp_transition_patch()) +
                   "\treplace=" + std::to_string(p->replace) + "\tstack_order=" +
                   std::to_string(patch_stack_order(p)) + "\tforced=" + std::to_string(p->forced) +
                   "\tfile=" + (p->mod ? p->mod->path : ""));
  for (auto& o : p->objs) {
    r.data.push_back("object=" + o->name + "\tpatch=" + p->name + "\tpatched=" + std::to_string(o->patched) +
                     "\tloaded=" + std::to_string(o->loaded));
    for (auto& f : o->funcs)
      r.data.push_back("func=" + f->old_name + "," + std::to_string(f->old_sympos ? f->old_sympos : 1) +
                       "\tobject=" + o->name + "\tpatch=" + p->name + "\told=" + hex(f->old_addr) +
                       "\tnew=" + hex(f->new_addr) + "\tnop=" + std::to_string(f->nop) +
                       "\tpatched=" + std::to_string(f->patched));
  }
}

Status cmd_list(Reply& r) {
  for (Patch* p : klp_patches()) list_patch(p, r);
  for (auto& m : modules())
    r.data.push_back("module=" + m->name + "\tfile=" + m->path + "\tpatch=" + (m->patch ? "active" : "none") +
                     "\tforced=" + std::to_string(m->forced));
  return Status::ok();
}

Status cmd_sys(const Args& a, Reply& r) {
  if (a.size() == 2) {
    UKLP_ASSIGN_OR_RETURN(std::string v, sys_read(a[1]));
    r.data.push_back(v);
    return Status::ok();
  }
  if (a.size() == 3) return sys_write(a[1], a[2]);
  return error(EINVAL, "sys: PATH [VALUE] expected");
}

void tree_lines(Reply& r) {
  for (Patch* p : klp_patches()) {
    std::string base = "livepatch/" + p->name + "/";
    for (const char* attr : {"enabled", "transition", "replace", "stack_order"})
      r.data.push_back(base + attr + "=" + sys_read(base + attr).value_or("?"));
    for (auto& o : p->objs) {
      r.data.push_back(base + o->name + "/patched=" + std::to_string(o->patched));
      for (auto& f : o->funcs)
        r.data.push_back(base + o->name + "/" + f->old_name + "," + std::to_string(f->old_sympos ? f->old_sympos : 1) + "/");
    }
  }
  for (auto& m : modules())
    for (const Param& p : m->params)
      if (p.perm & 0444) r.data.push_back("module/" + m->name + "/parameters/" + p.name + "=" + param_get(p).value_or("?"));
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.')
        r.data.push_back(std::string("task/") + e->d_name + "/patch_state=" +
                         std::to_string(thread_patch_state(pid_t(atoi(e->d_name)))));
    closedir(d);
  }
}

Status cmd_dmesg(Reply& r) {
  for (auto& l : log_snapshot()) r.data.push_back(l);
  return Status::ok();
}

Status cmd_info(Reply& r) {
  r.data.push_back("pid=" + std::to_string(getpid()));
  r.data.push_back("runtime_version=0.1.0");
  r.data.push_back("consistency=per-thread");
  return Status::ok();
}

// "name+0xoff [object]" for a frame of a blocking thread's stack.
std::string symbolize(uintptr_t pc, bool exact) {
  auto sym = symbol_at(exact ? pc : pc - 1);
  char b[64];
  if (!sym) {
    snprintf(b, sizeof b, "0x%" PRIxPTR, pc);
    return b;
  }
  snprintf(b, sizeof b, "+0x%" PRIxPTR, pc - sym->address);
  return sym->name + b + " [" + sym->object + "]";
}

// The transition in progress: one line, then one per blocking thread.
Status cmd_status(Reply& r) {
  auto st = klp_transition_status();
  if (!st) return Status::ok();
  r.data.push_back("transition=" + st->patch + "\ttarget=" + (st->target ? "patching" : "unpatching") +
                   "\tattempts=" + std::to_string(st->attempts) + "\telapsed_ms=" +
                   std::to_string(st->elapsed_ms) + "\tthreads=" + std::to_string(st->threads) +
                   "\tswitched=" + std::to_string(st->switched) + "\tforced=" + std::to_string(st->forced));
  for (const BlockingThread& b : st->blocking) {
    std::string stack;
    for (size_t i = 0; i < b.pcs.size(); ++i) stack += (i ? ";" : "") + symbolize(b.pcs[i], i == 0);
    r.data.push_back("blocking=" + std::to_string(b.tid) + "\tname=" + b.name + "\treason=" + b.reason +
                     "\tstack=" + stack);
  }
  return Status::ok();
}

Status dispatch(const Args& a, int fd, Reply& r) {
  const std::string& cmd = a[0];
  if (cmd == "load") return cmd_load(a, fd, r);
  if (cmd == "disable") return cmd_disable(a, r);
  if (cmd == "unload") return cmd_unload(a, r);
  if (cmd == "list") return cmd_list(r);
  if (cmd == "sys") return cmd_sys(a, r);
  if (cmd == "tree") { tree_lines(r); return Status::ok(); }
  if (cmd == "dmesg") return cmd_dmesg(r);
  if (cmd == "info") return cmd_info(r);
  if (cmd == "status") return cmd_status(r);
  return error(EINVAL, "unknown command '" + cmd + "'");
}

// Who is on the other end of a control connection (SO_PEERCRED: the pid
// as this process's PID namespace sees it, 0 if it cannot).
struct Peer {
  bool known = false;
  pid_t pid = 0;
  uid_t uid = 0;
};

Peer peer_of(int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return {};
  return {true, cred.pid, cred.uid};
}

bool peer_allowed(const Peer& p) { return p.known && (p.uid == 0 || p.uid == geteuid()); }

// "pid 123 (uklp), uid 0", for the audit lines.
std::string describe(const Peer& p) {
  if (!p.known) return "an unknown peer";
  std::string comm = "?";
  char path[64], buf[64];
  snprintf(path, sizeof path, "/proc/%d/comm", int(p.pid));
  if (int fd = p.pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1; fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == 0)) --n;
    if (n > 0) comm.assign(buf, size_t(n));
  }
  return "pid " + std::to_string(p.pid) + " (" + comm + "), uid " + std::to_string(p.uid);
}

// The requests that change the process: load, disable, unload, and writes
// of an attribute. Their audit line names them, without parameters.
std::string changing_request(const Args& a) {
  if (a.empty()) return {};
  if ((a[0] == "load" && a.size() >= 3)) return "load " + a[1] + " from " + a[2];
  if ((a[0] == "disable" || a[0] == "unload") && a.size() >= 2) return a[0] + " " + a[1];
  if (a[0] == "sys" && a.size() >= 3) return "sys " + a[1] + " = " + a[2];
  return {};
}

// ---- connections ----
//
// Requests are read from up to kMaxPending connections at once, each given
// 5 s from its accept to send its whole line, and each is served as soon
// as its line is complete: a client that connects and sends nothing, or
// sends a byte now and then, delays no one. Connections beyond
// kMaxPending wait in the listen backlog.

constexpr size_t kMaxPending = 32;
constexpr auto kRequestTime = std::chrono::seconds(5);

struct Pending {
  int sock = -1;
  Peer peer;
  std::string buffer;  // what has come of the request line
  int fd = -1;         // the descriptor that came with it
  std::chrono::steady_clock::time_point deadline;
};

// The connections whose request line is not complete yet. Allocated at the
// first connection (an idle process allocates nothing here), changed only
// by the control thread, with the klp mutex held so that a fork() child
// sees a whole list (after_fork_child closes its copies).
std::vector<Pending>* g_pending = nullptr;

bool any_pending() { return g_pending && !g_pending->empty(); }

// Answers a request whose line has arrived, then closes the connection.
void answer(Pending& p, const std::string& line) {
  int sock = p.sock;
  Reply r{sock, {}};
  Args a = protocol::split_fields(line);
  // Every change is logged with who asked, before it is made (and not sent
  // back to the client, which knows).
  std::string audit = changing_request(a);
  if (!audit.empty()) log_line(Level::notice, "uklp: " + audit + ": requested by " + describe(p.peer));
  Status s;
  {
    std::lock_guard lock(klp_mutex());
    set_log_sink([&](const std::string& l) { r.send_line("log", l); });
    s = a.empty() || a[0].empty() ? error(EINVAL, "empty request") : dispatch(a, p.fd, r);
    set_log_sink(nullptr);
  }
  if (p.fd >= 0) close(p.fd);
  if (!audit.empty() && !s) log_line(Level::notice, "uklp: " + audit + ": refused: " + s.message());
  for (auto& d : r.data) r.send_line("data", d);
  if (s)
    r.send("ok\n");
  else
    r.send_error(s);
  close(sock);
}

// A request that cannot be read: its error, unless the client has gone.
void give_up(Pending& p, const Status& s) {
  if (p.fd >= 0) close(p.fd);
  if (s.code() != ENODATA) Reply{p.sock, {}}.send_error(s);
  close(p.sock);
}

// noinline: the request path stays out of control_main, whose loop is the
// only code of this file an idle process runs (runtime/resident.ld).
[[gnu::noinline]] void admit(int sock) {
  // The answer is written blocking; a client that does not read it is
  // given up after SO_SNDTIMEO (Reply::send).
  timeval tv{5, 0};
  setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  Peer peer = peer_of(sock);
  if (!peer_allowed(peer)) {
    log_line(Level::warning, "uklp: refused a control connection from " + describe(peer) +
                                 ": only root and uid " + std::to_string(geteuid()) + " may control this process");
    Reply{sock, {}}.send_error(error(EACCES, "only root or the process's own user may control it"));
    close(sock);
    return;
  }
  fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);  // read as data comes
  std::lock_guard lock(klp_mutex());
  if (!g_pending) g_pending = new std::vector<Pending>();
  g_pending->push_back({sock, peer, {}, -1, std::chrono::steady_clock::now() + kRequestTime});
}

// The pending connections' pollfds after out[0], and the wait shortened to
// the earliest deadline: how many.
[[gnu::noinline]] size_t pending_pollfds(pollfd* out, long* wait_ms) {
  auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < g_pending->size(); ++i) {
    const Pending& p = (*g_pending)[i];
    out[i] = {p.sock, POLLIN, 0};
    long left = long(std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now).count()) + 1;
    if (*wait_ms < 0 || left < *wait_ms) *wait_ms = left < 0 ? 0 : left;
  }
  return g_pending->size();
}

// Reads what has come on the pending connections (out[i] is polled for
// (*g_pending)[i]) and serves each request whose line is complete, in the
// order of their connections; a connection past its deadline gets
// ETIMEDOUT.
[[gnu::noinline]] void serve_pending(const pollfd* polled) {
  std::vector<std::pair<Pending, std::string>> ready;  // line complete
  std::vector<std::pair<Pending, Status>> failed;
  {
    std::lock_guard lock(klp_mutex());
    auto now = std::chrono::steady_clock::now();
    std::vector<Pending> still;
    for (size_t i = 0; i < g_pending->size(); ++i) {
      Pending& p = (*g_pending)[i];
      std::string line;
      Status s = polled[i].revents ? protocol::read_line(p.sock, p.buffer, line, &p.fd)
                                   : error(EAGAIN, "nothing new");
      if (s) {
        ready.emplace_back(std::move(p), std::move(line));
      } else if (s.code() != EAGAIN && s.code() != EWOULDBLOCK) {
        failed.emplace_back(std::move(p), s);
      } else if (now >= p.deadline) {
        failed.emplace_back(std::move(p), error(ETIMEDOUT, "no complete request on the control socket in time"));
      } else {
        still.push_back(std::move(p));
      }
    }
    *g_pending = std::move(still);
  }
  for (auto& [p, s] : failed) give_up(p, s);
  for (auto& [p, line] : ready) {
    fcntl(p.sock, F_SETFL, fcntl(p.sock, F_GETFL) & ~O_NONBLOCK);  // the answer is written blocking
    answer(p, line);
  }
}

// Binds the listening socket to @uklp/<pid> and listens: 0, or an errno.
// Inlined: control_start's copy runs at start-up (runtime/resident.ld).
[[gnu::always_inline]] inline int bind_and_listen(int s) {
  socklen_t len;
  sockaddr_un addr = protocol::address(getpid(), &len);
  if (bind(s, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(s, 16) != 0) return errno;
  return 0;
}

// The name was taken when the runtime started. It can be held for a moment
// by the process this one was before exec(): a tracer process of a
// transition that was in progress there shares the descriptor table the
// exec left behind, with the old listening socket in it, until it has
// exited (it is killed with its parent thread). So the control thread
// tries again for 2 s before it gives up; the program never waits.
[[gnu::noinline, gnu::cold]] bool bind_when_free(int s) {
  int e = EADDRINUSE;
  for (int i = 0; i < 200 && e == EADDRINUSE; ++i) {
    usleep(10 * 1000);
    e = bind_and_listen(s);
  }
  if (e == 0) return true;
  std::string why = "cannot bind the control socket @uklp/" + std::to_string(getpid()) + " (" + strerror(e) + ")";
  log_line(Level::warning, "uklp: runtime not started: " + why);
  fprintf(stderr, "uklp: warning: runtime not started: %s\n", why.c_str());
  return false;
}

void* control_main(void* bind_pending) {
  // Named from inside: naming another thread opens its /proc task entry,
  // which on this kernel delays the process's exit by milliseconds.
  pthread_setname_np(pthread_self(), "uklp-control");
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  if (bind_pending && !bind_when_free(g_listen_fd)) {
    std::lock_guard lock(klp_mutex());  // as fork() reads it (after_fork_child)
    close(g_listen_fd);
    g_listen_fd = -1;
    return nullptr;
  }
  pollfd fds[1 + kMaxPending];
  while (true) {
    long wait_ms;
    {
      // A transition's scheduled attempts run here, between requests.
      std::lock_guard lock(klp_mutex());
      klp_transition_work();
      wait_ms = klp_transition_next_attempt_ms();
    }
    size_t n = any_pending() ? pending_pollfds(fds + 1, &wait_ms) : 0;
    // A full list leaves new connections in the listen backlog.
    fds[0] = {n < kMaxPending ? g_listen_fd : -1, POLLIN, 0};
    int ready = poll(fds, nfds_t(1 + n), int(wait_ms));
    if (ready < 0 && errno == EINTR) continue;
    if (n) serve_pending(fds + 1);
    if (ready <= 0 || !(fds[0].revents & POLLIN)) continue;
    int c = accept4(g_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EBADF || errno == EINVAL) return nullptr;
      continue;
    }
    admit(c);
  }
}

// fork(): the klp mutex and the log's lock are held around it, so the
// child (whose only thread is the forking one) never inherits them held by
// a thread it does not have. The child gets its own socket and control
// thread, and goes on with a transition in progress by itself.
void before_fork() {
  klp_mutex().lock();
  log_atfork_prepare();
}

void after_fork_parent() {
  log_atfork_parent();
  klp_mutex().unlock();
}

void after_fork_child() {
  log_atfork_child();
  // A recursive mutex records its owner's thread id, which changed.
  new (&klp_mutex()) std::recursive_mutex();
  text_after_fork();
  klp_transition_after_fork();
  if (g_listen_fd >= 0) close(g_listen_fd);
  g_listen_fd = -1;
  // The parent's clients are the parent's: their connections must end
  // when it closes them.
  if (g_pending) {
    for (Pending& p : *g_pending) {
      close(p.sock);
      if (p.fd >= 0) close(p.fd);
    }
    g_pending->clear();
  }
  (void)control_start();
}

}  // namespace

Status control_start() {
  // Allocated here, by the thread that starts the runtime: the control
  // thread then allocates nothing until its first request, so glibc gives
  // an idle process no malloc arena for it (a 64 MiB reservation of which
  // 4-8 KiB are touched).
  (void)klp_mutex();
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return error(errno, "cannot create the control socket");
  int e = bind_and_listen(s);
  if (e != 0 && e != EADDRINUSE) {
    close(s);
    return error(e, "cannot bind the control socket @uklp/" + std::to_string(getpid()));
  }
  g_listen_fd = s;
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // EADDRINUSE: the control thread binds when the name is free (bind_when_free).
  int rc = pthread_create(&t, &attr, control_main, e == EADDRINUSE ? &g_listen_fd : nullptr);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    close(s);
    g_listen_fd = -1;
    return error(rc, "cannot start the control thread");
  }
  static bool atfork_done = false;
  if (!atfork_done) {
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    atfork_done = true;
  }
  return Status::ok();
}

}  // namespace uklp::rt
