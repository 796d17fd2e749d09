// One client connection: read a request, answer it through handle_request, repeat.
#include "session.hpp"

#include "errors.hpp"
#include "routes.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace compresstest {
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

bool expects_continue(const request& req) {
    auto it = req.find(http::field::expect);
    if (it == req.end()) return false;
    const auto v = it->value();
    return v.size() == 12 && beast::iequals(v, "100-continue");
}

// Request targets go into the log as printable ASCII only, so a line is always one line.
std::string printable(std::string_view s, std::size_t max_nbytes) {
    std::string out;
    for (char c : s.substr(0, max_nbytes))
        out += (c > 0x20 && c < 0x7f) ? c : '?';
    return out;
}

// What Beast accepts but RFC 9112 makes a server refuse, because another hop could frame or
// route the same bytes differently (request smuggling): a Host count other than one in HTTP/1.1
// (§3.2), a Transfer-Encoding other than exactly "chunked" (§6.3: chunked not final leaves no
// reliable length; unknown codings are not decoded), any Transfer-Encoding in HTTP/1.0 (§6.1).
std::optional<error> framing_error(const request& req) {
    if (req.version() >= 11 && req.count(http::field::host) != 1)
        return error{error_kind::bad_request, "send exactly one Host header"};
    if (auto te = req.find(http::field::transfer_encoding); te != req.end())
        if (req.version() < 11 || !beast::iequals(te->value(), "chunked"))
            return error{error_kind::bad_request,
                         "Transfer-Encoding must be \"chunked\" alone, in HTTP/1.1; or send "
                         "Content-Length"};
    return std::nullopt;
}

// RFC 9112 §3.2.2: a server MUST accept the absolute-form; route it by its path and query.
// False for a target that is neither origin-form, "*", nor an http(s) URI.
bool to_origin_form(request& req) {
    const auto target = req.target();
    if (target.starts_with('/') || target == "*") return true;
    auto uri = boost::urls::parse_absolute_uri(target);
    if (!uri || (uri->scheme_id() != boost::urls::scheme::http &&
                 uri->scheme_id() != boost::urls::scheme::https))
        return false;
    std::string origin = uri->encoded_path().empty() ? "/" : std::string(uri->encoded_path());
    if (uri->has_query()) origin += "?" + std::string(uri->encoded_query());
    req.target(origin);
    return true;
}

} // namespace

session::session(asio::ip::tcp::socket socket, worker& w)
    : socket_(std::move(socket)), worker_(w), app_(w.application()) {
    worker_.add(this);
    app_.stats.add_connections(1);
    beast::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    client_ = ec ? "-" : remote.address().to_string();
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    thread_id_ = std::this_thread::get_id();
}

session::~session() {
    release_body_reservation();
    worker_.remove(this);
    app_.stats.add_connections(-1);
}

void session::start() {
    // A new connection gets the header timeout to send its first byte, not the longer
    // keep-alive allowance.
    phase_ = phase::idle;
    set_deadline(app_.cfg.header_timeout);
    socket_.async_wait(asio::socket_base::wait_read,
                       [self = shared_from_this()](beast::error_code ec) {
                           if (ec) return self->close();
                           self->do_read_header();
                       });
}

void session::set_deadline(milliseconds timeout) {
    deadline_ = worker_.now() + timeout;
}

void session::on_deadline() {
    timed_out_ = true;
    if (phase_ == phase::idle || phase_ == phase::writing) return close();
    beast::error_code ec;
    socket_.cancel(ec); // the pending read completes with operation_aborted
    deadline_ = worker::clock::time_point::max();
}

void session::close_if_idle() {
    if (phase_ == phase::idle ||
        (phase_ == phase::header && parser_ && !parser_->got_some() && buffer_.size() == 0))
        close();
}

void session::close() {
    if (phase_ == phase::closed) return;
    phase_ = phase::closed;
    deadline_ = worker::clock::time_point::max();
    beast::error_code ec;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    socket_.close(ec);
}

