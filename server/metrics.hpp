// Request counters and latency histograms, exposed in the Prometheus text format.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace compresstest {

// The routes metrics are labelled with: a fixed set, so labels never grow with user input.
enum class route_id : std::uint8_t {
    page,
    tiny,
    report,
    codecs,
    healthz,
    metrics,
    asset,
    preflight,
    other,
    count_
};
std::string_view route_label(route_id r);

// All members are lock-free atomics: record() is called from every I/O thread.
class metrics {
public:
    void record(route_id route, unsigned status, std::chrono::microseconds duration);
    void add_bytes_received(std::uint64_t n) { bytes_received_.fetch_add(n, relaxed); }
    void add_rejected() const { rejected_.fetch_add(1, relaxed); } // from const paths too
    void add_in_flight(int delta) { in_flight_.fetch_add(delta, relaxed); }
    void add_connections(int delta) { connections_.fetch_add(delta, relaxed); }
    void add_log_write_failure() { log_write_failures_.fetch_add(1, relaxed); }
    void add_report_entry() { report_entries_.fetch_add(1, relaxed); } // from compute threads
    std::int64_t connections() const { return connections_.load(relaxed); }

    // queue_depth and reports_running are read from the compute side at scrape time.
    std::string exposition(std::size_t queue_depth, std::size_t reports_admitted,
                           std::size_t body_nbytes_reserved) const;

private:
    static constexpr auto relaxed = std::memory_order_relaxed;
    static constexpr std::size_t nroutes = static_cast<std::size_t>(route_id::count_);
    static constexpr std::array<double, 12> bucket_bounds_s = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
    static constexpr std::size_t nstatuses = 600;

    struct per_route {
        std::array<std::atomic<std::uint64_t>, nstatuses> by_status{};
        std::array<std::atomic<std::uint64_t>, bucket_bounds_s.size() + 1> buckets{};
        std::atomic<std::uint64_t> sum_us{0};
    };
    std::array<per_route, nroutes> routes_{};
    std::atomic<std::uint64_t> bytes_received_{0};
    mutable std::atomic<std::uint64_t> rejected_{0};
    std::atomic<std::int64_t> in_flight_{0};
    std::atomic<std::int64_t> connections_{0};
    std::atomic<std::uint64_t> log_write_failures_{0};
    std::atomic<std::uint64_t> report_entries_{0};
};

} // namespace compresstest
