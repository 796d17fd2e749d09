// One I/O worker: its own event loop, SO_REUSEPORT listener, session registry and deadline sweep.
#pragma once

#include "app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace compresstest {

class session;

// Each worker runs on exactly one thread, so its registry, clock and log buffer need no locks;
// other threads only post() to it. Every worker binds its own listener to the same address
// (SO_REUSEPORT) and the kernel spreads connections across them.
//
// The thread waits in one epoll instance of its own: the listener, every session's socket
// (edge-triggered, added once for the socket's life) and an eventfd that other threads' posts
// ring. One epoll_wait serves every connection that became ready, and a session that read less
// than it had room for knows the socket is drained (the kernel reports the next arrival as a
// new edge), so it waits without the read that would find nothing. Asio builds the listener;
// its reactor would cost, per wake, its own wait plus a re-arm of whatever it watches.
class worker {
public:
    using clock = std::chrono::steady_clock;
    using task = std::function<void()>;

    worker(app& a, const boost::asio::ip::tcp::endpoint& ep);
    ~worker();

    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void run(); // on this worker's thread, until drained or stopped

    // Thread-safe. Closes the listener; idle connections close now, the others after their
    // answer; run() returns when none is left (and nothing held, below, is outstanding).
    void begin_drain();
    void stop(); // thread-safe: run() returns at its next turn, whatever is open

    // Thread-safe: fn runs on this worker's thread, after the events in hand.
    void post(task fn);
    // While the returned handle (or a copy) lives, run() does not return: for a producer on
    // another thread that will still post. Thread-safe.
    std::shared_ptr<void> hold();

    // For sessions (same thread).
    app& application() { return app_; }
    bool on_this_thread() const { return std::this_thread::get_id() == thread_; }
    clock::time_point now() const { return now_; } // updated every timer_resolution
    bool draining() const { return draining_; }
    void add(session* s) { sessions_.insert(s); }
    // Puts fd in the readiness set; its events go to s->on_events() until fd is closed. False
    // (errno set) if the kernel refused.
    bool watch(int fd, session* s);
    void remove(session* s);
    // fn runs after the events in hand, before the thread waits again (a session's next turn).
    void defer(task fn) { deferred_.push_back(std::move(fn)); }
    void log_line(std::string_view line);

private:
    void on_listener();
    void listen_for(std::uint32_t events); // EPOLLIN to accept, 0 to pause
    void do_sweep(clock::time_point t);
    void run_deferred();
    void run_posted();
    bool finished(); // drained: no session, no post, no hold left
    void flush_log();

    app& app_;
    // Only for the listener's Asio object (bind, listen, errors that say what went wrong); it is
    // never run: the listener's readiness comes from this worker's own set.
    boost::asio::io_context ioc_{1};
    boost::asio::ip::tcp::acceptor acceptor_;
    int epoll_fd_ = -1;
    int wake_fd_ = -1; // eventfd: other threads' posts and holds' ends
    std::thread::id thread_;
    clock::time_point now_ = clock::now();
    clock::time_point next_sweep_ = now_;
    bool draining_ = false;
    bool listening_ = true; // false while accepting is paused (out of descriptors or memory)
    bool stopped_ = false;  // this thread's copy of stop_requested_
    std::unordered_set<session*> sessions_;
    std::vector<task> deferred_, deferred_running_;
    std::string log_buffer_;

    // Shared with other threads.
    std::mutex mutex_;
    std::vector<task> posted_;    // guarded by mutex_
    std::size_t holds_ = 0;       // guarded by mutex_
    bool wake_pending_ = false;   // guarded by mutex_: wake_fd_ rung and not yet read
    bool stop_requested_ = false; // guarded by mutex_
    void ring(std::unique_lock<std::mutex>& lock);
};

} // namespace compresstest
