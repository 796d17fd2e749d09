// The three faces of the binary (serve, report, lambda) and its health probe: one entry point
// each, called by main.
#pragma once

#include <string>
#include <vector>

namespace compresstest {

// compresstest serve: the HTTP server. Returns the process exit code.
int run_serve(const std::vector<std::string>& args, const std::vector<std::string>& env);
// compresstest report FILE...|-: the report on the command line.
int run_report_cli(const std::vector<std::string>& args);
// compresstest lambda: the AWS Lambda custom runtime loop.
int run_lambda(const std::vector<std::string>& args, const std::vector<std::string>& env);
// compresstest probe: GET /healthz from the server the same args and env would start, on
// loopback when it listens on a wildcard address. Returns 0 on a 200 status line within
// probe_timeout, else 1 (never 2, which Docker reserves) with one line on stderr saying why.
int run_probe(const std::vector<std::string>& args, const std::vector<std::string>& env);

} // namespace compresstest
