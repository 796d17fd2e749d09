// One client connection: glue between its socket, its worker's clock and a connection core.
#include "session.hpp"

#include "access_log.hpp"
#include "errors.hpp"
#include "routes.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <iostream>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace compresstest {
namespace asio = boost::asio;
using action = connection::action;

namespace {
// Reads in a row before a session lets the others on its thread go first: one, as Asio's reactor
// gave (one read per handler). A plain request needs one; an upload posts after each 64 KiB.
// With 4 in a row (256 KiB), /tiny p99 beside 3 MiB uploads was 2.14x its idle p99 in a bench
// run, 1.04x with one.
constexpr unsigned reads_per_turn = 1;
} // namespace

session::session(int fd, worker& w)
    : fd_(fd), worker_(w), app_(w.application()),
      conn_(connection_limits::from(app_.cfg), worker::clock::now()) {
    worker_.add(this);
    app_.stats.add_connections(1);
    asio::ip::tcp::endpoint remote;
    socklen_t len = static_cast<socklen_t>(remote.capacity());
    if (::getpeername(fd_, remote.data(), &len) == 0) {
        remote.resize(len);
        peer_ = remote.address().to_string();
    } else {
        peer_ = "-";
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

session::~session() {
    if (fd_ >= 0) ::close(fd_); // only if start() never ran
    release_body_reservation();
    worker_.remove(this);
    app_.stats.add_connections(-1);
}

void session::start() {
    self_while_open_ = shared_from_this();
    if (fd_ < 0 || !worker_.watch(fd_, this)) return close();
    do_next();
}

void session::on_events(std::uint32_t events) {
    reads_in_turn_ = 0;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) eof_pending_ = true;
    if (events & EPOLLPRI) urgent_seen_ = true;
    if (events & (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable_ = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) writable_ = true;
    if (closed_) return;
    // A reset (or both ways shut) while a report streams: nobody will read the rest. Stop it
    // now rather than at the write after next, which would start another entry meanwhile.
    if (stream_ && (events & (EPOLLHUP | EPOLLERR))) return close();
    if ((reading_ && readable_) || (writing_ && writable_)) {
        reading_ = writing_ = false; // the wait is over: do_next reads or writes now
        do_next();
    }
}

void session::do_next() {
    while (!closed_) {
        switch (conn_.next()) {
        case action::read:
            if (reading_) return; // waiting for the socket
            if (read_now()) break;
            if (drained_while_lingering()) return close();
            return;
        case action::check_head:
            check_head(worker::clock::now());
            break;
        case action::dispatch:
            dispatch();
            break;
        case action::wait:
            if (stream_ && pump_stream()) break;
            return;
        case action::write:
            if (writing_) return;   // waiting for the socket
            if (write_now()) break; // written whole: go on at once
            return;
        case action::half_close: {
            ::shutdown(fd_, SHUT_WR);
            conn_.on_half_closed(worker::clock::now(), conn_.draining() && unread_input());
            break;
        }
        case action::close:
            return close();
        }
    }
}

bool session::read_now() {
    if (!readable_) {
        reading_ = true;
        return false;
    }
    if (++reads_in_turn_ > reads_per_turn) { // the rest after the others ready now
        reading_ = true;
        worker_.defer([self = shared_from_this()] { self->on_turn(); });
        return false;
    }
    const auto space = conn_.input_space();
    if (space.size() == 0) { // the core always leaves room (a full head is a 431): never spin
        conn_.on_eof();
        return true;
    }
    // The raw system call skips libc's cancellation bookkeeping around recv(2): nothing here
    // uses thread cancellation.
    const auto got =
        ::syscall(SYS_recvfrom, fd_, space.data(), space.size(), MSG_DONTWAIT, nullptr, nullptr);
    if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            readable_ = false;
            reading_ = true;
            return false;
        }
        if (errno != EINTR) conn_.on_eof(); // a reset or error ends the stream like its end
        return true;
    }
    const auto n = static_cast<std::size_t>(got);
    app_.stats.add_bytes_received(n);
    if (n == 0) {
        conn_.on_eof();
        return true;
    }
    // Less than there was room for: the socket is drained, and the next bytes (or the end of
    // the stream) to arrive are a new edge in the readiness set. Unless the set has already
    // reported the end, which no edge will announce again (nginx's rule with EPOLLRDHUP), or
    // urgent data came, whose mark stops a read short with more queued.
    if (n < space.size() && !eof_pending_ && !urgent_seen_) readable_ = false;
    conn_.on_read(n, worker::clock::now());
    return true;
}

