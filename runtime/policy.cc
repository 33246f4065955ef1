// policy.cc: see policy.h.
#include "policy.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "log.h"
#include "signature.h"

namespace uklp::rt {
namespace {

constexpr size_t kMaxFileBytes = 1 << 20;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Result<bool> parse_switch(std::string_view v, std::string_view on, std::string_view off) {
  if (v == on) return true;
  if (v == off) return false;
  return error(EINVAL, "'" + std::string(v) + "' is neither '" + std::string(on) + "' nor '" + std::string(off) + "'");
}

bool program_matches(std::string_view pattern, std::string_view exe) {
  if (pattern.find('/') != std::string_view::npos) return pattern == exe;
  size_t slash = exe.rfind('/');
  return exe.substr(slash == std::string_view::npos ? 0 : slash + 1) == pattern;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  std::string exe(buf, size_t(n));
  constexpr std::string_view kDeleted = " (deleted)";
  if (exe.size() > kDeleted.size() && exe.ends_with(kDeleted)) exe.resize(exe.size() - kDeleted.size());
  return exe;
}

// The whole of a small file that passed check_owner.
Result<std::string> read_checked(const std::string& path, const char* what, bool allow_self) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return error(errno, std::string("cannot open the ") + what + " '" + path + "'");
  Status s = check_owner(fd, path, what, allow_self);
  std::string text;
  if (s) {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 && text.size() <= kMaxFileBytes) text.append(buf, size_t(n));
    if (n < 0) s = error(errno, std::string("cannot read the ") + what + " '" + path + "'");
    else if (text.size() > kMaxFileBytes) s = error(EFBIG, std::string("the ") + what + " '" + path + "' is too large");
  }
  close(fd);
  if (!s) return s;
  return text;
}

// The keys the policy trusts, read now.
Result<std::vector<sig::PublicKey>> trusted_keys(const Policy& pol) {
  std::vector<sig::PublicKey> keys;
  for (const std::string& path : pol.trusted_keys) {
    UKLP_ASSIGN_OR_RETURN(std::string text, read_checked(path, "key file", pol.owned_by_self_ok));
    auto key = sig::parse_public_key(text);
    if (!key) return error(key.status().code(), "the key file '" + path + "' is " + key.status().message());
    keys.push_back(*key);
  }
  return keys;
}

Status unusable(const Status& s) {
  return error(EACCES, "the patch policy cannot be used, so no module is accepted: " + s.message());
}

}  // namespace

Status check_owner(int fd, const std::string& path, const char* what, bool allow_self) {
  struct stat st {};
  std::string name = std::string("the ") + what + " '" + path + "'";
  if (fstat(fd, &st) != 0) return error(errno, "cannot check " + name);
  if (!S_ISREG(st.st_mode)) return error(EACCES, name + " is not a regular file");
  uid_t self = geteuid();
  if (st.st_uid != 0 && !(allow_self && st.st_uid == self))
    return error(EACCES, name + " is owned by uid " + std::to_string(st.st_uid) +
                             (allow_self ? ", neither root nor the process's user (uid " + std::to_string(self) + ")"
                                         : ", not by root"));
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return error(EACCES, name + " is writable by " + (st.st_mode & S_IWOTH ? "others" : "its group") + " (mode " +
                             mode + ")");
  }
  return Status::ok();
}

Result<Policy> parse_policy(std::string_view text, const std::string& file, std::string_view exe) {
  Policy pol;
  pol.file = file;
  bool applies = true;  // the current section names this program
  unsigned lineno = 0;
  while (!text.empty()) {
    ++lineno;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    auto bad = [&](const std::string& why) {
      return error(EINVAL, file + ":" + std::to_string(lineno) + ": " + why);
    };
    if (line.front() == '[') {
      if (line.back() != ']') return bad("a section header must end with ']'");
      std::string_view inner = trim(line.substr(1, line.size() - 2));
      constexpr std::string_view kProgram = "program";
      if (!inner.starts_with(kProgram) || inner.size() == kProgram.size() ||
          (inner[kProgram.size()] != ' ' && inner[kProgram.size()] != '\t'))
        return bad("unknown section '" + std::string(inner) + "' (expected '[program PATH-OR-NAME]')");
      std::string_view pattern = trim(inner.substr(kProgram.size()));
      applies = program_matches(pattern, exe);
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return bad("expected 'key = value'");
    std::string_view key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (value.empty()) return bad("'" + std::string(key) + "' has no value");
    Result<bool> on = true;
    if (key == "control") {
      on = parse_switch(value, "on", "off");
      if (on && applies) pol.control = *on;
    } else if (key == "require-signature") {
      on = parse_switch(value, "yes", "no");
      if (on && applies) pol.require_signature = *on;
    } else if (key == "trusted-key") {
      if (value.front() != '/') return bad("trusted-key must be an absolute path");
      if (applies) pol.trusted_keys.emplace_back(value);
    } else {
      return bad("unknown setting '" + std::string(key) + "' (control, require-signature, trusted-key)");
    }
    if (!on) return bad(std::string(key) + ": " + on.status().message());
  }
  return pol;
}

const char* policy_path(bool* explicit_path) {
  // A set-id program's environment belongs to whoever started it.
  const char* env = getauxval(AT_SECURE) ? nullptr : getenv("UKLP_POLICY");
  *explicit_path = env && *env;
  return *explicit_path ? env : kDefaultPolicyFile;
}

Result<Policy> read_policy() {
  bool explicit_path;
  std::string path = policy_path(&explicit_path);
  if (!explicit_path && access(path.c_str(), F_OK) != 0 && errno == ENOENT) return Policy{};
  UKLP_ASSIGN_OR_RETURN(std::string text, read_checked(path, "policy file", explicit_path));
  UKLP_ASSIGN_OR_RETURN(Policy pol, parse_policy(text, path, self_exe()));
  pol.owned_by_self_ok = explicit_path;
  return pol;
}

Status check_module_signature(int fd, const std::string& path, const std::string& name) {
  auto pol = read_policy();
  if (!pol) return unusable(pol.status());
  UKLP_ASSIGN_OR_RETURN(std::optional<sig::Block> block, sig::read_block(fd, path));
  std::string where = pol->file.empty() ? std::string("no policy file") : "policy " + pol->file;
  if (!block) {
    if (pol->require_signature)
      return error(EKEYREJECTED, "the patch file '" + path + "' is not signed, and the " + where +
                                     " requires signatures (sign it with `uklp sign`)");
    return Status::ok();
  }
  UKLP_TRY(sig::verify_file(fd, path, *block));
  auto keys = trusted_keys(*pol);
  if (!keys) return unusable(keys.status());
  bool trusted = std::find(keys->begin(), keys->end(), block->key) != keys->end();
  std::string id = sig::key_id(block->key);
  if (pol->require_signature && !trusted)
    return error(ENOKEY, "the patch file '" + path + "' is signed by key " + id + ", which the " + where +
                             " does not trust");
  log_line(Level::notice, "uklp: module " + name + ": signature verified, key " + id +
                              (trusted ? " (trusted)" : " (not among the policy's trusted keys)"));
  return Status::ok();
}

}  // namespace uklp::rt
