// The compute pool: every task runs once; a task that prefers a thread runs there while that
// thread is free, and elsewhere while it is busy.
#include "thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
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

TEST(thread_pool, a_preferring_task_runs_on_its_thread_while_that_thread_is_free) {
    worker_ids ids;
    thread_pool pool(2, [&](std::size_t i) {
        std::lock_guard lock(ids.mutex);
        ids.of[i] = std::this_thread::get_id();
    });
    for (std::size_t preferred : {0u, 1u})
        for (int k = 0; k < 50; ++k) {
            std::promise<std::size_t> ran_on;
            pool.post_preferring(
                preferred, [&] { ran_on.set_value(ids.index_of(std::this_thread::get_id())); });
            EXPECT_EQ(ran_on.get_future().get(), preferred) << "task " << k;
        }
}

TEST(thread_pool, a_preferring_task_goes_to_another_thread_while_its_own_is_busy) {
    worker_ids ids;
    thread_pool pool(2, [&](std::size_t i) {
        std::lock_guard lock(ids.mutex);
        ids.of[i] = std::this_thread::get_id();
    });
    // Keep thread 0 busy until the preferring task has run (past the grace time).
    std::promise<void> busy_started, release;
    auto released = release.get_future().share();
    pool.post_preferring(0, [&] {
        busy_started.set_value();
        released.wait();
    });
    busy_started.get_future().wait();
    std::promise<std::size_t> ran_on;
    pool.post_preferring(0, [&] { ran_on.set_value(ids.index_of(std::this_thread::get_id())); });
    auto f = ran_on.get_future();
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "the task waited for its busy thread";
    EXPECT_EQ(f.get(), 1u);
    release.set_value();
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
    std::promise<std::size_t> ran_on;
    std::promise<void> posted;
    pool.post_preferring(0, [&] {
        pool.post_preferring(0,
                             [&] { ran_on.set_value(ids.index_of(std::this_thread::get_id())); });
        posted.set_value();
        std::this_thread::sleep_for(std::chrono::milliseconds(50)); // thread 1 is idle meanwhile
    });
    posted.get_future().wait();
    EXPECT_EQ(ran_on.get_future().get(), 0u);
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