void session::do_wait_request() {
    if (worker_.draining()) return close();
    if (buffer_.size() > 0) return do_read_header(); // pipelined request already here
    phase_ = phase::idle;
    set_deadline(app_.cfg.idle_timeout);
    socket_.async_wait(asio::socket_base::wait_read,
                       [self = shared_from_this()](beast::error_code ec) {
                           if (ec) return self->close();
                           self->do_read_header();
                       });
}

void session::do_read_header() {
    if (phase_ == phase::closed) return;
    phase_ = phase::header;
    set_deadline(app_.cfg.header_timeout);
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(app_.cfg.max_header_nbytes));
    parser_->body_limit(app_.cfg.max_body_nbytes);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                self->on_header(ec, n);
                            });
}

void session::on_header(beast::error_code ec, std::size_t nbytes) {
    app_.stats.add_bytes_received(nbytes);
    started_ = worker::clock::now();
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset)
        return close();
    if (timed_out_)
        return fail_request(
            {error_kind::timeout, "the request headers took too long; "
                                  "send them within " +
                                      std::to_string(app_.cfg.header_timeout.count()) + " ms"});
    if (ec == http::error::body_limit) {
        // Content-Length alone is over the limit: the headers are parsed, so check_headers
        // words the answer, and no body byte is read.
        auto e = check_headers(app_, parser_->get());
        return fail_request(e ? *e : error{error_kind::too_large, "the body is too large"});
    }
    if (ec == http::error::header_limit)
        return fail_request({error_kind::headers_too_large,
                             "the request line and headers are over " +
                                 std::to_string(app_.cfg.max_header_nbytes) + " bytes"});
    if (ec) return fail_request({error_kind::bad_request, "malformed request: " + ec.message()});
    if (auto e = framing_error(parser_->get())) return fail_request(*e);
    if (!to_origin_form(parser_->get()))
        return fail_request(
            {error_kind::bad_request, "the request target must be a path such as /compress"});

    const auto& req = parser_->get();
    route_ = classify(req.method(), req.target());
    method_ = std::string(req.method_string());
    target_ = std::string(req.target());
    if (auto e = check_headers(app_, req)) return fail_request(*e);
    if (parser_->is_done()) return do_handle();
    // A body is coming: reserve its memory before reading a byte of it, so that many uploads at
    // once get 503 rather than the process's memory (a chunked body reserves the body limit).
    const auto length = parser_->content_length();
    const std::size_t want = length ? static_cast<std::size_t>(*length) : app_.cfg.max_body_nbytes;
    if (!app_.try_reserve_body(want)) {
        app_.stats.add_rejected();
        return fail_request(
            {error_kind::overloaded, "the server is receiving too many uploads; retry shortly"});
    }
    body_reserved_nbytes_ = want;
    if (expects_continue(req)) {
        phase_ = phase::writing;
        set_deadline(app_.cfg.write_timeout);
        return asio::async_write(socket_, asio::buffer(continue_100),
                                 [self = shared_from_this()](beast::error_code wec, std::size_t) {
                                     if (wec) return self->close();
                                     self->do_read_body();
                                 });
    }
    do_read_body();
}

void session::do_read_body() {
    phase_ = phase::body;
    set_deadline(app_.cfg.body_timeout);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_body(ec, n); });
}

void session::on_body(beast::error_code ec, std::size_t nbytes) {
    app_.stats.add_bytes_received(nbytes);
    if (timed_out_)
        return fail_request(
            {error_kind::timeout, "the request body took too long; send it within " +
                                      std::to_string(app_.cfg.body_timeout.count()) + " ms"});
    if (ec == http::error::body_limit)
        return fail_request(
            {error_kind::too_large, "the body is over " + std::to_string(app_.cfg.max_body_nbytes) +
                                        " bytes (input up to " +
                                        std::to_string(app_.cfg.max_input_nbytes) + " bytes)"});
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == asio::error::eof || ec == asio::error::connection_reset)
        return close(); // the client went away mid-body; nobody to answer
    if (ec) return fail_request({error_kind::bad_request, "malformed request: " + ec.message()});
    do_handle();
}

