// klp_names.cc: see klp_names.h. Writers and parsers of the .klp.* names,
// kept side by side so that each rule has its inverse next to it.
#include "klp_names.h"

#include <cerrno>
#include <limits>

namespace uklp::klp {
namespace {

bool needs_escape(unsigned char c) { return c == '%' || c == '.' || c == ',' || c < 0x21 || c > 0x7e; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Status bad_name(std::string_view what, std::string_view name, std::string_view why) {
  return error(EINVAL, "incorrectly formatted " + std::string(what) + " name '" + std::string(name) +
                           "': " + std::string(why));
}

// Splits "<escaped object>.<rest>" (the text after a prefix) at the first '.'.
Result<std::pair<std::string, std::string_view>> split_object(std::string_view what,
                                                              std::string_view full,
                                                              std::string_view body) {
  size_t dot = body.find('.');
  if (dot == std::string_view::npos || dot == 0) return bad_name(what, full, "no object name");
  auto object = unescape_object(body.substr(0, dot));
  if (!object) return bad_name(what, full, object.status().message());
  return std::make_pair(std::move(*object), body.substr(dot + 1));
}

// A decimal unsigned long: digits only, no sign, no overflow.
Result<unsigned long> parse_sympos(std::string_view full, std::string_view digits) {
  if (digits.empty()) return bad_name("symbol", full, "no symbol position after ','");
  unsigned long value = 0;
  constexpr unsigned long kMax = std::numeric_limits<unsigned long>::max();
  for (char c : digits) {
    if (c < '0' || c > '9') return bad_name("symbol", full, "symbol position is not a decimal number");
    unsigned long d = static_cast<unsigned long>(c - '0');
    if (value > (kMax - d) / 10) return bad_name("symbol", full, "symbol position out of range");
    value = value * 10 + d;
  }
  return value;
}

}  // namespace

std::string escape_object(std::string_view object) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(object.size());
  for (char ch : object) {
    auto c = static_cast<unsigned char>(ch);
    if (!needs_escape(c)) {
      out.push_back(ch);
      continue;
    }
    out.push_back('%');
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

Result<std::string> unescape_object(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    char c = escaped[i];
    if (c == '.' || c == ',') return error(EINVAL, "unescaped '" + std::string(1, c) + "' in object name");
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    int hi = i + 2 < escaped.size() ? hex_value(escaped[i + 1]) : -1;
    int lo = hi >= 0 ? hex_value(escaped[i + 2]) : -1;
    if (lo < 0) return error(EINVAL, "bad '%' escape in object name");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (out.empty()) return error(EINVAL, "empty object name");
  return out;
}

std::string rela_section_name(std::string_view object, std::string_view section) {
  if (!section.empty() && section.front() == '.') section.remove_prefix(1);
  return std::string(kRelaSectionPrefix) + escape_object(object) + "." + std::string(section);
}

std::string sym_name(std::string_view object, std::string_view name, unsigned long sympos) {
  return std::string(kSymPrefix) + escape_object(object) + "." + std::string(name) + "," +
         std::to_string(sympos);
}

Result<RelaSectionName> parse_rela_section_name(std::string_view name) {
  if (!name.starts_with(kRelaSectionPrefix)) return bad_name("livepatch relocation section", name, "no .klp.rela. prefix");
  auto split = split_object("livepatch relocation section", name, name.substr(kRelaSectionPrefix.size()));
  if (!split) return split.status();
  if (split->second.empty()) return bad_name("livepatch relocation section", name, "no section name");
  return RelaSectionName{std::move(split->first), std::string(split->second)};
}

Result<KlpSymName> parse_sym_name(std::string_view name) {
  if (!name.starts_with(kSymPrefix)) return bad_name("symbol", name, "no .klp.sym. prefix");
  auto split = split_object("symbol", name, name.substr(kSymPrefix.size()));
  if (!split) return split.status();
  std::string_view rest = split->second;
  size_t comma = rest.rfind(',');
  if (comma == std::string_view::npos) return bad_name("symbol", name, "no ',<sympos>'");
  if (comma == 0) return bad_name("symbol", name, "empty symbol name");
  auto sympos = parse_sympos(name, rest.substr(comma + 1));
  if (!sympos) return sympos.status();
  return KlpSymName{std::move(split->first), std::string(rest.substr(0, comma)), *sympos};
}

}  // namespace uklp::klp
