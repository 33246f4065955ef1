// cmd_sign.cc: `uklp keygen NAME` makes an Ed25519 key pair (NAME.key,
// NAME.pub); `uklp sign --key NAME.key PATCH.so` appends a signature block
// to a patch module (lib/signature.h; docs/security.md, "Signed patches").
// Runtimes check a signed module's signature before they load it, and a
// policy can make them accept only modules signed by keys it trusts.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include <fmt/format.h>

#include "cli.h"
#include "elf_file.h"
#include "file_io.h"
#include "output.h"
#include "patch_module.h"
#include "signature.h"
#include "unique_fd.h"

namespace uklp::cli {
namespace {

struct KeygenOptions {
  std::string base;
  std::string comment;
};

struct SignOptions {
  std::string key;
  std::string file;
  std::string output;
};

Result<std::string> read_all(int fd, const std::string& path) {
  std::string data;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return error(errno, "cannot read '" + path + "'");
    data.append(buf, size_t(n));
  }
  return data;
}

std::span<const uint8_t> as_bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// A new file with `mode`, never over an existing one.
Status create_file(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return error(errno, "cannot create '" + path + "'");
  if (Status s = write_all(fd.get(), as_bytes(data)); !s) return error(s.code(), "cannot write '" + path + "'");
  if (fsync(fd.get()) != 0) return error(errno, "cannot write '" + path + "'");
  return Status::ok();
}

Result<sig::SecretKey> read_secret_key(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return error(errno, "cannot open the key '" + path + "'");
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return error(errno, "cannot read the key '" + path + "'");
  // As ssh does: a secret key others can read is no longer secret.
  if (st.st_mode & 077)
    return error(EACCES, fmt::format("the secret key '{}' is accessible by others (mode {:04o}); "
                                     "chmod 600 it, or make a new key if others may have read it",
                                     path, unsigned(st.st_mode & 07777)));
  UKLP_ASSIGN_OR_RETURN(std::string text, read_all(fd.get(), path));
  auto key = sig::parse_secret_key(text);
  if (!key) return error(key.status().code(), "'" + path + "' is " + key.status().message());
  return key;
}

int run_keygen(const Context& ctx, const KeygenOptions& o) {
  if (o.comment.find('\n') != std::string::npos)
    return report_error(ctx, error(EINVAL, "the comment must be one line"), kExitUsage);
  std::string secret_path = o.base + ".key", public_path = o.base + ".pub";
  sig::SecretKey secret = sig::generate_key();
  sig::PublicKey pub = sig::public_of(secret);
  if (Status s = create_file(secret_path, sig::format_secret_key(secret), 0600); !s) return report_error(ctx, s);
  if (Status s = create_file(public_path, sig::format_public_key(pub, o.comment), 0644); !s) {
    unlink(secret_path.c_str());
    return report_error(ctx, s);
  }
  std::string id = sig::key_id(pub);
  if (ctx.json)
    print_json({{"key_id", id}, {"secret_key", secret_path}, {"public_key", public_path}});
  else
    fmt::print("key {}: secret key {} (keep it private), public key {} (name it in a policy's trusted-key)\n", id,
               secret_path, public_path);
  return kExitOk;
}

int run_sign(const Context& ctx, const SignOptions& o) {
  auto secret = read_secret_key(o.key);
  if (!secret) return report_error(ctx, secret.status());
  UniqueFd fd(open(o.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return report_error(ctx, error(errno, "cannot open '" + o.file + "'"));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return report_error(ctx, error(EINVAL, "'" + o.file + "' is not a regular file"));
  auto data = read_all(fd.get(), o.file);
  if (!data) return report_error(ctx, data.status());
  auto old = sig::read_block(fd.get(), o.file);
  if (!old) return report_error(ctx, old.status());
  std::string replaced;
  if (*old) {
    data->resize((*old)->signed_len);
    replaced = sig::key_id((*old)->key);
  }
  std::span<const uint8_t> module = as_bytes(*data);
  // Only what the runtime would load: a livepatch ELF shared object.
  auto elf = elf::ElfFile::from_bytes(module, o.file);
  if (!elf) return report_error(ctx, elf.status());
  if (Status s = check_shared_object(**elf); !s) return report_error(ctx, s);
  auto info = read_patch_module(**elf);
  if (!info) return report_error(ctx, info.status());
  if (!info->livepatch)
    return report_error(ctx, error(EINVAL, "'" + o.file + "' is not a livepatch module (no livepatch=Y in .modinfo)"));
  sig::Block block = sig::sign_bytes(module, *secret);
  std::string out = o.output.empty() ? o.file : o.output;
  // The signed file keeps the module's mode, minus write access for others.
  mode_t mode = st.st_mode & 0755;
  std::string signed_file = *data + sig::encode_block(block);
  Status s = o.output.empty() ? write_file_atomically(out, as_bytes(signed_file), mode)
                              : create_file(out, signed_file, mode);
  if (!s) return report_error(ctx, s);
  std::string id = sig::key_id(block.key);
  if (ctx.json)
    print_json({{"file", out}, {"key_id", id}, {"signed_bytes", block.signed_len}, {"replaced_key_id", replaced}});
  else
    fmt::print("signed {} with key {} ({} bytes{})\n", out, id, block.signed_len,
               replaced.empty() ? "" : ", replacing a signature by key " + replaced);
  return kExitOk;
}

}  // namespace

Subcommand add_keygen_command(CLI::App& app) {
  auto o = std::make_shared<KeygenOptions>();
  CLI::App* cmd = app.add_subcommand("keygen", "Make an Ed25519 key pair for signing patch modules");
  cmd->add_option("NAME", o->base, "Writes NAME.key (secret, mode 0600) and NAME.pub; neither may exist")->required();
  cmd->add_option("--comment", o->comment, "Text kept in the public key's line (e.g. who owns it)");
  return {cmd, [o](const Context& ctx) { return run_keygen(ctx, *o); }};
}

Subcommand add_sign_command(CLI::App& app) {
  auto o = std::make_shared<SignOptions>();
  CLI::App* cmd = app.add_subcommand("sign", "Sign a patch module (appends an Ed25519 signature block)");
  cmd->add_option("--key", o->key, "The secret key (NAME.key from `uklp keygen`)")->required();
  cmd->add_option("PATCH", o->file, "The patch module (PATCH.so); signed in place unless --output")->required();
  cmd->add_option("-o,--output", o->output, "Write the signed module here instead (a new file)");
  return {cmd, [o](const Context& ctx) { return run_sign(ctx, *o); }};
}

}  // namespace uklp::cli
