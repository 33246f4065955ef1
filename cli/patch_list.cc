// patch_list.cc: see patch_list.h.
#include "patch_list.h"

#include <algorithm>
#include <charconv>

#include <fmt/core.h>

namespace uklp::cli {
namespace {

constexpr std::string_view kFlagKeys[] = {"enabled", "transition", "replace", "forced", "patched", "loaded", "nop"};

bool is_flag(const Fields& f, std::string_view key) {
  const std::string* v = find_field(f, key);
  return v && *v == "1";
}

PatchEntry& patch_named(PatchList& list, const std::string& name) {
  for (auto& p : list.patches)
    if (const std::string* n = find_field(p.fields, "patch"); n && *n == name) return p;
  list.patches.push_back({{{"patch", name}}, {}});
  return list.patches.back();
}

ObjectEntry& object_named(PatchEntry& patch, const std::string& name) {
  for (auto& o : patch.objects)
    if (const std::string* n = find_field(o.fields, "object"); n && *n == name) return o;
  patch.objects.push_back({{{"object", name}}, {}});
  return patch.objects.back();
}

// Merges a line's fields into an entry that may have been created as a
// placeholder by an earlier object or func line.
void merge(Fields& into, const Fields& from) {
  for (const auto& kv : from)
    if (!find_field(into, kv.first)) into.push_back(kv);
}

Status missing(std::string_view what, std::string_view key, const Fields& f) {
  return error(EPROTO, fmt::format("malformed {} line from the runtime (no {}=): first field {}={}",
                                   what, key, f.front().first, f.front().second));
}

Status add_line(PatchList& list, const Fields& f) {
  const std::string& kind = f.front().first;
  const std::string* patch = find_field(f, "patch");
  const std::string* object = find_field(f, "object");
  if (kind == "patch") {
    merge(patch_named(list, f.front().second).fields, f);
  } else if (kind == "object") {
    if (!patch) return missing("object", "patch", f);
    merge(object_named(patch_named(list, *patch), f.front().second).fields, f);
  } else if (kind == "func") {
    if (!patch || !object) return missing("func", patch ? "object" : "patch", f);
    object_named(patch_named(list, *patch), *object).funcs.push_back(f);
  } else if (kind == "module") {
    list.modules.push_back(f);
  } else {
    list.other.push_back(f);
  }
  return Status::ok();
}

std::string other_fields_text(const Fields& f, std::initializer_list<std::string_view> skip) {
  std::string out;
  for (const auto& [k, v] : f)
    if (std::find(skip.begin(), skip.end(), k) == skip.end()) out += fmt::format("  {}={}", k, v);
  return out;
}

std::string render_patch(const Fields& p) {
  return fmt::format("{}  {}{}\n", p.front().second, patch_state_text(p),
                     other_fields_text(p, {"patch", "enabled", "transition", "replace", "forced"}));
}

// "not loaded": a library the patch is for is not in the process (yet).
std::string render_object(const Fields& o) {
  const std::string* loaded = find_field(o, "loaded");
  std::string_view state = loaded && *loaded == "0" ? "not loaded" : is_flag(o, "patched") ? "patched" : "not patched";
  return fmt::format("  {}  {}{}\n", o.front().second, state, other_fields_text(o, {"object", "patch", "patched", "loaded"}));
}

std::string render_func(const Fields& f) {
  const std::string* old_addr = find_field(f, "old");
  const std::string* new_addr = find_field(f, "new");
  const std::string* patched = find_field(f, "patched");
  return fmt::format("    {}  {} -> {}{}{}{}\n", f.front().second, old_addr ? *old_addr : "?",
                     new_addr ? *new_addr : "?", is_flag(f, "nop") ? "  nop" : "",
                     patched && *patched == "0" ? "  not patched" : "",
                     other_fields_text(f, {"func", "object", "patch", "old", "new", "nop", "patched"}));
}

// A module whose patch is gone: disabled, waiting for `uklp unload`.
std::string render_module(const Fields& m) {
  return fmt::format("{}  disabled, module still loaded{}{}\n", m.front().second,
                     is_flag(m, "forced") ? ", forced" : "", other_fields_text(m, {"module", "patch", "forced"}));
}

}  // namespace

Result<Fields> parse_fields(std::string_view line) {
  Fields out;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    std::string_view field = line.substr(start, tab == std::string_view::npos ? tab : tab - start);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return error(EPROTO, "malformed data line from the runtime: '" + std::string(line) + "'");
    out.emplace_back(std::string(field.substr(0, eq)), std::string(field.substr(eq + 1)));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

const std::string* find_field(const Fields& fields, std::string_view key) {
  for (const auto& kv : fields)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

Result<PatchList> build_patch_list(const std::vector<std::string>& data_lines) {
  PatchList list;
  for (const auto& line : data_lines) {
    if (line.empty()) continue;
    UKLP_ASSIGN_OR_RETURN(Fields f, parse_fields(line));
    UKLP_TRY(add_line(list, f));
  }
  return list;
}

nlohmann::json field_json(std::string_view key, std::string_view value) {
  bool flag = std::find(std::begin(kFlagKeys), std::end(kFlagKeys), key) != std::end(kFlagKeys);
  if (flag && (value == "0" || value == "1")) return value == "1";
  long long n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  bool canonical = !value.empty() && (value == "0" || (value[0] != '0' && value.substr(0, 2) != "-0"));
  if (ec == std::errc() && end == value.data() + value.size() && canonical) return n;
  return std::string(value);
}

nlohmann::json fields_json(const Fields& fields, std::initializer_list<std::string_view> skip) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : fields)
    if (std::find(skip.begin(), skip.end(), k) == skip.end()) out[k] = field_json(k, v);
  return out;
}

nlohmann::json patch_list_json(const PatchList& list) {
  nlohmann::json patches = nlohmann::json::array();
  for (const auto& p : list.patches) {
    nlohmann::json pj = fields_json(p.fields);
    pj["objects"] = nlohmann::json::array();
    for (const auto& o : p.objects) {
      nlohmann::json oj = fields_json(o.fields, {"patch"});
      oj["funcs"] = nlohmann::json::array();
      for (const auto& f : o.funcs) oj["funcs"].push_back(fields_json(f, {"patch", "object"}));
      pj["objects"].push_back(std::move(oj));
    }
    patches.push_back(std::move(pj));
  }
  nlohmann::json modules = nlohmann::json::array();
  for (const auto& f : list.modules) modules.push_back(fields_json(f));
  nlohmann::json other = nlohmann::json::array();
  for (const auto& f : list.other) other.push_back(fields_json(f));
  return {{"patches", std::move(patches)}, {"modules", std::move(modules)}, {"other", std::move(other)}};
}

std::string patch_state_text(const Fields& patch) {
  bool enabled = is_flag(patch, "enabled"), transition = is_flag(patch, "transition");
  std::string s = transition ? (enabled ? "enabling (in transition)" : "disabling (in transition)")
                             : (enabled ? "enabled" : "disabled");
  if (is_flag(patch, "replace")) s += ", replace";
  if (is_flag(patch, "forced")) s += ", forced";
  return s;
}

std::string render_patch_list(const PatchList& list) {
  std::string out;
  for (const auto& p : list.patches) {
    out += render_patch(p.fields);
    for (const auto& o : p.objects) {
      out += render_object(o.fields);
      for (const auto& f : o.funcs) out += render_func(f);
    }
  }
  for (const auto& m : list.modules)
    if (const std::string* patch = find_field(m, "patch"); !patch || *patch != "active") out += render_module(m);
  for (const auto& f : list.other) out += other_fields_text(f, {}).substr(2) + "\n";
  return out;
}

}  // namespace uklp::cli
