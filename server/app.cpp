// The application's shared state: config, compute pool, admission and metrics.
#include "app.hpp"

#include "codecs_json.hpp"
#include "compute_threads.hpp"

#include <algorithm>

namespace compresstest {

app::app(config c)
    : cfg(std::move(c)), codecs_document("/api/codecs", codecs_json(cfg)),
      compute_(thread_count(cfg.compute_threads), compute_thread_start(cfg)),
      capacity_(compute_.size() + cfg.queue_length) {}

admission app::would_admit(std::string_view client) const {
    if (reports_admitted() >= capacity_) return admission::full;
    if (cfg.max_reports_per_client == 0) return admission::admitted;
    std::lock_guard lock(clients_mutex_);
    const auto it = per_client_.find(std::string(client));
    return it != per_client_.end() && it->second >= cfg.max_reports_per_client
               ? admission::client_over_share
               : admission::admitted;
}

admission app::try_admit(std::string_view client) {
    std::unique_lock lock(clients_mutex_, std::defer_lock);
    std::size_t* count = nullptr;
    if (cfg.max_reports_per_client != 0) {
        lock.lock();
        count = &per_client_[std::string(client)];
        if (*count >= cfg.max_reports_per_client) return admission::client_over_share;
    }
    std::size_t n = admitted_.load(std::memory_order_relaxed);
    do {
        if (n >= capacity_) {
            if (count && *count == 0) per_client_.erase(std::string(client));
            return admission::full;
        }
    } while (!admitted_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel));
    if (count) ++*count;
    return admission::admitted;
}

void app::release(std::string_view client) {
    if (cfg.max_reports_per_client != 0) {
        std::lock_guard lock(clients_mutex_);
        if (auto it = per_client_.find(std::string(client)); it != per_client_.end())
            if (--it->second == 0) per_client_.erase(it);
    }
    admitted_.fetch_sub(1, std::memory_order_acq_rel);
}

bool app::try_reserve_body(std::size_t nbytes) {
    std::size_t n = body_reserved_.load(std::memory_order_relaxed);
    do {
        if (nbytes > cfg.max_body_memory_nbytes - std::min(n, cfg.max_body_memory_nbytes))
            return false;
    } while (!body_reserved_.compare_exchange_weak(n, n + nbytes, std::memory_order_acq_rel));
    return true;
}

void app::release_body(std::size_t nbytes) {
    if (nbytes == 0) return; // most requests reserve nothing: no locked instruction for them
    body_reserved_.fetch_sub(nbytes, std::memory_order_acq_rel);
}

} // namespace compresstest
