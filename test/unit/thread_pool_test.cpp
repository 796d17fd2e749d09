// The compute pool: every task runs once; a task that prefers a thread runs there while that
// thread is free, and elsewhere while it is busy.
#include "thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

namespace compresstest {
namespace {

// Which worker a task ran on, told apart by the ids on_thread_start saw.
struct worker_ids {
    std::mutex mutex;
    std::thread::id of[2];
    std::size_t index_of(std::thread::id id) {
        std::lock_guard lock(mutex);
        return id == of[0] ? 0 : id == of[1] ? 1 : 2;
    }
};

// What a task hands back. The task holds the promise by shared_ptr, so it may still be inside
// set_value() when the test, woken, goes on and ends.
template <class T> struct handback {
    std::shared_ptr<std::promise<T>> promise = std::make_shared<std::promise<T>>();
    std::future<T> future = promise->get_future();
};

TEST(thread_pool, a_preferring_task_runs_on_its_thread_while_that_thread_is_free) {
    worker_ids ids;
    thread_pool pool(2, [&](std::size_t i) {
        std::lock_guard lock(ids.mutex);
        ids.of[i] = std::this_thread::get_id();
    });
    for (std::size_t preferred : {0u, 1u})
        for (int k = 0; k < 50; ++k) {
            handback<std::size_t> ran_on;
            pool.post_preferring(preferred, [&ids, p = ran_on.promise] {
                p->set_value(ids.index_of(std::this_thread::get_id()));
            });
            EXPECT_EQ(ran_on.future.get(), preferred) << "task " << k;
        }
}

TEST(thread_pool, a_preferring_task_goes_to_another_thread_while_its_own_is_busy) {
    worker_ids ids;
    thread_pool pool(2, [&](std::size_t i) {
        std::lock_guard lock(ids.mutex);
        ids.of[i] = std::this_thread::get_id();
    });
    // Keep thread 0 busy until the preferring task has run (past the grace time). The release
    // comes on every path out of the test, before the pool joins thread 0.
    handback<void> busy_started;
    auto release = std::make_shared<std::promise<void>>();
    struct releaser {
        std::shared_ptr<std::promise<void>> p;
        ~releaser() { p->set_value(); }
    } const release_at_exit{release};
    pool.post_preferring(
        0, [started = busy_started.promise, released = release->get_future().share()] {
            started->set_value();
            released.wait();
        });
    busy_started.future.wait();
    handback<std::size_t> ran_on;
    pool.post_preferring(
        0, [&ids, p = ran_on.promise] { p->set_value(ids.index_of(std::this_thread::get_id())); });
    ASSERT_EQ(ran_on.future.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "the task waited for its busy thread";
    EXPECT_EQ(ran_on.future.get(), 1u);
}

// A report's preparation posts its measurement from the preferred thread itself, which is busy
// for a moment more: within the grace time the task still waits for it.
TEST(thread_pool, a_preferring_task_waits_out_a_short_busy_spell_of_its_thread) {
    worker_ids ids;
    thread_pool pool(
        2,
        [&](std::size_t i) {
            std::lock_guard lock(ids.mutex);
            ids.of[i] = std::this_thread::get_id();
        },
        std::chrono::seconds(60));
    handback<std::size_t> ran_on;
    handback<void> posted;
    pool.post_preferring(0, [&pool, &ids, ran = ran_on.promise, done = posted.promise] {
        pool.post_preferring(
            0, [&ids, ran] { ran->set_value(ids.index_of(std::this_thread::get_id())); });
        done->set_value();
        std::this_thread::sleep_for(std::chrono::milliseconds(50)); // thread 1 is idle meanwhile
    });
    posted.future.wait();
    EXPECT_EQ(ran_on.future.get(), 0u);
}

TEST(thread_pool, every_task_runs_once_and_the_destructor_drains_the_queue) {
    std::atomic<int> ran{0};
    {
        thread_pool pool(2);
        for (int k = 0; k < 1000; ++k) {
            auto task = [&] { ran.fetch_add(1, std::memory_order_relaxed); };
            if (k % 3 == 0)
                pool.post(task);
            else
                pool.post_preferring(static_cast<std::size_t>(k % 2), task);
        }
    }
    EXPECT_EQ(ran.load(), 1000);
}

} // namespace
} // namespace compresstest
