// Request counters and latency histograms, exposed in the Prometheus text format.
#include "metrics.hpp"

#include <fmt/format.h>

namespace compresstest {

std::string_view route_label(route_id r) {
    static constexpr std::array<std::string_view, static_cast<std::size_t>(route_id::count_)>
        labels = {"/",        "/tiny", "/compress", "/api/codecs", "/healthz",
                  "/metrics", "asset", "preflight", "other"};
    return labels[static_cast<std::size_t>(r)];
}

void metrics::record(route_id route, unsigned status, std::chrono::microseconds duration) {
    auto& r = routes_[static_cast<std::size_t>(route)];
    r.by_status[status < nstatuses ? status : 0].fetch_add(1, relaxed);
    const double s = static_cast<double>(duration.count()) / 1e6;
    std::size_t b = 0;
    while (b < bucket_bounds_s.size() && s > bucket_bounds_s[b])
        ++b;
    r.buckets[b].fetch_add(1, relaxed);
    r.sum_us.fetch_add(static_cast<std::uint64_t>(duration.count()), relaxed);
}

std::string metrics::exposition(std::size_t queue_depth, std::size_t reports_admitted,
                                std::size_t body_nbytes_reserved) const {
    fmt::memory_buffer out;
    auto it = std::back_inserter(out);
    fmt::format_to(it,
                   "# HELP compresstest_requests_total Requests answered, by route and status.\n"
                   "# TYPE compresstest_requests_total counter\n");
    for (std::size_t i = 0; i < nroutes; ++i)
        for (std::size_t st = 0; st < nstatuses; ++st)
            if (auto n = routes_[i].by_status[st].load(relaxed))
                fmt::format_to(it, "compresstest_requests_total{{route=\"{}\",status=\"{}\"}} {}\n",
                               route_label(static_cast<route_id>(i)), st, n);
    fmt::format_to(it, "# HELP compresstest_request_duration_seconds Time from request headers to "
                       "response written, by route.\n"
                       "# TYPE compresstest_request_duration_seconds histogram\n");
    for (std::size_t i = 0; i < nroutes; ++i) {
        const auto& r = routes_[i];
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < r.buckets.size(); ++b)
            cumulative += r.buckets[b].load(relaxed);
        if (cumulative == 0) continue;
        const auto label = route_label(static_cast<route_id>(i));
        std::uint64_t running = 0;
        for (std::size_t b = 0; b < r.buckets.size(); ++b) {
            running += r.buckets[b].load(relaxed);
            if (b < bucket_bounds_s.size())
                fmt::format_to(
                    it,
                    "compresstest_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                    label, bucket_bounds_s[b], running);
            else
                fmt::format_to(
                    it,
                    "compresstest_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                    label, running);
        }
        fmt::format_to(it, "compresstest_request_duration_seconds_sum{{route=\"{}\"}} {}\n", label,
                       static_cast<double>(r.sum_us.load(relaxed)) / 1e6);
        fmt::format_to(it, "compresstest_request_duration_seconds_count{{route=\"{}\"}} {}\n",
                       label, running);
    }
    fmt::format_to(
        it,
        "# HELP compresstest_in_flight_requests Requests being handled now.\n"
        "# TYPE compresstest_in_flight_requests gauge\n"
        "compresstest_in_flight_requests {}\n"
        "# HELP compresstest_open_connections Client connections open now.\n"
        "# TYPE compresstest_open_connections gauge\n"
        "compresstest_open_connections {}\n"
        "# HELP compresstest_compute_queue_depth Compression tasks waiting for a thread.\n"
        "# TYPE compresstest_compute_queue_depth gauge\n"
        "compresstest_compute_queue_depth {}\n"
        "# HELP compresstest_reports_admitted Reports running or queued.\n"
        "# TYPE compresstest_reports_admitted gauge\n"
        "compresstest_reports_admitted {}\n"
        "# HELP compresstest_body_bytes_reserved Request body bytes being received or held.\n"
        "# TYPE compresstest_body_bytes_reserved gauge\n"
        "compresstest_body_bytes_reserved {}\n"
        "# HELP compresstest_rejected_total Requests refused with 503 (report queue full, or "
        "body memory budget spent) or 429 (a client over its share of reports).\n"
        "# TYPE compresstest_rejected_total counter\n"
        "compresstest_rejected_total {}\n"
        "# HELP compresstest_received_bytes_total Request bytes read (headers and bodies).\n"
        "# TYPE compresstest_received_bytes_total counter\n"
        "compresstest_received_bytes_total {}\n"
        "# HELP compresstest_log_write_failures_total Access-log writes that failed (stdout "
        "closed or full); never fatal.\n"
        "# TYPE compresstest_log_write_failures_total counter\n"
        "compresstest_log_write_failures_total {}\n"
        "# HELP compresstest_report_entries_total Panel entries measured (compressed, "
        "decompressed and verified); a report whose client went away stops adding to it.\n"
        "# TYPE compresstest_report_entries_total counter\n"
        "compresstest_report_entries_total {}\n",
        in_flight_.load(relaxed), connections_.load(relaxed), queue_depth, reports_admitted,
        body_nbytes_reserved, rejected_.load(relaxed), bytes_received_.load(relaxed),
        log_write_failures_.load(relaxed), report_entries_.load(relaxed));
    return fmt::to_string(out);
}

} // namespace compresstest
