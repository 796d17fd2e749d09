// A fixed-size pool of worker threads draining one FIFO queue; the compute side of the app.
// A task may prefer one thread: it waits for that thread while the thread is free to take it,
// and goes to any thread while that one is busy.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
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
    explicit thread_pool(std::size_t nthreads,
                         std::function<void(std::size_t)> on_thread_start = {});
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    void post(std::function<void()> task);
    // Runs task on worker thread i if i is idle or becomes so first, else on whichever is.
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
    };
    void run(std::size_t self);
    // The first queued task thread self may take now, or queue_.end(); mutex_ held.
    std::deque<queued>::iterator next_for(std::size_t self);

    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<queued> queue_;
    std::vector<char> busy_; // per thread, under mutex_
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

} // namespace compresstest
