// A response body made of pieces that other threads produce (NDJSON lines), written as each
// arrives.
#include "reply_stream.hpp"

#include <utility>

namespace compresstest {

void reply_stream::on_ready(std::function<void()> notify) {
    std::unique_lock lock(mutex_);
    notify_ = std::move(notify);
    if (!pending_.empty() || finished_) notify_unlocked(lock);
}

void reply_stream::push(std::string piece) {
    std::unique_lock lock(mutex_);
    pending_ += piece;
    notify_unlocked(lock);
}

void reply_stream::finish() {
    std::unique_lock lock(mutex_);
    finished_ = true;
    finished_cv_.notify_all();
    notify_unlocked(lock);
}

bool reply_stream::drain(std::string& out) {
    std::lock_guard lock(mutex_);
    out += pending_;
    pending_.clear();
    return finished_;
}

bool reply_stream::wait_finished(std::optional<std::chrono::system_clock::time_point> deadline) {
    std::unique_lock lock(mutex_);
    if (!deadline) {
        finished_cv_.wait(lock, [this] { return finished_; });
        return true;
    }
    return finished_cv_.wait_until(lock, *deadline, [this] { return finished_; });
}

void reply_stream::notify_unlocked(std::unique_lock<std::mutex>& lock) {
    // Called outside the lock, so the notify may take the lock again (drain) at once; after
    // finish it is released here, on the producer's side.
    auto notify = finished_ ? std::move(notify_) : notify_;
    if (finished_) notify_ = nullptr;
    lock.unlock();
    if (notify) notify();
}

} // namespace compresstest
