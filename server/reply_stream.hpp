// A response body made of pieces that other threads produce (NDJSON lines), written as each
// arrives.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace compresstest {

// Thread-safe. The producer (a compute thread) push()es pieces and finish()es once; the
// consumer (the connection's thread) is told through the notify function given to on_ready()
// and takes what has arrived with drain(). notify runs on the producer's thread after each
// push or finish and must only hand the work over (post it); it is dropped after finish, so a
// notify that holds its consumer alive does not outlive the stream's end.
class reply_stream {
public:
    void on_ready(std::function<void()> notify);
    void push(std::string piece);
    void finish();
    // Appends what has arrived to out; true when the stream is finished and nothing is left.
    bool drain(std::string& out);
    // For a consumer with no event loop (the Lambda face answers with the whole body): blocks
    // until finish() (true) or the deadline (false; none = no deadline).
    bool wait_finished(std::optional<std::chrono::system_clock::time_point> deadline);
    // The consumer went away (the client closed the connection): the producer may stop.
    void abandon() { abandoned_.store(true, std::memory_order_relaxed); }
    bool abandoned() const { return abandoned_.load(std::memory_order_relaxed); }

private:
    void notify_unlocked(std::unique_lock<std::mutex>& lock);

    std::mutex mutex_;
    std::string pending_;
    bool finished_ = false;
    std::condition_variable finished_cv_;
    std::function<void()> notify_;
    std::atomic<bool> abandoned_{false};
};

} // namespace compresstest
