// livepatch-exceptions.cc: C++ replacements that throw and that let
// exceptions through (targets/exceptions.cc):
//   may_throw      throws std::range_error("new x") where the old threw;
//   pass_through   calls the target's thrower() (a klp relocation) and
//                  returns one more: x + 2001;
//   with_callback  calls the target's callback under its own guard (whose
//                  destructor calls the target's note_cleanup()) and
//                  returns cb(x) + 2.
#include <stdexcept>
#include <string>

#include <uklp/livepatch.h>

extern "C" int thrower(int x);
extern "C" void note_cleanup(void);

namespace {

struct PatchGuard {
  ~PatchGuard() { note_cleanup(); }
};

int livepatch_may_throw(int x) {
  if (x % 3 == 0) throw std::range_error("new " + std::to_string(x));
  return x * 2;
}

int livepatch_pass_through(int x) {
  int r = thrower(x);
  return r + 2000;
}

int livepatch_with_callback(int (*cb)(int), int x) {
  PatchGuard guard;
  return cb(x) + 2;
}

klp_func funcs[] = {
    {.old_name = "may_throw", .new_func = (void*)livepatch_may_throw},
    {.old_name = "pass_through", .new_func = (void*)livepatch_pass_through},
    {.old_name = "with_callback", .new_func = (void*)livepatch_with_callback},
    {},
};
klp_object objs[] = {{.name = nullptr, .funcs = funcs}, {}};
klp_patch patch = {.mod = THIS_MODULE, .objs = objs};

int livepatch_init(void) { return klp_enable_patch(&patch); }
void livepatch_exit(void) {}

}  // namespace

module_init(livepatch_init);
module_exit(livepatch_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
