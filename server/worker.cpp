// One I/O worker: its own io_context, SO_REUSEPORT acceptor, session registry and deadline sweep.
#include "worker.hpp"

#include "session.hpp"

#include <boost/asio/post.hpp>

#include <unistd.h>

#include <vector>

namespace compresstest {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr std::size_t log_flush_nbytes = 64 * 1024;
}

worker::worker(app& a, const tcp::endpoint& ep) : app_(a), acceptor_(ioc_), sweep_timer_(ioc_) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    const int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

worker::~worker() {
    flush_log();
}

void worker::run() {
    do_accept();
    do_sweep();
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
    if (draining_ && sessions_.empty()) return; // nothing left: let run() return
    sweep_timer_.expires_after(app_.cfg.timer_resolution);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) do_sweep();
    });
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
