// A fixed-size pool of worker threads draining one FIFO queue; the compute side of the app.
// A task may prefer one thread: it runs there if that thread is free or frees up within a short
// grace time, else on whichever thread is free then.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace compresstest {

// post() is thread-safe. Tasks must not throw (the report wraps its own); a task that does
// terminates the process, as an escaped exception on any thread would. The destructor
// finishes every queued task, then joins.
class thread_pool {
public:
    // on_thread_start(i) runs first on worker thread i, 0 <= i < nthreads (the server lowers
    // their priority and pins each to a CPU); the constructor returns after all of them ran.
    using clock = std::chrono::steady_clock;
    // The grace time covers the task that posts a preferring task from the preferred thread
    // itself (a report's preparation), which is still running when it posts.
    explicit thread_pool(std::size_t nthreads,
                         std::function<void(std::size_t)> on_thread_start = {},
                         clock::duration preferring_grace = std::chrono::milliseconds(10));
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    void post(std::function<void()> task);
    // Runs task on worker thread i if i is idle or becomes so within the grace time, else on
    // whichever thread is idle then.
    void post_preferring(std::size_t i, std::function<void()> task);
    std::size_t queue_depth() const; // tasks waiting, not counting running ones
    std::size_t size() const noexcept { return threads_.size(); }

    // An executor for run_report: posts to this pool.
    std::function<void(std::function<void()>)> executor();
    // One whose tasks prefer worker thread i (post_preferring).
    std::function<void(std::function<void()>)> executor_preferring(std::size_t i);

private:
    static constexpr std::size_t any_thread = static_cast<std::size_t>(-1);
    struct queued {
        std::function<void()> task;
        std::size_t preferred;
        clock::time_point spill_at; // when another thread may take it, if preferred is busy
    };
    void run(std::size_t self);
    // The first queued task thread self may take at now, or queue_.end(); mutex_ held.
    std::deque<queued>::iterator next_for(std::size_t self, clock::time_point now);
    // The earliest time a task waiting for another, busy thread may spill to self.
    std::optional<clock::time_point> next_spill_for(std::size_t self) const;

    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<queued> queue_;
    std::vector<char> busy_; // per thread, under mutex_
    clock::duration grace_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

} // namespace compresstest