bool session::drained_while_lingering() const {
    // Everything the client had sent is read and discarded: during a drain, a close now sends
    // no reset, and waiting for the client's end would hold the drain up.
    return !readable_ && conn_.draining() && conn_.lingering();
}

bool session::unread_input() const {
    int n = 0;
    return ::ioctl(fd_, FIONREAD, &n) == 0 && n > 0;
}

void session::on_turn() {
    reads_in_turn_ = 0;
    if (closed_ || !reading_) return; // an event or a deadline came first
    reading_ = false;
    do_next();
}

bool session::write_now() {
    // send(2) on the spot: an answer that fits the socket's buffer (nearly all, /tiny always) goes
    // out in one call. Only a send that would block waits, for the readiness set's next edge.
    // MSG_DONTWAIT makes each call non-blocking whatever the descriptor's flags; the raw system
    // call skips libc's cancellation bookkeeping around send(2).
    const auto out = conn_.output();
    while (written_nbytes_ < out.size()) {
        if (!writable_) {
            writing_ = true;
            return false;
        }
        const auto sent =
            ::syscall(SYS_sendto, fd_, static_cast<const char*>(out.data()) + written_nbytes_,
                      out.size() - written_nbytes_, MSG_DONTWAIT | MSG_NOSIGNAL, nullptr, 0);
        if (sent >= 0)
            written_nbytes_ += static_cast<std::size_t>(sent);
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            writable_ = false;
        else if (errno != EINTR) {
            close();
            return false;
        }
    }
    written_nbytes_ = 0;
    const auto now = worker::clock::now();
    if (conn_.on_written(now)) finish_exchange(now);
    return true;
}

void session::check_head(worker::clock::time_point now) {
    const auto& h = conn_.head();
    route_ = classify(h.method(), h.target());
    client_ = client_key(app_.cfg, peer_, h);
    if (auto e = refusal_from_headers(app_, h, client_)) {
        if (e->kind == error_kind::overloaded || e->kind == error_kind::too_many_requests)
            app_.stats.add_rejected();
        return conn_.refuse(*e, now);
    }
    // A body is coming: reserve its memory before reading a byte of it, so that many uploads at
    // once get 503 rather than the process's memory.
    if (const std::size_t want = conn_.expected_body_nbytes(); want > 0) {
        if (!app_.try_reserve_body(want)) {
            app_.stats.add_rejected();
            return conn_.refuse(
                {error_kind::overloaded, "the server is receiving too many uploads; retry shortly"},
                now);
        }
        body_reserved_nbytes_ = want;
    }
    conn_.accept_head(now);
}

void session::dispatch() {
    request req = conn_.take_request();
    app_.stats.add_in_flight(1);
    dispatched_ = true;
    self_while_handling_ = shared_from_this();
    const std::uint64_t generation = ++generation_;
    in_dispatch_ = true;
    try {
        // Quick routes answer on this thread before handle_request returns (the callback runs the
        // answer inline on the worker's own thread); reports answer from a compute thread, and
        // the callback posts the answer back to this session's thread. It never holds
        // `this`: a compute thread reads no member of the session, and the answer finds the
        // session by a weak reference (self_while_handling_ keeps it until the answer).
        handle_request(app_, std::move(req), client_,
                       [weak = weak_from_this(), w = &worker_, generation](reply r) {
                           auto deliver = [weak, generation, r = std::move(r)]() mutable {
                               if (auto self = weak.lock())
                                   self->on_reply(generation, std::move(r));
                           };
                           // The session is registered until this arrives, so the worker is
                           // still there.
                           if (w->on_this_thread())
                               deliver();
                           else
                               w->post(std::move(deliver));
                       });
    } catch (const std::exception& ex) {
        std::cerr << fmt::format("compresstest: {} {}: {}\n",
                                 conn_.last_exchange().request_method(),
                                 conn_.last_exchange().request_target(), ex.what());
        on_reply(generation, {error_response({error_kind::internal, "the server failed"}, 11,
                                             app_.cfg.retry_after_s),
                              {}});
    }
    in_dispatch_ = false;
}

