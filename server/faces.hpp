// The three faces of the binary (serve, report, lambda): one entry point each, called by main.
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

} // namespace compresstest
