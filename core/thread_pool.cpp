// A fixed-size pool of worker threads draining one FIFO queue.
#include "thread_pool.hpp"

#include <algorithm>
#include <latch>
#include <memory>

namespace compresstest {

thread_pool::thread_pool(std::size_t nthreads, std::function<void(std::size_t)> on_thread_start,
                         clock::duration preferring_grace)
    : grace_(preferring_grace) {
    threads_.reserve(nthreads);
    busy_.assign(nthreads, 0);
    // Returns once every thread has run on_thread_start: a caller that goes on to announce
    // itself (the server's start-up line) has its threads named, prioritised and pinned.
    // Shared: a thread may still be inside count_down() when the wait here returns.
    auto started = std::make_shared<std::latch>(static_cast<std::ptrdiff_t>(nthreads));
    for (std::size_t i = 0; i < nthreads; ++i)
        threads_.emplace_back([this, &on_thread_start, started, i] {
            if (on_thread_start) on_thread_start(i);
            started->count_down();
            run(i);
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
        queue_.push_back({std::move(task), any_thread, {}});
    }
    ready_.notify_one();
}

void thread_pool::post_preferring(std::size_t i, std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(
            {std::move(task), i < busy_.size() ? i : any_thread, clock::now() + grace_});
    }
    ready_.notify_all(); // thread i itself, which notify_one might not wake
}

std::size_t thread_pool::queue_depth() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

std::function<void(std::function<void()>)> thread_pool::executor() {
    return [this](std::function<void()> task) { post(std::move(task)); };
}

std::function<void(std::function<void()>)> thread_pool::executor_preferring(std::size_t i) {
    return [this, i](std::function<void()> task) { post_preferring(i, std::move(task)); };
}

std::deque<thread_pool::queued>::iterator thread_pool::next_for(std::size_t self,
                                                                clock::time_point now) {
    return std::find_if(queue_.begin(), queue_.end(), [&](const queued& q) {
        return q.preferred == any_thread || q.preferred == self ||
               (busy_[q.preferred] && now >= q.spill_at);
    });
}

std::optional<thread_pool::clock::time_point> thread_pool::next_spill_for(std::size_t self) const {
    std::optional<clock::time_point> first;
    for (const auto& q : queue_)
        if (q.preferred != any_thread && q.preferred != self && busy_[q.preferred] &&
            (!first || q.spill_at < *first))
            first = q.spill_at;
    return first;
}

void thread_pool::run(std::size_t self) {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock lock(mutex_);
            auto it = next_for(self, clock::now());
            while (it == queue_.end() && !stopping_) {
                if (const auto spill = next_spill_for(self))
                    ready_.wait_until(lock, *spill);
                else
                    ready_.wait(lock);
                it = next_for(self, clock::now());
            }
            // Stopping: every task left is taken, whichever thread it prefers.
            if (it == queue_.end()) it = queue_.begin();
            if (it == queue_.end()) return; // stopping and drained
            task = std::move(it->task);
            queue_.erase(it);
            busy_[self] = 1;
            // Tasks that waited for this thread may now go to another.
            if (!queue_.empty()) ready_.notify_all();
        }
        task();
        std::lock_guard lock(mutex_);
        busy_[self] = 0;
    }
}

} // namespace compresstest
