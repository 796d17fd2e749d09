// A fixed-size pool of worker threads draining one FIFO queue.
#include "thread_pool.hpp"

#include <latch>
#include <memory>

namespace compresstest {

thread_pool::thread_pool(std::size_t nthreads, std::function<void(std::size_t)> on_thread_start) {
    threads_.reserve(nthreads);
    // Returns once every thread has run on_thread_start: a caller that goes on to announce
    // itself (the server's start-up line) has its threads named, prioritised and pinned.
    // Shared: a thread may still be inside count_down() when the wait here returns.
    auto started = std::make_shared<std::latch>(static_cast<std::ptrdiff_t>(nthreads));
    for (std::size_t i = 0; i < nthreads; ++i)
        threads_.emplace_back([this, &on_thread_start, started, i] {
            if (on_thread_start) on_thread_start(i);
            started->count_down();
            run();
        });
    started->wait();
}

thread_pool::~thread_pool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : threads_)
        t.join();
}

void thread_pool::post(std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(task));
    }
    ready_.notify_one();
}

std::size_t thread_pool::queue_depth() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

std::function<void(std::function<void()>)> thread_pool::executor() {
    return [this](std::function<void()> task) { post(std::move(task)); };
}

void thread_pool::run() {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return; // stopping and drained
            task = std::move(queue_.front());
            queue_.pop_front();
        }
        task();
    }
}

} // namespace compresstest
