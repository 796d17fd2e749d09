// One parse for the configuration: flags > environment > config file > defaults.
#include "config.hpp"

#include <boost/program_options.hpp>

#include <charconv>
#include <fmt/format.h>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>

namespace compresstest {
namespace po = boost::program_options;
namespace {

// A setter validates text and stores it; it returns what is allowed when the text is bad.
using setter = std::function<std::optional<std::string>(config&, const std::string&)>;

struct option_row {
    const char* name; // flag name; env is COMPRESSTEST_ + upper-case with '_' for '-'
    const char* help;
    setter set;
    std::function<std::string(const config&)> show;
};

template <class T> std::optional<T> to_number(const std::string& s) {
    T v{};
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

template <class T>
option_row count_option(const char* name, const char* help, T config::*field, T lo, T hi) {
    return {name, help,
            [=](config& c, const std::string& s) -> std::optional<std::string> {
                auto v = to_number<T>(s);
                if (!v || *v < lo || *v > hi)
                    return fmt::format("an integer from {} to {}", lo, hi);
                c.*field = *v;
                return std::nullopt;
            },
            [=](const config& c) { return std::to_string(c.*field); }};
}

option_row ms_option(const char* name, const char* help, milliseconds config::*field,
                     std::int64_t lo) {
    constexpr std::int64_t hi = 24LL * 3600 * 1000;
    return {name, help,
            [=](config& c, const std::string& s) -> std::optional<std::string> {
                auto v = to_number<std::int64_t>(s);
                if (!v || *v < lo || *v > hi)
                    return fmt::format("milliseconds from {} to {}", lo, hi);
                c.*field = milliseconds(*v);
                return std::nullopt;
            },
            [=](const config& c) { return std::to_string((c.*field).count()); }};
}

std::optional<std::string> set_listen(config& c, const std::string& s) {
    const auto colon = s.rfind(':');
    const std::string allowed = "HOST:PORT, e.g. 0.0.0.0:8080 or 127.0.0.1:0";
    if (colon == std::string::npos || colon == 0) return allowed;
    auto port = to_number<std::uint16_t>(s.substr(colon + 1));
    if (!port) return allowed;
    std::string host = s.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2); // [::1]:8080
    c.listen_host = host;
    c.listen_port = *port;
    return std::nullopt;
}

option_row switch_option(const char* name, const char* help, bool config::*field) {
    return {name, help,
            [=](config& c, const std::string& s) -> std::optional<std::string> {
                if (s == "on" || s == "true" || s == "1")
                    c.*field = true;
                else if (s == "off" || s == "false" || s == "0")
                    c.*field = false;
                else
                    return "on or off";
                return std::nullopt;
            },
            [=](const config& c) { return std::string(c.*field ? "on" : "off"); }};
}

const std::vector<option_row>& rows() {
    constexpr std::size_t big = std::size_t{1} << 40;
    static const std::vector<option_row> table = {
        {"listen", "address and port to listen on (port 0 picks a free one)", set_listen,
         [](const config& c) { return c.listen_host + ":" + std::to_string(c.listen_port); }},
        count_option<std::size_t>("io-threads",
                                  "I/O threads (0 = half the hardware threads, at least one)",
                                  &config::io_threads, 0, 1024),
        count_option<std::size_t>("max-connections",
                                  "open connections beyond which new ones are closed",
                                  &config::max_connections, 1, 1'000'000),
        count_option<std::size_t>("compute-threads", "compression threads (0 = hardware threads)",
                                  &config::compute_threads, 0, 1024),
        count_option<std::size_t>("queue-length",
                                  "reports waiting beyond those running; more get 503",
                                  &config::queue_length, 0, 100'000),
        {"max-panel-cpu-ms", "estimated CPU milliseconds one report may ask for (else 422)",
         [](config& c, const std::string& s) -> std::optional<std::string> {
             auto v = to_number<double>(s);
             if (!v || !(*v > 0) || *v > 1e9) return "a positive number of milliseconds";
             c.max_panel_cpu_ms = *v;
             return std::nullopt;
         },
         [](const config& c) { return fmt::format("{}", c.max_panel_cpu_ms); }},
        {"compute-priority", "CPU priority of compression threads: idle, low or normal",
         [](config& c, const std::string& s) -> std::optional<std::string> {
             if (s != "idle" && s != "low" && s != "normal") return "idle, low or normal";
             c.compute_priority = s;
             return std::nullopt;
         },
         [](const config& c) { return c.compute_priority; }},
        {"timing-floor-ms",
         "CPU milliseconds each entry's runs are repeated to: compression to half, decompression "
         "the rest (0 = once)",
         [](config& c, const std::string& s) -> std::optional<std::string> {
             auto v = to_number<double>(s);
             if (!v || !(*v >= 0) || *v > 10'000) return "milliseconds from 0 to 10000";
             c.timing_floor_ms = *v;
             return std::nullopt;
         },
         [](const config& c) { return fmt::format("{}", c.timing_floor_ms); }},
        switch_option("pin-compute-threads",
                      "pin compression thread i to the i-th CPU the process may use: on or off",
                      &config::pin_compute_threads),
        count_option<unsigned>("retry-after-s", "Retry-After seconds on 503 and 429",
                               &config::retry_after_s, 0, 3600),
        count_option<std::size_t>("max-reports-per-client",
                                  "reports in flight from one client; more get 429 (0 = no cap)",
                                  &config::max_reports_per_client, 0, 100'000),
        switch_option(
            "trust-forwarded-for",
            "key clients by the rightmost public X-Forwarded-For address (behind a balancer)",
            &config::trust_forwarded_for),
        count_option<std::size_t>("max-input-bytes", "largest text or file to compress",
                                  &config::max_input_nbytes, 1, big),
        count_option<std::size_t>("max-body-bytes", "largest request body, form included",
                                  &config::max_body_nbytes, 1, big),
        count_option<std::size_t>(
            "max-body-memory-bytes",
            "request bodies held at once, all connections (more get 503 from the headers)",
            &config::max_body_memory_nbytes, 1, big),
        count_option<std::size_t>("max-header-bytes",
                                  "largest request line + header block, chunk-size line or "
                                  "trailer section",
                                  &config::max_header_nbytes, 512, max_header_limit_nbytes),
        count_option<std::size_t>("max-chunk-framing-bytes",
                                  "chunk-size lines, extensions and trailers of one body",
                                  &config::max_chunk_framing_nbytes, 64, big),
        count_option<std::size_t>("max-form-parts", "parts in one multipart form",
                                  &config::max_form_parts, 1, 10'000),
        count_option<std::size_t>("max-part-header-bytes", "header block of one form part",
                                  &config::max_part_header_nbytes, 64, 1 << 20),
        count_option<std::size_t>("max-field-name-bytes", "form field name or file name",
                                  &config::max_field_name_nbytes, 8, 1 << 16),
        ms_option("header-timeout-ms", "time to receive the request headers",
                  &config::header_timeout, 1),
        ms_option("body-timeout-ms", "time to receive a request body", &config::body_timeout, 1),
        ms_option("idle-timeout-ms", "keep-alive idle time between requests", &config::idle_timeout,
                  1),
        ms_option("write-timeout-ms", "time to write a response", &config::write_timeout, 1),
        ms_option("lame-duck-ms",
                  "on SIGTERM/SIGINT/SIGHUP, time /healthz answers 503 before the drain",
                  &config::lame_duck, 0),
        ms_option("drain-timeout-ms", "then time for in-flight requests to finish",
                  &config::drain_timeout, 0),
        ms_option("timer-resolution-ms", "how often deadlines are checked",
                  &config::timer_resolution, 1),
        ms_option("probe-timeout-ms", "compresstest probe: time for /healthz's status line",
                  &config::probe_timeout, 1),
        switch_option("access-log", "one line per request on stdout: on or off",
                      &config::access_log),
    };
    return table;
}

std::string env_name(std::string flag) {
    for (char& ch : flag)
        ch = ch == '-' ? '_' : static_cast<char>(std::toupper(ch));
    return "COMPRESSTEST_" + flag;
}

std::string usage(const po::options_description& visible) {
    std::ostringstream s;
    s << "usage: compresstest [serve] [options]\n"
         "       compresstest report [--json] [--codecs PANEL] FILE...|-\n"
         "       compresstest lambda   (AWS Lambda custom runtime)\n"
         "       compresstest probe [options]   (GET /healthz of the server these options\n"
         "                                       start, on loopback: exit 0 on 200, else 1)\n\n"
      << visible
      << "\nEvery option can also be set as COMPRESSTEST_<NAME> in the environment (e.g.\n"
         "COMPRESSTEST_MAX_INPUT_BYTES) or as name = value in the --config file; PORT sets the\n"
         "port. Precedence: flags > environment > config file > defaults.\n";
    return s.str();
}

} // namespace

result<parsed_config> parse_config(const std::vector<std::string>& args,
                                   const std::vector<std::string>& env) {
    po::options_description visible("options");
    visible.add_options()("help,h", "print this help and exit")("version", "print the version")(
        "config", po::value<std::string>(), "read name = value lines from this file");
    for (const auto& row : rows()) {
        config defaults;
        visible.add_options()(row.name, po::value<std::string>(),
                              fmt::format("{} [{}]", row.help, row.show(defaults)).c_str());
    }
    po::variables_map vm;
    std::string stage = "command line";
    try {
        // The first store of an option wins, so storing flags, then environment, then the
        // file gives the precedence.
        po::store(po::command_line_parser(args).options(visible).run(), vm);
        stage = "environment";
        std::vector<std::string> known;
        for (const auto& row : rows())
            known.push_back(row.name);
        po::parsed_options from_env(&visible);
        for (const auto& entry : env) {
            const auto eq = entry.find('=');
            if (eq == std::string::npos) continue;
            const std::string name = entry.substr(0, eq), value = entry.substr(eq + 1);
            for (const auto& flag : known)
                if (name == env_name(flag)) from_env.options.emplace_back(flag, std::vector{value});
        }
        po::store(from_env, vm);
        if (vm.count("config")) {
            stage = "config file " + vm["config"].as<std::string>();
            po::store(po::parse_config_file<char>(vm["config"].as<std::string>().c_str(), visible),
                      vm);
        }
    } catch (const std::exception& ex) {
        return error{error_kind::bad_request, stage + ": " + ex.what() + " (see --help)"};
    }

    parsed_config out;
    if (vm.count("help")) {
        out.exit_now = true;
        out.exit_text = usage(visible);
        return out;
    }
    if (vm.count("version")) {
        out.exit_now = true;
        out.exit_text = std::string("compresstest ") + COMPRESSTEST_VERSION + "\n";
        return out;
    }
    for (const auto& row : rows()) {
        if (!vm.count(row.name)) continue;
        const auto& value = vm[row.name].as<std::string>();
        if (auto allowed = row.set(out.cfg, value))
            return error{error_kind::bad_request,
                         fmt::format("invalid value \"{}\" for --{} ({}): expected {}", value,
                                     row.name, env_name(row.name), *allowed)};
    }
    // PORT is what platforms like Elastic Beanstalk set; an explicit --listen still wins.
    const bool listen_on_command_line = [&] {
        for (const auto& a : args)
            if (a == "--listen" || a.rfind("--listen=", 0) == 0) return true;
        return false;
    }();
    for (const auto& entry : env)
        if (entry.rfind("PORT=", 0) == 0 && !listen_on_command_line) {
            auto port = to_number<std::uint16_t>(entry.substr(5));
            if (!port)
                return error{error_kind::bad_request,
                             "invalid value \"" + entry.substr(5) +
                                 "\" for PORT: expected a port from 0 to 65535"};
            out.cfg.listen_port = *port;
        }
    if (out.cfg.max_body_nbytes < out.cfg.max_input_nbytes)
        return error{error_kind::bad_request,
                     "--max-body-bytes must be at least --max-input-bytes"};
    if (out.cfg.max_body_memory_nbytes < out.cfg.max_body_nbytes)
        return error{error_kind::bad_request,
                     "--max-body-memory-bytes must be at least --max-body-bytes"};
    return out;
}

std::string describe(const config& c) {
    std::string s;
    for (const auto& row : rows())
        s += fmt::format("{}{}={}", s.empty() ? "" : " ", row.name, row.show(c));
    return s;
}

} // namespace compresstest
