// One I/O worker: its own io_context, SO_REUSEPORT acceptor, session registry and deadline sweep.
#include "worker.hpp"

#include "session.hpp"

#include <boost/asio/post.hpp>

#include <sys/epoll.h>
#include <unistd.h>

#include <system_error>

#include <vector>

namespace compresstest {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::size_t log_flush_nbytes = 64 * 1024;
constexpr int readiness_batch = 64; // events taken per epoll_wait; the rest wait for the next

int new_epoll() {
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    return fd;
}
} // namespace

worker::worker(app& a, const tcp::endpoint& ep)
    : app_(a), acceptor_(ioc_), sweep_timer_(ioc_), readiness_(ioc_, new_epoll()) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    const int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

worker::~worker() {
    // After a stop (not a drain) sessions may still be open, each holding itself: close them,
    // end the worker's own waits, and run what that posts (the sessions' last references among
    // it) while the registry they leave is still here.
    std::vector<std::shared_ptr<session>> open;
    for (session* s : sessions_)
        open.push_back(s->shared_from_this());
    for (auto& s : open)
        s->close();
    open.clear();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    sweep_timer_.cancel();
    readiness_.close(ignored);
    ioc_.restart();
    ioc_.poll();
    flush_log();
}

void worker::run() {
    do_accept();
    do_sweep();
    await_readiness();
    ioc_.run();
    flush_log();
}

void worker::do_accept() {
    acceptor_.async_accept(ioc_, [this](boost::system::error_code ec, session::socket_type socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (!ec) {
            if (app_.stats.connections() >= static_cast<std::int64_t>(app_.cfg.max_connections)) {
                boost::system::error_code ignored;
                socket.close(ignored); // over the cap: refuse rather than degrade everyone
            } else {
                std::make_shared<session>(std::move(socket), *this)->start();
            }
        }
        do_accept();
    });
}

void worker::do_sweep() {
    now_ = clock::now();
    // Collect first: a session may close (and so leave the registry) while we look.
    std::vector<std::shared_ptr<session>> expired;
    for (session* s : sessions_)
        if (s->expired(now_)) expired.push_back(s->shared_from_this());
    for (auto& s : expired)
        s->on_deadline();
    if (!log_buffer_.empty()) flush_log();
    if (draining_ && sessions_.empty()) { // nothing left: let run() return
        boost::system::error_code ignored;
        readiness_.cancel(ignored);
        return;
    }
    sweep_timer_.expires_after(app_.cfg.timer_resolution);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) do_sweep();
    });
}

bool worker::watch(int fd, session* s) {
    // Edge-triggered, once for the socket's life: no epoll_ctl after this. Closing the socket
    // takes it out of the set.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = s;
    return ::epoll_ctl(readiness_.native_handle(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

void worker::await_readiness() {
    readiness_.async_wait(asio::posix::descriptor_base::wait_read,
                          [this](boost::system::error_code ec) {
                              if (!ec) on_readiness();
                          });
}

void worker::on_readiness() {
    epoll_event events[readiness_batch];
    const int n = ::epoll_wait(readiness_.native_handle(), events, readiness_batch, 0);
    // A session stays alive while its socket is in the set (it lets go of itself only in a
    // later handler, after closing the socket), and only its own events close it, so every
    // pointer in this batch is valid.
    for (int i = 0; i < n; ++i)
        static_cast<session*>(events[i].data.ptr)->on_events(events[i].events);
    await_readiness();
}

void worker::begin_drain() {
    asio::post(ioc_, [this] {
        draining_ = true;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
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
