// The application's shared state: config, compute pool, admission and metrics.
#pragma once

#include "config/config.hpp"
#include "metrics.hpp"
#include "thread_pool.hpp"

#include <atomic>
#include <cstddef>
#include <string>

namespace compresstest {

// One per process, shared by every I/O thread (and the Lambda loop). Thread-safe: members
// are immutable after construction or atomic.
class app {
public:
    explicit app(config c);

    const config cfg;
    metrics stats;
    const std::string codecs_json; // the /api/codecs body, built once

    // Admission for reports: at most compute threads + queue_length running or waiting.
    // try_admit() is false when full (the caller answers 503); release() when one finishes.
    bool try_admit();
    void release();
    std::size_t reports_admitted() const { return admitted_.load(std::memory_order_relaxed); }
    // True when try_admit() would fail now: lets a report be refused from its headers, before
    // its body is read (the admission itself still happens after the body).
    bool full() const { return reports_admitted() >= capacity_; }

    // The body memory budget (cfg.max_body_memory_nbytes), reserved from a request's headers
    // (its Content-Length, or the body limit when chunked) before any body byte is read and
    // released when its answer is written or the connection closes.
    bool try_reserve_body(std::size_t nbytes);
    void release_body(std::size_t nbytes);
    std::size_t body_nbytes_reserved() const {
        return body_reserved_.load(std::memory_order_relaxed);
    }

    thread_pool& compute() { return compute_; }

private:
    thread_pool compute_;
    const std::size_t capacity_;
    std::atomic<std::size_t> admitted_{0};
    std::atomic<std::size_t> body_reserved_{0};
};

// Names the calling thread (first 15 bytes) for top -H, ps -L and /proc/PID/task/*/comm.
void name_this_thread(const std::string& name);

// Resolves 0 ("one per hardware thread") to a count.
std::size_t thread_count(std::size_t configured);

} // namespace compresstest
