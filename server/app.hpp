// The application's shared state: config, compute pool, admission and metrics.
#pragma once

#include "codecs_json.hpp"
#include "config/config.hpp"
#include "metrics.hpp"
#include "thread_pool.hpp"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace compresstest {

// Why a report was not admitted.
enum class admission { admitted, full, client_over_share };

// One per process, shared by every I/O thread (and the Lambda loop). Thread-safe: members
// are immutable after construction, atomic, or guarded by a mutex.
class app {
public:
    explicit app(config c);

    const config cfg;
    metrics stats;
    const built_document codecs_document; // /api/codecs, built once

    // Admission for reports: at most compute threads + queue_length running or waiting, and at
    // most cfg.max_reports_per_client of them from one client (0: no such cap). release(client)
    // once for each report admitted, when it finishes.
    admission try_admit(std::string_view client);
    void release(std::string_view client);
    std::size_t reports_admitted() const { return admitted_.load(std::memory_order_relaxed); }
    // What try_admit would answer now, changing nothing: lets a report be refused from its
    // headers, before its body is read (the admission itself happens after the body).
    admission would_admit(std::string_view client) const;

    // The body memory budget (cfg.max_body_memory_nbytes), reserved from a request's headers
    // (its Content-Length, or the body limit when chunked) before any body byte is read and
    // released when its answer is written or the connection closes.
    bool try_reserve_body(std::size_t nbytes);
    void release_body(std::size_t nbytes);
    std::size_t body_nbytes_reserved() const {
        return body_reserved_.load(std::memory_order_relaxed);
    }

    // The lame duck: from a stop signal until the drain, /healthz answers 503.
    void begin_lame_duck() { lame_duck_.store(true, std::memory_order_relaxed); }
    bool lame_duck() const { return lame_duck_.load(std::memory_order_relaxed); }

    thread_pool& compute() { return compute_; }

private:
    thread_pool compute_;
    const std::size_t capacity_;
    std::atomic<std::size_t> admitted_{0};
    std::atomic<std::size_t> body_reserved_{0};
    std::atomic<bool> lame_duck_{false};
    // Reports in flight per client; an entry exists only while its count is positive, so the
    // map holds at most capacity_ entries.
    mutable std::mutex clients_mutex_;
    std::unordered_map<std::string, std::size_t> per_client_;
};

} // namespace compresstest
