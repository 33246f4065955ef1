// module_info.cc: see module_info.h.
#include "module_info.h"

namespace uklp::klp {

std::vector<std::pair<std::string, std::string>> parse_modinfo(std::string_view section) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos < section.size()) {
    size_t end = section.find('\0', pos);
    if (end == std::string_view::npos) end = section.size();
    std::string_view entry = section.substr(pos, end - pos);
    size_t eq = entry.find('=');
    if (eq != std::string_view::npos) out.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
    pos = end + 1;
  }
  return out;
}

std::optional<TargetLine> parse_target_line(std::string_view line) {
  size_t tab = line.find('\t');
  if (tab == std::string_view::npos) return std::nullopt;
  return TargetLine{std::string(line.substr(0, tab)), std::string(line.substr(tab + 1))};
}

std::vector<std::string_view> target_lines(std::string_view section) {
  std::vector<std::string_view> out;
  while (!section.empty()) {
    size_t nl = section.find('\n');
    out.push_back(section.substr(0, nl));
    section = nl == std::string_view::npos ? std::string_view() : section.substr(nl + 1);
  }
  return out;
}

bool in_load_segment(std::span<const Elf64_Phdr> phdrs, uint64_t addr, uint64_t size) {
  for (const Elf64_Phdr& ph : phdrs) {
    if (ph.p_type != PT_LOAD || addr < ph.p_vaddr || size > ph.p_memsz) continue;
    if (addr - ph.p_vaddr <= ph.p_memsz - size) return true;
  }
  return false;
}

}  // namespace uklp::klp
