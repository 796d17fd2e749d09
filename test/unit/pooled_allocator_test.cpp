// pooled_allocator: blocks come back to the thread that frees them, size classes are honoured,
// big blocks bypass the cache, and Beast header fields work with it.
#include "server/http.hpp"
#include "server/pooled_allocator.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

namespace compresstest {
namespace {

TEST(pooled_allocator, a_freed_block_is_reused_by_the_next_allocation_of_its_size_class) {
    pooled_allocator<char> a;
    char* p = a.allocate(100);
    std::memset(p, 'x', 100);
    a.deallocate(p, 100);
    char* q = a.allocate(70); // 65..128 bytes: the same class
    EXPECT_EQ(q, p);
    char* r = a.allocate(100); // the cache is empty again: a new block
    EXPECT_NE(r, q);
    a.deallocate(q, 70);
    a.deallocate(r, 100);
}

TEST(pooled_allocator, classes_are_separate_and_big_blocks_bypass_the_cache) {
    pooled_allocator<char> a;
    char* small = a.allocate(10);
    a.deallocate(small, 10);
    char* bigger = a.allocate(200); // another class: not the freed 64-byte block
    EXPECT_NE(bigger, small);
    std::memset(bigger, 0, 200);
    a.deallocate(bigger, 200);
    std::vector<char, pooled_allocator<char>> big(100'000, 'y'); // over 1 KiB: the heap
    EXPECT_EQ(big.back(), 'y');
}

TEST(pooled_allocator, a_block_freed_on_another_thread_joins_that_threads_cache) {
    pooled_allocator<int> a;
    int* p = a.allocate(8);
    p[7] = 42;
    int* reused = nullptr;
    std::thread t([&] {
        a.deallocate(p, 8);
        reused = a.allocate(8);
        a.deallocate(reused, 8);
    });
    t.join();
    EXPECT_EQ(reused, p);
}

TEST(pooled_allocator, beast_request_fields_use_it) {
    request req{http::verb::get, "/tiny", 11};
    for (int i = 0; i < 200; ++i) // more fields than one class's cache holds
        req.insert("X-Field-" + std::to_string(i), std::string(static_cast<std::size_t>(i), 'v'));
    request copy = req;
    EXPECT_EQ(copy.target(), "/tiny");
    EXPECT_EQ(copy["X-Field-199"], std::string(199, 'v'));
    req.clear();
    EXPECT_EQ(req.begin(), req.end());
    EXPECT_EQ(copy["X-Field-3"], "vvv");
}

} // namespace
} // namespace compresstest
