// One client connection: glue between its socket, its worker's clock and a connection core.
#include "session.hpp"

#include "access_log.hpp"
#include "errors.hpp"
#include "routes.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/write.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <iostream>

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace compresstest {
namespace asio = boost::asio;
using action = connection::action;

session::session(socket_type socket, worker& w)
    : socket_(std::move(socket)), worker_(w), app_(w.application()),
      conn_(connection_limits::from(app_.cfg), worker::clock::now()) {
    worker_.add(this);
    app_.stats.add_connections(1);
    boost::system::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? "-" : remote.address().to_string();
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
}

session::~session() {
    release_body_reservation();
    worker_.remove(this);
    app_.stats.add_connections(-1);
}

void session::start() {
    do_next();
}

void session::do_next() {
    while (!closed_) {
        switch (conn_.next()) {
        case action::read:
            if (!reading_) do_read();
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
            if (writing_) return;
            if (write_now()) break; // written whole: go on at once
            return;
        case action::half_close: {
            boost::system::error_code ignored;
            socket_.shutdown(asio::socket_base::shutdown_send, ignored);
            conn_.on_half_closed(worker::clock::now());
            break;
        }
        case action::close:
            return close();
        }
    }
}

void session::do_read() {
    reading_ = true;
    socket_.async_read_some(conn_.input_space(), [self = shared_from_this()](
                                                     boost::system::error_code ec, std::size_t n) {
        self->reading_ = false;
        if (self->closed_) return;
        self->app_.stats.add_bytes_received(n);
        if (!ec)
            self->conn_.on_read(n, worker::clock::now());
        else if (ec != asio::error::operation_aborted) // aborted: see after_external_event
            self->conn_.on_eof();
        self->do_next();
    });
}

bool session::write_now() {
    // One send(2) on the spot: an answer that fits the socket's buffer (nearly all, /tiny
    // always) needs no composed operation and no trip of its completion through the scheduler.
    // MSG_DONTWAIT makes this one call non-blocking whatever Asio's backend does with the socket.
    // The raw system call skips libc's cancellation bookkeeping around send(2): nothing here uses
    // thread cancellation.
    const auto out = conn_.output();
    std::size_t n = 0;
    if (out.size() > 0) {
        const auto sent = ::syscall(SYS_sendto, socket_.native_handle(), out.data(), out.size(),
                                    MSG_DONTWAIT | MSG_NOSIGNAL, nullptr, 0);
        if (sent >= 0)
            n = static_cast<std::size_t>(sent);
        else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            close();
            return false;
        }
    }
    if (n < out.size()) {
        do_write(out + n);
        return false;
    }
    const auto now = worker::clock::now();
    if (conn_.on_written(now)) finish_exchange(now);
    return true;
}

void session::do_write(asio::const_buffer rest) {
    writing_ = true;
    asio::async_write(socket_, rest,
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                          self->writing_ = false;
                          if (self->closed_) return;
                          if (ec) return self->close();
                          const auto now = worker::clock::now();
                          if (self->conn_.on_written(now)) self->finish_exchange(now);
                          self->do_next();
                      });
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
        // Quick routes answer on this thread before handle_request returns (dispatch runs the
        // answer inline on the worker's own thread); reports answer from a compute thread, and
        // dispatch posts the answer back to this session's thread. The callback never holds
        // `this`: a compute thread reads no member of the session, and the answer finds the
        // session by a weak reference (self_while_handling_ keeps it until the answer).
        handle_request(
            app_, std::move(req), client_,
            [weak = weak_from_this(), ex = worker_.context().get_executor(), generation](reply r) {
                asio::dispatch(ex, [weak, generation, r = std::move(r)]() mutable {
                    if (auto self = weak.lock()) self->on_reply(generation, std::move(r));
                });
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
        // worker's registry. Its executor counts as work, so the worker's loop (and the worker)
        // outlives the notify's last post.
        self_while_streaming_ = shared_from_this();
        stream_->on_ready([weak = weak_from_this(),
                           ex = asio::prefer(worker_.context().get_executor(),
                                             asio::execution::outstanding_work.tracked)] {
            asio::post(ex, [weak] {
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
    if (next == action::close) return close();
    if (reading_ && next != action::read) {
        boost::system::error_code ignored;
        socket_.cancel(ignored); // the read completes with operation_aborted, then do_next
        return;
    }
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
    boost::system::error_code ec;
    socket_.shutdown(asio::socket_base::shutdown_both, ec);
    socket_.close(ec);
}

} // namespace compresstest
