// One I/O worker: its own event loop, SO_REUSEPORT listener, session registry and deadline sweep.
#include "worker.hpp"

#include "session.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

namespace compresstest {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::size_t log_flush_nbytes = 64 * 1024;
constexpr int readiness_batch = 64;  // events taken per epoll_wait; the rest wait for the next
constexpr int accepts_per_wake = 16; // then the sessions ready meanwhile go first
// Tags of the set's two descriptors that are not sessions (a session's tag is its address).
char listener_tag, wake_tag;

[[noreturn]] void fail(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}
} // namespace

worker::worker(app& a, const tcp::endpoint& ep) : app_(a), acceptor_(ioc_) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    const int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        fail("SO_REUSEPORT");
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    acceptor_.non_blocking(true);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) fail("epoll_create1");
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) {
        ::close(epoll_fd_);
        fail("eventfd");
    }
    // Both level-triggered: the listener so that connections left after a wake's share are
    // reported again, the eventfd until it is read.
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &wake_tag;
    epoll_event lev{};
    lev.events = EPOLLIN;
    lev.data.ptr = &listener_tag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0 ||
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, acceptor_.native_handle(), &lev) != 0) {
        ::close(wake_fd_);
        ::close(epoll_fd_);
        fail("epoll_ctl");
    }
}

worker::~worker() {
    // After a stop (not a drain) sessions may still be open, each holding itself: close them,
    // and run what that defers (the sessions' last references among it) while the registry they
    // leave is still here. Posts still queued hold only weak references: they are dropped.
    std::vector<std::shared_ptr<session>> open;
    for (session* s : sessions_)
        open.push_back(s->shared_from_this());
    for (auto& s : open)
        s->close();
    open.clear();
    while (!deferred_.empty())
        run_deferred();
    {
        std::lock_guard lock(mutex_);
        posted_.clear();
    }
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    ::close(wake_fd_);
    ::close(epoll_fd_);
    flush_log();
}

void worker::run() {
    thread_ = std::this_thread::get_id();
    epoll_event events[readiness_batch];
    for (;;) {
        run_deferred();
        const auto t = clock::now(); // one clock read per wake
        if (t >= next_sweep_) do_sweep(t);
        if (stopped_ || finished()) break;
        int timeout_ms = 0; // deferred tasks run after whatever is ready now
        if (deferred_.empty())
            timeout_ms = static_cast<int>(
                std::chrono::ceil<std::chrono::milliseconds>(next_sweep_ - t).count());
        const int n = ::epoll_wait(epoll_fd_, events, readiness_batch, timeout_ms);
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        // A session stays alive while its socket is in the set (it lets go of itself only in a
        // deferred task, after closing the socket), and only its own events close it, so every
        // pointer in this batch is valid.
        for (int i = 0; i < n; ++i) {
            void* tag = events[i].data.ptr;
            if (tag == &wake_tag)
                run_posted();
            else if (tag == &listener_tag)
                on_listener();
            else
                static_cast<session*>(tag)->on_events(events[i].events);
        }
    }
    flush_log();
}

bool worker::finished() {
    if (!draining_ || !sessions_.empty() || !deferred_.empty()) return false;
    // Under the lock: once nothing is queued or held, no other thread can post again.
    std::lock_guard lock(mutex_);
    return posted_.empty() && holds_ == 0;
}

void worker::run_deferred() {
    // Tasks deferred while these run wait for the next turn, after the next wait's events.
    deferred_running_.swap(deferred_);
    for (auto& fn : deferred_running_)
        fn();
    deferred_running_.clear();
}

void worker::run_posted() {
    std::vector<task> batch;
    {
        std::lock_guard lock(mutex_);
        std::uint64_t count;
        [[maybe_unused]] const auto got = ::read(wake_fd_, &count, sizeof count);
        wake_pending_ = false;
        batch.swap(posted_);
        stopped_ = stop_requested_;
    }
    for (auto& fn : batch)
        fn();
}

void worker::ring(std::unique_lock<std::mutex>& lock) {
    // Under the lock, so that the worker cannot have finished (and closed the eventfd) between
    // the queueing and the ring.
    if (!wake_pending_) {
        wake_pending_ = true;
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto put = ::write(wake_fd_, &one, sizeof one);
    }
    lock.unlock();
}

void worker::post(task fn) {
    std::unique_lock lock(mutex_);
    posted_.push_back(std::move(fn));
    ring(lock);
}

std::shared_ptr<void> worker::hold() {
    {
        std::lock_guard lock(mutex_);
        ++holds_;
    }
    return std::shared_ptr<void>(this, [](void* p) {
        auto* w = static_cast<worker*>(p);
        std::unique_lock lock(w->mutex_);
        --w->holds_;
        w->ring(lock); // the worker may be waiting only for this to finish
    });
}

void worker::stop() {
    std::unique_lock lock(mutex_);
    stop_requested_ = true;
    ring(lock);
}

void worker::on_listener() {
    for (int i = 0; i < accepts_per_wake && listening_; ++i) {
        const int fd =
            ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                // The listener stays readable, and trying again at once would spin: pause
                // accepting until the next sweep (connections wait in the backlog meanwhile).
                listen_for(0);
                return;
            }
            continue; // the connection went away before it was accepted (ECONNABORTED, ...)
        }
        if (app_.stats.connections() >= static_cast<std::int64_t>(app_.cfg.max_connections)) {
            ::close(fd); // over the cap: refuse rather than degrade everyone
            continue;
        }
        std::make_shared<session>(fd, *this)->start();
    }
}

void worker::listen_for(std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = &listener_tag;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, acceptor_.native_handle(), &ev) == 0)
        listening_ = events != 0;
}

void worker::do_sweep(clock::time_point t) {
    now_ = t;
    next_sweep_ = now_ + app_.cfg.timer_resolution;
    if (!listening_ && !draining_) listen_for(EPOLLIN);
    // Collect first: a session may close (and so leave the registry) while we look.
    std::vector<std::shared_ptr<session>> expired;
    for (session* s : sessions_)
        if (s->expired(now_)) expired.push_back(s->shared_from_this());
    for (auto& s : expired)
        s->on_deadline();
    if (!log_buffer_.empty()) flush_log();
}

bool worker::watch(int fd, session* s) {
    // Edge-triggered, once for the socket's life: no epoll_ctl after this. Closing the socket
    // takes it out of the set.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = s;
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void worker::begin_drain() {
    post([this] {
        draining_ = true;
        listening_ = false;
        boost::system::error_code ignored;
        acceptor_.close(ignored); // which takes it out of the set
        std::vector<std::shared_ptr<session>> all;
        for (session* s : sessions_)
            all.push_back(s->shared_from_this());
        for (auto& s : all)
            s->begin_drain();
    });
}

void worker::remove(session* s) {
    sessions_.erase(s);
}

void worker::log_line(std::string_view line) {
    log_buffer_ += line;
    if (log_buffer_.size() >= log_flush_nbytes) flush_log();
}

void worker::flush_log() {
    // One write(2) per batch keeps lines whole across threads (stdout is a pipe or file).
    std::size_t off = 0;
    while (off < log_buffer_.size()) {
        const ssize_t n =
            ::write(STDOUT_FILENO, log_buffer_.data() + off, log_buffer_.size() - off);
        if (n <= 0) { // logging must never take the server down (SIGPIPE is ignored)
            app_.stats.add_log_write_failure();
            break;
        }
        off += static_cast<std::size_t>(n);
    }
    log_buffer_.clear();
}

} // namespace compresstest
