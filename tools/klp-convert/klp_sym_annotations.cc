// klp_sym_annotations.cc: see klp_sym_annotations.h.
#include "klp_sym_annotations.h"

#include <cerrno>
#include <string_view>
#include <vector>

#include "klp_names.h"

namespace uklp::convert {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

Status bad_entry(std::string_view entry, const std::string& why) {
  std::string shown(entry);
  for (char& c : shown)
    if (c == '\t') c = ' ';
  return error(EINVAL, "bad KLP_SYMPOS entry '" + shown + "' in " + std::string(klp::kKlpSymsSection) +
                           ": " + why);
}

Result<unsigned long> parse_decimal(std::string_view entry, std::string_view digits) {
  if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return bad_entry(entry, "the symbol position must be a decimal number");
  unsigned long v = 0;
  for (char c : digits) v = v * 10 + static_cast<unsigned long>(c - '0');
  return v;
}

Status add_entry(std::string_view entry, Annotations& out) {
  auto f = split(entry, '\t');
  if (f.size() != 4) return bad_entry(entry, "expected alias, object, name and position");
  for (auto field : f)
    if (field.empty()) return bad_entry(entry, "empty field");
  UKLP_ASSIGN_OR_RETURN(unsigned long sympos, parse_decimal(entry, f[3]));
  Annotation a{std::string(f[1]), std::string(f[2]), sympos};
  auto [it, inserted] = out.emplace(std::string(f[0]), a);
  if (!inserted && !(it->second == a))
    return bad_entry(entry, "alias '" + it->first + "' is already bound to '" + it->second.name + "' in '" +
                                it->second.object + "'");
  return Status::ok();
}

}  // namespace

Result<Annotations> read_annotations(const elf::ElfFile& patch) {
  Annotations out;
  const elf::Section* sec = patch.section(klp::kKlpSymsSection);
  if (!sec) return out;
  UKLP_ASSIGN_OR_RETURN(auto data, patch.section_data(*sec));
  std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  for (auto entry : split(text, '\0'))
    if (!entry.empty()) UKLP_TRY(add_entry(entry, out));
  return out;
}

}  // namespace uklp::convert
