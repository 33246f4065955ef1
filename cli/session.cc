// session.cc: see session.h.
#include "session.h"

#include <cstdio>

#include <fmt/core.h>

#include "output.h"

namespace uklp::cli {

Status exchange(const Context& ctx, int pid, const std::vector<std::string>& fields, Exchange& out,
                const RequestOptions& options) {
  UKLP_ASSIGN_OR_RETURN(Target target, find_target(pid));
  ProgressLine progress(ctx);
  AnswerHandlers handlers;
  handlers.log = [&](std::string_view line) {
    if (ctx.json) {
      out.log.emplace_back(line);
      return;
    }
    progress.clear();
    fmt::print("{}\n", line);
    std::fflush(stdout);
  };
  handlers.progress = [&](std::string_view text) { progress.show(text); };
  handlers.data = [&](std::string_view line) { out.data.emplace_back(line); };
  return request(target, fields, handlers, options);
}

nlohmann::json log_json(const Exchange& ex) {
  return {{"log", ex.log}};
}

}  // namespace uklp::cli
