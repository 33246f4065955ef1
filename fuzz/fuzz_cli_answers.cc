// fuzz_cli_answers.cc: the CLI's reading of what a target process sends
// back, on arbitrary bytes: answer lines (cli/client.h: split_answer,
// printable, parse_error_payload), the data lines of `list`
// (cli/patch_list.h) and `status` (cli/transition_status.h) with their
// text and JSON renderings, and the /proc texts the CLI reads about a
// process (cli/proc.h: /proc/net/unix, status, maps).
//
// The lines go through the same steps as in read_answer(): printable()
// first, so its promise is checked (no control character but TAB), and
// the JSON renderings must serialize (nlohmann::json throws on invalid
// UTF-8, which would abort the fuzzer).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "client.h"
#include "patch_list.h"
#include "proc.h"
#include "transition_status.h"
#include "fuzz_check.h"

namespace {

namespace cli = uklp::cli;

bool is_printable(std::string_view text) {
  for (unsigned char c : text)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

// client.cc, read_answer: the data lines of the answer up to its final line.
std::vector<std::string> read_answer(std::string_view text) {
  std::vector<std::string> data;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) break;  // read_line: a truncated answer
    auto [kind, raw] = cli::split_answer(text.substr(start, nl - start));
    start = nl + 1;
    std::string payload = cli::printable(raw);
    FUZZ_CHECK(is_printable(payload));
    if (kind == "ok") break;
    if (kind == "error") {
      uklp::Status s = cli::parse_error_payload(payload);
      FUZZ_CHECK(s.code() > 0);
      break;
    }
    if (kind == "data") data.push_back(std::move(payload));
  }
  return data;
}

void list_answer(const std::vector<std::string>& data) {
  auto list = cli::build_patch_list(data);
  if (!list) return;
  (void)cli::render_patch_list(*list);
  (void)cli::patch_list_json(*list).dump();
}

void status_answer(const std::vector<std::string>& data) {
  auto st = cli::parse_transition_status(data);
  if (!st || !*st) return;
  (void)cli::render_transition_status(**st);
  (void)cli::progress_text(**st);
  (void)cli::blocking_tids((*st)->blocking);
  (void)cli::transition_status_json(**st).dump();
}

void proc_texts(std::string_view text) {
  (void)cli::parse_control_sockets(text);
  (void)cli::parse_nspid(text, 1);
  (void)cli::status_field(text, "State");
  (void)cli::parse_mapped_files(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines = read_answer(text);
  list_answer(lines);
  status_answer(lines);
  proc_texts(text);
  return 0;
}
