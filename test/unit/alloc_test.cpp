// The TinySite path allocates nothing per request: a real worker on loopback answers GET /tiny
// on a keep-alive connection, and the count of operator new calls (every thread, this binary
// replaces the global operator new) does not grow with the number of requests answered.
// Its own executable, so the replacement touches no other test.
#include "server/app.hpp"
#include "server/worker.hpp"
#include "tinysite.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

namespace {
std::atomic<long> news{0};

void* counted(std::size_t n) {
    news.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* counted_aligned(std::size_t n, std::align_val_t a) {
    news.fetch_add(1, std::memory_order_relaxed);
    const auto align = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
    throw std::bad_alloc();
}
} // namespace

void* operator new(std::size_t n) {
    return counted(n);
}
void* operator new[](std::size_t n) {
    return counted(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted_aligned(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return counted_aligned(n, a);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    news.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
    return operator new(n, t);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}

namespace compresstest {
namespace {

// A blocking loopback client with fixed buffers: it allocates nothing per request itself.
class client {
public:
    explicit client(unsigned short port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~client() { ::close(fd_); }
    bool connected() const { return connected_; }

    // Sends REQUEST and reads exactly EXPECTED_NBYTES of answer; false on any shortfall or
    // if the answer differs from EXPECTED.
    bool exchange(std::string_view request, std::string_view expected) {
        if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size()))
            return false;
        std::size_t got = 0;
        while (got < expected.size()) {
            const ssize_t n =
                ::recv(fd_, buf_ + got, std::min(sizeof buf_ - got, expected.size() - got), 0);
            if (n <= 0) return false;
            got += static_cast<std::size_t>(n);
        }
        return std::memcmp(buf_, expected.data(), expected.size()) == 0;
    }

private:
    int fd_;
    bool connected_ = false;
    char buf_[4096];
};

TEST(allocation, keep_alive_tiny_requests_allocate_nothing_per_request) {
    config cfg;
    cfg.access_log = false;
    cfg.compute_threads = 1;
    app a(cfg);
    worker w(a, {boost::asio::ip::make_address("127.0.0.1"), 0});
    std::thread io([&] { w.run(); });

    {
        client c(w.local_endpoint().port());
        ASSERT_TRUE(c.connected());
        // What a browser-like client sends: several header fields, each one a Beast allocation
        // unless the fields' memory is recycled.
        constexpr std::string_view get =
            "GET /tiny HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: alloc-test/1.0\r\n"
            "Accept: text/html,application/xhtml+xml\r\nAccept-Encoding: gzip, deflate\r\n"
            "Accept-Language: en\r\n\r\n";
        const std::string_view tiny = tinysite::get_response();
        for (int i = 0; i < 200; ++i) // warm-up: first-use caches, the first sweep timer
            ASSERT_TRUE(c.exchange(get, tiny)) << i;

        const long before = news.load();
        constexpr int n = 5000;
        for (int i = 0; i < n; ++i)
            ASSERT_TRUE(c.exchange(get, tiny)) << i;
        const long during = news.load() - before;
        // Not one allocation per request: allow a handful for the sweep timer's rare growth.
        EXPECT_LT(during, 10) << during << " operator new calls for " << n << " requests";
    }
    w.stop();
    io.join();
}

} // namespace
} // namespace compresstest
