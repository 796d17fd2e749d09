// The server's configuration: every limit and timeout, with defaults that work unconfigured.
#pragma once

#include "result.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace compresstest {

using milliseconds = std::chrono::milliseconds;

// The largest header limit the HTTP parser can enforce: Beast's fields hold a name or value of
// up to 64 KiB - 2 bytes (std::length_error beyond), which no field of a 64 KiB block reaches.
inline constexpr std::size_t max_header_limit_nbytes = 64 * 1024;

// Defaults are in-class; parse_config() overlays a config file, the environment and flags.
struct config {
    // Network
    std::string listen_host = "0.0.0.0";
    std::uint16_t listen_port = 8080; // 0 picks a free port (printed at start-up)
    std::size_t io_threads = 0;       // 0 = half the hardware threads, at least one
    std::size_t max_connections = 10000;

    // Compute: reports run on their own pool, never on I/O threads.
    std::size_t compute_threads = 0; // 0 = one per hardware thread
    std::size_t queue_length = 16;   // reports admitted beyond those running; more get 503
    double max_panel_cpu_ms = 30000; // estimated single-thread CPU cost a panel may ask for
    unsigned retry_after_s = 1;      // Retry-After on 503 and 429
    // Reports in flight (running or queued) from one client; more get 429. 0 = no cap.
    std::size_t max_reports_per_client = 4;
    // Key clients by the rightmost public X-Forwarded-For address (the one an AWS load balancer
    // appends) instead of the peer address: on only behind such a balancer, where every peer is
    // the balancer; a client cannot spoof past it, as the balancer appends after what it sent.
    bool trust_forwarded_for = false;
    // Compute threads' CPU priority: "idle" (SCHED_IDLE: they run only on CPU time no other
    // thread wants, so I/O threads preempt them at once), "low" (nice 10) or "normal".
    std::string compute_priority = "idle";
    // Pin compute thread i to the i-th CPU of the process's affinity mask (round robin). Linux
    // lets an idle-priority thread that migrates between CPUs win a whole scheduler tick (4 ms
    // at HZ=250) from a busy I/O thread; pinned, one per CPU, they do not (README, "Benchmarks").
    bool pin_compute_threads = true;
    // Each entry is repeated until its runs add up to this much CPU time (compression to half
    // of it, decompression the rest; a longer run runs once), so that a speed is measured, not
    // rounded; the CPU budget counts the repeats. 0 runs each once.
    double timing_floor_ms = 20;

    // Input limits
    std::size_t max_input_nbytes = 3 * 1024 * 1024;            // the text or file itself
    std::size_t max_body_nbytes = 3 * 1024 * 1024 + 64 * 1024; // whole body, form included
    // Bodies being received or held, all connections together: a body that would go over is
    // refused from its headers with 503, so memory is bounded whatever the connection count.
    std::size_t max_body_memory_nbytes = 256 * 1024 * 1024;
    // Request line and headers, exactly; each chunk-size line and trailer section is held to it
    // too. At most 64 KiB, the most the HTTP parser can enforce (server/connection.hpp).
    std::size_t max_header_nbytes = 16 * 1024;
    // Chunk-size lines, chunk extensions and trailers of one chunked body, together.
    std::size_t max_chunk_framing_nbytes = 64 * 1024;
    std::size_t max_form_parts = 16;
    std::size_t max_part_header_nbytes = 8 * 1024;
    std::size_t max_field_name_nbytes = 256;

    // Timeouts
    milliseconds header_timeout{10'000}; // from first byte to end of headers
    milliseconds body_timeout{60'000};   // to read a body
    milliseconds idle_timeout{75'000};   // keep-alive; above AWS load balancers' 60 s
    milliseconds write_timeout{30'000};  // to write a response
    // A stop (SIGTERM, SIGINT, SIGHUP) begins with the lame duck: /healthz answers 503 while
    // everything is still served, so a balancer's health checks stop new traffic first; then
    // the listener closes and in-flight requests get the drain time. Together they fit the 10 s
    // between docker stop's SIGTERM and its SIGKILL.
    milliseconds lame_duck{2'000};
    milliseconds drain_timeout{7'000};
    milliseconds timer_resolution{100}; // how often deadlines are checked
    // compresstest probe (the image's health check): time for /healthz's status line to
    // arrive, connecting included; under the HEALTHCHECK --timeout that runs it.
    milliseconds probe_timeout{2'000};

    // Operations
    bool access_log = true;
};

// Outcome of parsing: run with a config, or print text and exit with a code.
struct parsed_config {
    config cfg;
    bool exit_now = false; // --help / --version
    std::string exit_text;
};

// Precedence: flags > environment (PORT, COMPRESSTEST_*) > --config FILE > defaults.
// args excludes the program and subcommand names. env is "NAME=value" entries (environ).
// Invalid values are an error naming the option and what is allowed.
result<parsed_config> parse_config(const std::vector<std::string>& args,
                                   const std::vector<std::string>& env);

// One line with the effective configuration, for the start-up log.
std::string describe(const config& c);

} // namespace compresstest
