// cmd_info.cc: `uklp info PATCH.so`: what `modinfo` and `readelf` would say
// about a patch module, offline (patch_module.h reads it): its name, the
// .modinfo tags, its parameters, the builds it was made for, its KLP_SYMPOS
// aliases and its klp relocations and symbols.
//
// The objects and functions the patch changes, its callbacks and states are
// only known when its init function runs klp_enable_patch() in a target;
// the output says so and points to `uklp list PID`.
#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include <fmt/format.h>

#include "cli.h"
#include "elf_file.h"
#include "module_name.h"
#include "output.h"
#include "patch_module.h"
#include "runtime_path.h"
#include "signature.h"
#include "unique_fd.h"

namespace uklp::cli {
namespace {

constexpr std::string_view kRuntimeOnly =
    "objects, functions, callbacks and states are set up by the module's init function "
    "(klp_enable_patch); load it and see 'uklp list PID'";

struct InfoOptions {
  std::string file;
};

// The module's signature block, checked against its contents (the block
// names its key; whether a target trusts that key is its policy's call).
struct SignatureInfo {
  bool signed_ = false;
  std::string key_id;
  std::string problem;  // empty: the signature matches
};

SignatureInfo read_signature(const std::string& path) {
  SignatureInfo out;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return {true, "", "cannot open the file"};
  auto block = sig::read_block(fd.get(), path);
  if (!block) return {true, "", block.status().message()};
  if (!*block) return out;
  out.signed_ = true;
  out.key_id = sig::key_id((*block)->key);
  if (Status s = sig::verify_file(fd.get(), path, **block); !s) out.problem = s.message();
  return out;
}

std::string signature_text(const SignatureInfo& s) {
  if (!s.signed_) return "none (a policy with require-signature = yes refuses it; see `uklp sign`)";
  if (!s.problem.empty()) return "BAD: " + s.problem + "; every runtime refuses it";
  return "Ed25519, key " + s.key_id + ", matches the contents";
}

// ---- JSON ----

nlohmann::json params_json(const PatchModuleInfo& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : m.params)
    out.push_back({{"name", p.name}, {"type", p.type}, {"perm", fmt::format("{:04o}", p.perm)},
                   {"description", p.description}});
  return out;
}

nlohmann::json klp_relas_json(const PatchModuleInfo& m) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : m.klp_relas) {
    nlohmann::json relocs = nlohmann::json::array();
    for (const auto& r : s.relocations)
      relocs.push_back({{"offset", r.offset}, {"type", r.type}, {"symbol", r.symbol}, {"addend", r.addend}});
    out.push_back({{"name", s.name}, {"object", s.object}, {"section", s.section}, {"problem", s.problem},
                   {"relocations", relocs}});
  }
  return out;
}

nlohmann::json info_json(const PatchModuleInfo& m, const SignatureInfo& sig) {
  nlohmann::json doc = {{"file", m.file}, {"patch", m.patch_name}, {"livepatch", m.livepatch},
                        {"build_id", m.build_id}, {"runtime_only", kRuntimeOnly}};
  doc["signature"] = sig.signed_ ? nlohmann::json{{"key_id", sig.key_id}, {"valid", sig.problem.empty()},
                                                  {"problem", sig.problem}}
                                 : nlohmann::json(nullptr);
  doc["modinfo"] = nlohmann::json::array();
  for (const auto& e : m.modinfo) doc["modinfo"].push_back({{"tag", e.tag}, {"value", e.value}});
  doc["parameters"] = params_json(m);
  doc["targets"] = nlohmann::json::array();
  for (const auto& t : m.targets) doc["targets"].push_back({{"object", t.object}, {"build_id", t.build_id}});
  doc["sympos"] = nlohmann::json::array();
  for (const auto& s : m.sympos)
    doc["sympos"].push_back({{"alias", s.alias}, {"object", s.object}, {"symbol", s.symbol}, {"sympos", s.sympos}});
  doc["klp_relocation_sections"] = klp_relas_json(m);
  doc["klp_symbols"] = nlohmann::json::array();
  for (const auto& k : m.klp_syms)
    doc["klp_symbols"].push_back({{"name", k.name}, {"object", k.object}, {"symbol", k.symbol},
                                  {"sympos", k.sympos}, {"problem", k.problem}});
  return doc;
}