void session::on_reply(std::uint64_t generation, reply r) {
    if (generation != generation_ || !self_while_handling_) return; // answered already
    ++generation_;
    auto keep = std::move(self_while_handling_); // the pending write keeps the session from now
    if (r.stream) {
        stream_ = r.stream;
        // The session holds itself until the stream has finished, so a drain waits for the
        // producer even after the client went away, and lets go on this thread. The notify,
        // which the producer drops on its own thread, holds only a weak reference: a session
        // never ends on a compute thread, where its destructor would race this thread for the
        // worker's registry. It holds the worker too (worker::hold), so the worker's loop (and the
        // worker) outlives the notify's last post.
        self_while_streaming_ = shared_from_this();
        stream_->on_ready([weak = weak_from_this(), w = &worker_, held = worker_.hold()] {
            w->post([weak] {
                if (auto self = weak.lock()) self->on_stream_ready();
            });
        });
    }
    conn_.on_reply(std::move(r), worker::clock::now());
    if (!in_dispatch_) do_next(); // synchronous replies continue do_next's loop instead
}

void session::on_stream_ready() {
    if (!closed_) {
        if (pump_stream()) do_next();
        return;
    }
    // Nobody is left to write to: the finish lets the session go (the posted notify's reference
    // is still held).
    const auto keep = drop_finished_stream();
}

std::shared_ptr<session> session::drop_finished_stream() {
    stream_piece_.clear(); // what arrived is dropped: nobody is left to write it to
    if (!stream_ || !stream_->drain(stream_piece_)) return nullptr;
    stream_.reset();
    return std::move(self_while_streaming_);
}

bool session::pump_stream() {
    if (!stream_ || !conn_.streaming()) return false; // a write under way: do_next pumps after
    stream_piece_.clear();
    const bool last = stream_->drain(stream_piece_);
    if (stream_piece_.empty() && !last) return false;
    if (last) {
        stream_.reset();
        // Callers hold a reference of their own (a handler's or the posted notify's), so this
        // is never the last one.
        self_while_streaming_.reset();
    }
    conn_.on_stream_data(stream_piece_, last, worker::clock::now());
    return true;
}

void session::finish_exchange(worker::clock::time_point now) {
    const auto& x = conn_.last_exchange();
    if (dispatched_) app_.stats.add_in_flight(-1);
    dispatched_ = false;
    release_body_reservation(); // answered: the body is no longer needed
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - x.started);
    for (unsigned i = 0; i < x.answers; ++i) { // pipelined plain GET /tiny: one line each
        app_.stats.record(x.tiny ? route_id::tiny : route_, x.status, elapsed);
        if (app_.cfg.access_log)
            worker_.log_line(access_log_line(peer_, x.request_method(), x.request_target(),
                                             x.status, x.nbytes_sent / x.answers, elapsed));
    }
    route_ = route_id::other;
}

void session::release_body_reservation() {
    app_.release_body(body_reserved_nbytes_);
    body_reserved_nbytes_ = 0;
}

void session::on_deadline() {
    conn_.on_timeout(worker_.now());
    after_external_event();
}

void session::begin_drain() {
    conn_.begin_drain();
    after_external_event();
}

void session::after_external_event() {
    if (closed_) return;
    const action next = conn_.next();
    if (next == action::close || drained_while_lingering()) return close();
    if (reading_ && next != action::read) reading_ = false; // the wait's purpose is gone
    if (!reading_ && !writing_) do_next();
}

void session::close() {
    if (closed_) return;
    closed_ = true;
    if (stream_) stream_->abandon(); // the report behind it stops; its finish ends the session
    // Unless it has finished already (its last piece waited behind a write that failed); the
    // reference goes when close() is done with the members.
    const auto keep = drop_finished_stream();
    if (dispatched_) app_.stats.add_in_flight(-1);
    dispatched_ = false;
    reading_ = writing_ = false;
    if (fd_ >= 0) {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_); // which takes it out of the readiness set
        fd_ = -1;
    }
    // The session lets go of itself in a later handler: whoever called close() (a batch of the
    // readiness set's events, a member function) may still use it.
    if (self_while_open_) worker_.defer([keep = std::move(self_while_open_)] {});
}

} // namespace compresstest
