// One I/O worker: its own io_context, SO_REUSEPORT acceptor, session registry and deadline sweep.
#pragma once

#include "app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
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
    void remove(session* s);
    void log_line(std::string_view line);

private:
    void do_accept();
    void do_sweep();
    void flush_log();

    app& app_;
    boost::asio::io_context ioc_{1};
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer sweep_timer_;
    clock::time_point now_ = clock::now();
    bool draining_ = false;
    std::unordered_set<session*> sessions_;
    std::string log_buffer_;
};

} // namespace compresstest
