// compresstest: one binary, three faces — serve (default), report, lambda — and its health probe.
#include "faces.hpp"
#include "report.hpp"

#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

extern char** environ;

int main(int argc, char** argv) {
    // A write to a closed pipe (stdout read by a process that went away) must fail with EPIPE,
    // not kill the process: the access log counts the failure and carries on.
    std::signal(SIGPIPE, SIG_IGN);
    compresstest::keep_freed_memory_for_repeated_runs();
    std::vector<std::string> args(argv + 1, argv + argc);
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e)
        env.emplace_back(*e);

    // Lambda's custom runtime runs a file called bootstrap with no arguments.
    std::string self = argv[0];
    self = self.substr(self.find_last_of('/') + 1);
    std::string face = self == "bootstrap" ? "lambda" : "serve";
    if (!args.empty() &&
        (args[0] == "serve" || args[0] == "report" || args[0] == "lambda" || args[0] == "probe")) {
        face = args[0];
        args.erase(args.begin());
    }
    try {
        if (face == "report") return compresstest::run_report_cli(args);
        if (face == "lambda") return compresstest::run_lambda(args, env);
        if (face == "probe") return compresstest::run_probe(args, env);
        return compresstest::run_serve(args, env);
    } catch (const std::exception& ex) {
        std::cerr << "compresstest: " << ex.what() << '\n';
        return 1;
    }
}
