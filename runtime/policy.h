// policy.h: the patch policy, a configuration file that says, per program,
// whether a process may be controlled at all and which patch modules it
// accepts (docs/security.md, "Policy"):
//
//   # /etc/uklp/policy.conf
//   require-signature = yes
//   trusted-key = /etc/uklp/keys/ops.pub
//
//   [program /usr/sbin/legacyd]
//   control = off
//
// Settings before the first section apply to every program; a section
// `[program PATTERN]` applies to the programs it names (PATTERN with a '/':
// the executable's full path; without: its file name) and overrides the
// settings above it. trusted-key adds a key; the others take the last value
// that applies. The file, and every key file it names, must be a regular
// file owned by root (or, for a file named by UKLP_POLICY, by the process's
// user) and writable by nobody else; a policy that cannot be read or parsed
// refuses every patch module, naming the reason.
//
// The policy is read at start-up (control) and again at each load, so new
// keys and requirements apply without a restart.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace uklp::rt {

inline constexpr const char* kDefaultPolicyFile = "/etc/uklp/policy.conf";

struct Policy {
  std::string file;  // empty: no policy file, the defaults
  bool control = true;
  bool require_signature = false;
  std::vector<std::string> trusted_keys;  // paths of public key files
  // Read from UKLP_POLICY: it and its key files may be the process user's
  // (read_policy sets it; the default file and its keys must be root's).
  bool owned_by_self_ok = false;
};

// Files whose contents decide what the process runs (patch modules, the
// policy, its keys): `fd` must be a regular file owned by root (or, with
// allow_self, by the process's effective user) and not writable by its
// group or others. EACCES names `what` ("patch file") and the reason.
Status check_owner(int fd, const std::string& path, const char* what, bool allow_self);

// Pure: the policy `text` (read from `file`) gives the program whose
// executable is `exe`; errors name file:line.
Result<Policy> parse_policy(std::string_view text, const std::string& file, std::string_view exe);

// The policy file's path: UKLP_POLICY unless the process is set-id, else
// kDefaultPolicyFile. `explicit_path` tells which.
const char* policy_path(bool* explicit_path);

// Reads and parses the process's policy now. No file (at the default path)
// gives the defaults; every other failure is an error.
Result<Policy> read_policy();

// Whether a signed or unsigned module on `fd` may be loaded under the
// current policy: checks its signature block (a signed module's signature
// is always checked, whichever policy) and the policy's requirements.
// Logs a verified signature; a refusal is the caller's to log.
Status check_module_signature(int fd, const std::string& path, const std::string& name);

}  // namespace uklp::rt
