// One I/O worker: its own io_context, SO_REUSEPORT acceptor, session registry and deadline sweep.
#pragma once

#include "app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_set>

namespace compresstest {

class session;

// Each worker runs on exactly one thread, so its registry, clock and log buffer need no
// locks; other threads only post() to its io_context. Every worker binds its own acceptor
// to the same address (SO_REUSEPORT) and the kernel spreads connections across them.
//
// Its sessions' sockets are not Asio's: each is in the worker's own readiness set, an
// edge-triggered epoll instance that sits in Asio's loop as one descriptor. One wake of that
// descriptor serves every connection that became ready, and a session that read less than it
// had room for knows the socket is drained (the kernel reports the next arrival as a new edge),
// so it waits without the read that would find nothing. Asio's own reactor retries that read
// after every answer (it counts a socket exhausted only at end of stream).
class worker {
public:
    using clock = std::chrono::steady_clock;

    worker(app& a, const boost::asio::ip::tcp::endpoint& ep);
    ~worker();

    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void run(); // on this worker's thread, until drained or stopped

    // Thread-safe: posted to the worker's thread. Closes the acceptor; idle connections close
    // now, the others after their answer; run() returns when none is left.
    void begin_drain();
    void stop() { ioc_.stop(); }

    // For sessions (same thread).
    app& application() { return app_; }
    boost::asio::io_context& context() { return ioc_; }
    clock::time_point now() const { return now_; } // updated every timer_resolution
    bool draining() const { return draining_; }
    void add(session* s) { sessions_.insert(s); }
    // Puts fd in the readiness set; its events go to s->on_events() until fd is closed. False
    // (errno set) if the kernel refused.
    bool watch(int fd, session* s);
    void remove(session* s);
    void log_line(std::string_view line);

private:
    void do_accept();
    void do_sweep();
    void await_readiness();
    void on_readiness();
    void flush_log();

    app& app_;
    // One thread runs it, and every socket operation (read, write, cancel, close) happens on that
    // thread: other threads only post. So the reactor's per-socket locking has nothing to guard,
    // and the hint turns it off; the scheduler keeps its lock, which those posts need.
    boost::asio::io_context ioc_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer sweep_timer_;
    boost::asio::posix::stream_descriptor readiness_; // the epoll instance of the sessions' sockets
    clock::time_point now_ = clock::now();
    bool draining_ = false;
    std::unordered_set<session*> sessions_;
    std::string log_buffer_;
};

} // namespace compresstest