void session::do_handle() {
    phase_ = phase::handling;
    deadline_ = worker::clock::time_point::max(); // the compute queue is bounded instead
    request req = parser_->release();
    body_nbytes_ = req.body().size();
    keep_alive_ = req.keep_alive();
    app_.stats.add_in_flight(1);
    // Quick routes answer on this thread before handle_request returns: write directly.
    // Reports answer from a compute thread: hop back to this session's thread first.
    self_while_handling_ = shared_from_this();
    handle_request(app_, std::move(req), [this](reply r) {
        if (std::this_thread::get_id() == thread_id_) return do_write(std::move(r));
        asio::post(worker_.context(),
                   [self = std::move(self_while_handling_), r = std::move(r)]() mutable {
                       self->do_write(std::move(r));
                   });
    });
}

void session::fail_request(const error& e) {
    if (method_.empty() && parser_) {
        method_ = std::string(parser_->get().method_string());
        target_ = std::string(parser_->get().target());
    }
    if (!started_.time_since_epoch().count()) started_ = worker::clock::now();
    keep_alive_ = false;
    app_.stats.add_in_flight(1);
    reply r{error_response(e, 11, app_.cfg.retry_after_s), {}};
    do_write(std::move(r));
}

void session::do_write(reply r) {
    // On this thread now: the pending write (or nothing, if closed) keeps the session alive.
    auto keep = std::move(self_while_handling_);
    if (phase_ == phase::closed) {
        app_.stats.add_in_flight(-1);
        return;
    }
    phase_ = phase::writing;
    set_deadline(app_.cfg.write_timeout);
    reply_ = std::move(r);
    auto self = shared_from_this();
    if (!reply_.raw.empty()) {
        if (worker_.draining()) keep_alive_ = false;
        return asio::async_write(
            socket_, asio::buffer(reply_.raw),
            [self](beast::error_code ec, std::size_t n) { self->on_write(ec, n); });
    }
    if (!keep_alive_ || worker_.draining() || !reply_.msg.keep_alive()) {
        keep_alive_ = false;
        reply_.msg.keep_alive(false);
    }
    http::async_write(socket_, reply_.msg,
                      [self](beast::error_code ec, std::size_t n) { self->on_write(ec, n); });
}

void session::release_body_reservation() {
    app_.release_body(body_reserved_nbytes_);
    body_reserved_nbytes_ = 0;
}

void session::on_write(beast::error_code ec, std::size_t nbytes) {
    app_.stats.add_in_flight(-1);
    release_body_reservation(); // answered: the body is no longer needed
    const unsigned status = reply_.raw.empty() ? reply_.msg.result_int() : 200;
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(worker::clock::now() - started_);
    app_.stats.record(route_, status, elapsed);
    if (app_.cfg.access_log)
        worker_.log_line(fmt::format(
            "{:%FT%T}Z {} {} {} {} {} {}us\n",
            std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()),
            client_, printable(method_, 16), printable(target_, 256), status, nbytes,
            elapsed.count()));
    reply_ = {};
    method_.clear();
    target_.clear();
    started_ = {};
    if (ec) return close();
    if (!keep_alive_) return do_linger();
    do_wait_request();
}

void session::do_linger() {
    // Closing with unread request bytes in the kernel makes it send a reset, which can destroy
    // the answer before the client reads it (a 413 sent mid-upload). So half-close, then read
    // and discard what the client still sends, bounded by the write timeout and the body limit.
    beast::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    phase_ = phase::writing;
    set_deadline(app_.cfg.write_timeout);
    buffer_.clear();
    socket_.async_read_some(buffer_.prepare(linger_chunk_nbytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                self->lingered_nbytes_ += n;
                                if (ec || self->lingered_nbytes_ > self->app_.cfg.max_body_nbytes)
                                    return self->close();
                                self->do_linger();
                            });
}

} // namespace compresstest