// ---- text ----

void print_params(const PatchModuleInfo& m) {
  if (m.params.empty()) return;
  fmt::print("parameters:\n  {:<20} {:<6} {:<5} {}\n", "NAME", "TYPE", "PERM", "DESCRIPTION");
  for (const auto& p : m.params) fmt::print("  {:<20} {:<6} {:04o}  {}\n", p.name, p.type, p.perm, p.description);
}

void print_klp_relas(const PatchModuleInfo& m) {
  if (m.klp_relas.empty()) return;
  fmt::print("klp relocation sections:\n");
  for (const auto& s : m.klp_relas) {
    if (s.problem.empty())
      fmt::print("  {}  (object {}, section {}): {} entries\n", s.name, s.object, s.section, s.relocations.size());
    else
      fmt::print("  {}  (malformed: {}): {} entries\n", s.name, s.problem, s.relocations.size());
    for (const auto& r : s.relocations)
      fmt::print("    {:#018x}  {:<22} {} {:+d}\n", r.offset, r.type, r.symbol, r.addend);
  }
}

void print_klp_syms(const PatchModuleInfo& m) {
  if (m.klp_syms.empty()) return;
  fmt::print("klp symbols (resolved in the target when the module is loaded):\n");
  for (const auto& k : m.klp_syms) {
    if (k.problem.empty()) fmt::print("  {}  (object {}, symbol {}, sympos {})\n", k.name, k.object, k.symbol, k.sympos);
    else fmt::print("  {}  (malformed: {})\n", k.name, k.problem);
  }
}

void print_info(const PatchModuleInfo& m, const SignatureInfo& sig) {
  fmt::print("file:       {}\npatch:      {}\nlivepatch:  {}\nbuild-id:   {}\nsignature:  {}\n", m.file,
             m.patch_name, m.livepatch ? "yes (livepatch=Y)" : "NO: no livepatch=Y in .modinfo; the runtime will refuse it",
             m.build_id.empty() ? "(none)" : m.build_id, signature_text(sig));
  fmt::print("modinfo:\n");
  for (const auto& e : m.modinfo) fmt::print("  {}={}\n", e.tag, e.value);
  print_params(m);
  if (!m.targets.empty()) fmt::print("targets (the builds it was made for):\n");
  for (const auto& t : m.targets) fmt::print("  {:<20} build-id {}\n", t.object, t.build_id);
  if (!m.sympos.empty()) fmt::print("symbol positions (KLP_SYMPOS):\n");
  for (const auto& s : m.sympos) fmt::print("  {} = {}:{},{}\n", s.alias, s.object, s.symbol, s.sympos);
  print_klp_relas(m);
  print_klp_syms(m);
  fmt::print("note: {}\n", kRuntimeOnly);
}

int run_info(const Context& ctx, const InfoOptions& o) {
  auto elf = elf::ElfFile::open_path(o.file);
  if (!elf) return report_error(ctx, elf.status());
  if (Status s = check_shared_object(**elf); !s) return report_error(ctx, s);
  auto info = read_patch_module(**elf);
  if (!info) return report_error(ctx, info.status());
  auto name = patch_name_from_path(o.file);
  if (!name) return report_error(ctx, name.status());
  info->patch_name = *name;
  info->file = absolute_path(o.file);
  SignatureInfo sig = read_signature(o.file);
  if (ctx.json) print_json(info_json(*info, sig));
  else print_info(*info, sig);
  return kExitOk;
}

}  // namespace

Subcommand add_info_command(CLI::App& app) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Show what is inside a patch module (offline, like modinfo/readelf)");
  cmd->add_option("PATCH", o->file, "The patch module (PATCH.so)")->required();
  return {cmd, [o](const Context& ctx) { return run_info(ctx, *o); }};
}

}  // namespace uklp::cli
