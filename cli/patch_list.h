// patch_list.h: the answer of the runtime's `list` request as a tree of
// patches > objects > funcs, the kernel's nouns (lib/protocol.h gives the
// line formats).
//
// Every data line is TAB-separated key=value fields; its first key says
// what it describes (patch=, object=, func=, module=: a loaded patch module,
// whose patch may be gone after a disable). Objects and funcs name their
// patch (and object) with patch= / object= fields, so lines may come in
// any order. Unknown keys are kept and shown; lines with another first key
// are kept in `other`, so newer runtimes can add information.
#pragma once

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "result.h"

namespace uklp::cli {

// The fields of one data line, in order.
using Fields = std::vector<std::pair<std::string, std::string>>;

// Splits "k1=v1\tk2=v2". A field without '=' or with an empty key is EPROTO.
Result<Fields> parse_fields(std::string_view line);
// The value of `key`, or nullptr.
const std::string* find_field(const Fields& fields, std::string_view key);

struct ObjectEntry {
  Fields fields;               // object=..., patch=..., patched=...
  std::vector<Fields> funcs;   // func=..., object=..., patch=..., old=..., new=...
};
struct PatchEntry {
  Fields fields;               // patch=..., enabled=..., ...
  std::vector<ObjectEntry> objects;
};
struct PatchList {
  std::vector<PatchEntry> patches;  // in the runtime's order (stack order)
  std::vector<Fields> modules;      // module=NAME file=... patch=active|none forced=0|1
  std::vector<Fields> other;        // lines of unknown kinds
};

// Groups the data lines of a `list` answer.
Result<PatchList> build_patch_list(const std::vector<std::string>& data_lines);

// A JSON value for a field: true/false for the 0/1 flags (enabled,
// transition, replace, forced, patched, loaded, nop), a number for decimal integers,
// else the string.
nlohmann::json field_json(std::string_view key, std::string_view value);
// The fields as one JSON object, without the `skip` keys.
nlohmann::json fields_json(const Fields& fields, std::initializer_list<std::string_view> skip = {});
// {"patches": [{"patch": ..., ..., "objects": [{"object": ..., "funcs": [...]}]}],
//  "modules": [...], "other": [...]}
nlohmann::json patch_list_json(const PatchList& list);

// "enabled", "enabling (in transition)", "disabling (in transition)" or
// "disabled", plus ", replace" / ", forced".
std::string patch_state_text(const Fields& patch);
// The readable tree, one line per patch, object and func, then the
// modules whose patch is gone (disabled, still loaded).
std::string render_patch_list(const PatchList& list);

}  // namespace uklp::cli
