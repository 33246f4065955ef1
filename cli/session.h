// session.h: one request to a target process as the user sees it.
//
// Runtime log lines produced while serving the request are printed on
// stdout as they arrive (under --json they are collected, for the "log"
// array of the result); progress goes to the ProgressLine on stderr; data
// lines are collected for the command to render.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cli.h"
#include "client.h"
#include "result.h"

namespace uklp::cli {

struct Exchange {
  std::vector<std::string> log;   // under --json only
  std::vector<std::string> data;
};

// Finds process `pid` (proc.h) and runs `fields` as one request.
Status exchange(const Context& ctx, int pid, const std::vector<std::string>& fields, Exchange& out,
                const RequestOptions& options = {});

// {"log": [...]} under --json, for error and success documents.
nlohmann::json log_json(const Exchange& ex);

}  // namespace uklp::cli
