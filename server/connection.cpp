// The HTTP/1.1 protocol state of one connection, without I/O: fed bytes and the clock, it says what
// to do next.
#include "connection.hpp"

#include "errors.hpp"
#include "text.hpp"
#include "tinysite.hpp"
#include "wire.hpp"

#include <boost/beast/core/buffers_range.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>

namespace compresstest {
namespace beast = boost::beast;

namespace {

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

// RFC 9110 §10.1.1: a server ignores Expect from an HTTP/1.0 client.
bool expects_continue(const request_header& h) {
    if (h.version() < 11) return false;
    auto it = h.find(http::field::expect);
    return it != h.end() && text::iequals(text::trim_ows(it->value()), "100-continue");
}

// A name or IPv4 address of unreserved characters, then an optional ":" and digits: a valid
// authority without userinfo whatever its exact form, as nearly every client sends it.
bool plain_host(std::string_view value) {
    const auto colon = value.find(':');
    const auto name = value.substr(0, colon);
    const auto unreserved = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.' || c == '_' || c == '~';
    };
    if (!std::all_of(name.begin(), name.end(), unreserved)) return false;
    if (colon == std::string_view::npos) return true;
    const auto port = value.substr(colon + 1);
    return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// RFC 9112 §3.2: Host = uri-host [ ":" port ], and empty when the target has no authority.
// The plain form is checked first: the full parser costs a fifth of a /tiny request's user time.
bool valid_host(std::string_view value) {
    if (value.empty() || plain_host(value)) return true;
    auto authority = boost::urls::parse_authority(value);
    return authority && !authority->has_userinfo();
}

// RFC 9112 §3.2.2: a server MUST accept the absolute-form; route it by its path and query.
// False for a target that is neither origin-form, "*", nor an http(s) URI.
bool to_origin_form(request_header& h) {
    const auto target = h.target();
    if (target.starts_with('/') || target == "*") return true;
    auto uri = boost::urls::parse_absolute_uri(target);
    if (!uri || (uri->scheme_id() != boost::urls::scheme::http &&
                 uri->scheme_id() != boost::urls::scheme::https))
        return false;
    std::string origin = uri->encoded_path().empty() ? "/" : std::string(uri->encoded_path());
    if (uri->has_query()) origin += "?" + std::string(uri->encoded_query());
    h.target(origin);
    return true;
}

// The bytes Beast would write for msg (or for its head alone), without a socket.
void serialize(response& msg, std::string& out, bool head_only = false) {
    http::serializer<false, http::string_body> sr{msg};
    sr.split(head_only);
    beast::error_code ec;
    while (!ec && !(head_only ? sr.is_header_done() : sr.is_done()))
        sr.next(ec, [&](beast::error_code&, const auto& buffers) {
            std::size_t n = 0;
            for (const auto b : beast::buffers_range_ref(buffers)) {
                out.append(static_cast<const char*>(b.data()), b.size());
                n += b.size();
            }
            sr.consume(n);
        });
}

void serialize_head(response& msg, std::string& out) {
    serialize(msg, out, true);
}

// RFC 9110 §5.1: field-name = token; the fast path takes only letters, digits and '-'.
bool plain_field_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-';
    });
}

// Visible ASCII, spaces and tabs: a field value with nothing to interpret (no obs-text, no
// control characters, no bare CR or LF).
bool plain_field_value(std::string_view value) {
    return std::all_of(value.begin(), value.end(),
                       [](char c) { return (c >= 0x20 && c < 0x7f) || c == '\t'; });
}

// The header fields a browser or a load generator sends with a GET, none of which changes the
// answer to /tiny (Accept-Encoding, Connection and Host are checked apart).
bool harmless_field(std::string_view name) {
    static constexpr std::string_view names[] = {
        "user-agent", "accept", "accept-language",           "cache-control", "pragma", "referer",
        "cookie",     "dnt",    "upgrade-insecure-requests", "priority"};
    if (name.size() > 4 && text::iequals(name.substr(0, 4), "sec-")) return true;
    return std::any_of(std::begin(names), std::end(names),
                       [&](std::string_view n) { return text::iequals(name, n); });
}

// A plain GET /tiny: the request line exactly "GET /tiny HTTP/1.1", then header fields of the
// plainest form (name ":" OWS value, each line ending CRLF, no folding), exactly one Host of
// the plain form, at most one Connection ("keep-alive") and one Accept-Encoding, which must
// accept deflate, and otherwise only harmless_field names, each line at most 4 KiB. Such a
// request gets the pre-serialized answer; anything else goes through the parser and the router
// as any request does (and gets the same bytes there when it is a GET /tiny accepting
// deflate). Returns the request's length; 0 when it is not (or not yet) one.
std::size_t plain_tiny_get(std::string_view buffered) {
    static constexpr std::string_view request_line = "GET /tiny HTTP/1.1\r\n";
    if (!buffered.starts_with(request_line)) return 0;
    const auto end = buffered.find("\r\n\r\n", request_line.size() - 2);
    if (end == std::string_view::npos) return 0;
    // The field lines, each with its CRLF (none when the head ends right after the request line).
    std::string_view fields =
        end + 2 > request_line.size()
            ? buffered.substr(request_line.size(), end + 2 - request_line.size())
            : std::string_view{};
    int hosts = 0, connections = 0, encodings = 0;
    while (!fields.empty()) {
        const auto eol = fields.find("\r\n");
        const auto line = fields.substr(0, eol);
        fields.remove_prefix(eol + 2);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || line.size() > 4096) return 0;
        const auto name = line.substr(0, colon);
        const auto value = text::trim_ows(line.substr(colon + 1));
        if (!plain_field_name(name) || !plain_field_value(value)) return 0;
        if (text::iequals(name, "host")) {
            if (++hosts > 1 || !plain_host(value)) return 0;
        } else if (text::iequals(name, "connection")) {
            if (++connections > 1 || !text::iequals(value, "keep-alive")) return 0;
        } else if (text::iequals(name, "accept-encoding")) {
            if (++encodings > 1 || !(wire::accepted_q(value, "deflate") > 0)) return 0;
        } else if (!harmless_field(name)) {
            return 0;
        }
    }
    return hosts == 1 ? end + 4 : 0;
}

error header_timeout_error(const connection_limits& l) {
    return {error_kind::timeout, "the request headers took too long; send them within " +
                                     std::to_string(l.header_timeout.count()) + " ms"};
}

} // namespace

connection_limits connection_limits::from(const config& c) {
    return {.header_nbytes = c.max_header_nbytes,
            .body_nbytes = c.max_body_nbytes,
            .chunk_framing_nbytes = c.max_chunk_framing_nbytes,
            .header_timeout = c.header_timeout,
            .body_timeout = c.body_timeout,
            .idle_timeout = c.idle_timeout,
            .write_timeout = c.write_timeout,
            .retry_after_s = c.retry_after_s,
            .tiny_answer = tinysite::get_response()};
}

connection::connection(const connection_limits& limits, time_point now)
    : limits_(limits), deadline_(now + limits.header_timeout),
      in_(new char[limits.header_nbytes]), // not zeroed: only received bytes are read
      in_capacity_(limits.header_nbytes) {
    reset_message();
}

void connection::resize_input(std::size_t capacity_nbytes) {
    if (capacity_nbytes == in_capacity_ || in_end_ - in_begin_ > capacity_nbytes) return;
    std::unique_ptr<char[]> bigger(new char[capacity_nbytes]);
    std::memcpy(bigger.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
    in_ = std::move(bigger);
    in_capacity_ = capacity_nbytes;
}

void connection::reset_message() {
    resize_input(limits_.header_nbytes); // an upload's larger reads end with it
    if (parser_used_ || !parser_) {      // one that a plain GET /tiny left untouched serves again
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(limits_.header_nbytes));
        parser_->body_limit(limits_.body_nbytes);
        parser_->eager(false); // stop after the headers: they are checked before any body byte
        parser_used_ = false;
    }
    message_started_ = false;
    head_nbytes_ = 0;
    message_nbytes_ = 0;
}

connection::action connection::next() {
    switch (state_) {
    case state::reading_head:
        return parse_head();
    case state::checking_head:
        return action::check_head;
    case state::reading_body:
        return parse_body();
    case state::dispatching:
        return action::dispatch;
    case state::awaiting_reply:
        return action::wait;
    case state::writing_continue:
    case state::writing_stream:
    case state::writing:
        return action::write;
    case state::streaming:
        return action::wait;
    case state::half_closing:
        return action::half_close;
    case state::lingering:
        return action::read;
    case state::closed:
        break;
    }
    return action::close;
}

boost::asio::mutable_buffer connection::input_space() {
    if (state_ == state::lingering) in_begin_ = in_end_ = 0; // discarded as it comes
    if (in_begin_ > 0) {
        std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
    }
    return {in_.get() + in_end_, in_capacity_ - in_end_};
}

void connection::on_read(std::size_t nbytes, time_point now) {
    if (state_ == state::lingering) {
        lingered_nbytes_ += nbytes;
        in_end_ = 0;
        if (lingered_nbytes_ > limits_.body_nbytes) state_ = state::closed;
        return;
    }
    in_end_ += nbytes;
    if (state_ == state::reading_head && !message_started_ && nbytes > 0) start_message(now);
}

void connection::on_eof() {
    // Mid-request or between requests, nobody is left to answer; after the last answer, the
    // client has read it.
    state_ = state::closed;
    deadline_ = time_point::max();
}

void connection::start_message(time_point now) {
    message_started_ = true;
    deadline_ = now + limits_.header_timeout;
    new_exchange(now);
}

void connection::new_exchange(time_point now) {
    // Field by field: the strings keep their storage, and a keep-alive GET /tiny touches none.
    exchange_.method.clear();
    exchange_.target.clear();
    exchange_.status = 0;
    exchange_.started = now;
    exchange_.nbytes_received = exchange_.nbytes_sent = 0;
    exchange_.tiny = false;
    exchange_.answers = 1;
}

error connection::parse_error(beast::error_code ec, phase where) const {
    const auto limit = [](std::size_t n) { return std::to_string(n) + " bytes"; };
    if (ec == http::error::body_limit) {
        if (where == phase::head) // Content-Length alone is over: no body byte is read
            return body_over_limit(parser_->get()[http::field::content_length],
                                   limits_.body_nbytes);
        return {error_kind::too_large, "the body is over " + limit(limits_.body_nbytes)};
    }
    if (ec == http::error::header_limit)
        return {error_kind::headers_too_large,
                where == phase::head
                    ? "the request line and headers are over " + limit(limits_.header_nbytes)
                    : "a trailer field is over " + limit(limits_.header_nbytes)};
    if (ec == boost::system::errc::not_enough_memory)
        return {error_kind::internal, "the server is out of memory"};
    return {error_kind::bad_request, "malformed request: " + ec.message()};
}

bool connection::idle() const {
    return state_ == state::reading_head && !message_started_;
}

std::size_t connection::feed(std::size_t max_nbytes, beast::error_code& ec) {
    std::size_t used = 0;
    parser_used_ = true;
    try {
        used = parser_->put(boost::asio::buffer(in_.get() + in_begin_, max_nbytes), ec);
    } catch (const std::length_error&) {
        // A field name or value Beast cannot hold; the header limit normally stops it first.
        ec = http::error::header_limit;
    } catch (const std::bad_alloc&) {
        ec = make_error_code(boost::system::errc::not_enough_memory);
    } catch (const std::exception&) {
        ec = http::error::bad_value;
    }
    in_begin_ += used;
    if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    message_nbytes_ += used;
    return used;
}

std::size_t connection::buffered_plain_tiny_get() {
    const std::string_view buffered{in_.get() + in_begin_,
                                    std::min(in_end_ - in_begin_, limits_.header_nbytes)};
    // A keep-alive client repeats its request byte for byte: bytes that begin with the last plain
    // GET /tiny are one (its first blank line ends at the same place), with nothing to check again.
    if (!last_plain_tiny_.empty() && buffered.starts_with(last_plain_tiny_))
        return last_plain_tiny_.size();
    const std::size_t nbytes = plain_tiny_get(buffered);
    if (nbytes > 0 && nbytes <= remembered_request_nbytes)
        last_plain_tiny_.assign(buffered.substr(0, nbytes));
    return nbytes;
}

bool connection::answer_plain_tiny_get() {
    std::size_t nbytes = buffered_plain_tiny_get();
    if (nbytes == 0) return false;
    // Pipelined plain GET /tiny requests already received are answered by the same write, as
    // many as max_gathered_answers (not while draining: the first answer is the last).
    std::size_t received = 0;
    unsigned answers = 0;
    do {
        in_begin_ += nbytes;
        received += nbytes;
        ++answers;
    } while (!draining_ && answers < max_gathered_answers && in_begin_ < in_end_ &&
             (nbytes = buffered_plain_tiny_get()) > 0);
    if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    head_nbytes_ = message_nbytes_ = received;
    exchange_.status = 200;
    exchange_.tiny = true;
    exchange_.answers = answers;
    keep_alive_ = !draining_;
    // The write deadline counts from the request's first byte: the answer is at hand.
    if (answers == 1) {
        write_answer(limits_.tiny_answer, exchange_.started);
    } else {
        out_text_.clear();
        for (unsigned i = 0; i < answers; ++i)
            out_text_ += limits_.tiny_answer;
        write_answer(out_text_, exchange_.started);
    }
    return true;
}

connection::action connection::parse_head() {
    const std::size_t buffered = in_end_ - in_begin_;
    if (buffered == 0) return action::read;
    // Only before the parser has taken a byte of this request (it takes a head whole).
    if (!limits_.tiny_answer.empty() && head_nbytes_ == 0 && answer_plain_tiny_get())
        return action::write;
    // Beast's own header limit counts differently (it lets through a few bytes more), so the
    // parser is given no more than what is left of the limit: a block over it never completes.
    const std::size_t allowance = limits_.header_nbytes - head_nbytes_;
    beast::error_code ec;
    head_nbytes_ += feed(std::min(buffered, allowance), ec);
    if (!ec && !parser_->is_header_done()) ec = http::error::need_more;
    if (ec == http::error::need_more) {
        if (buffered < allowance) return action::read;
        ec = http::error::header_limit;
    }
    auto& h = parser_->get();
    if (parser_->is_header_done()) {
        exchange_.method = std::string(h.method_string());
        exchange_.target = std::string(h.target());
    }
    if (ec) {
        fail(parse_error(ec, phase::head), exchange_.started);
        return next();
    }
    keep_alive_ = parser_->keep_alive();
    if (auto e = framing_error()) {
        fail(*e, exchange_.started);
        return next();
    }
    if (!to_origin_form(h)) {
        fail({error_kind::bad_request, "the request target must be a path such as /compress"},
             exchange_.started);
        return next();
    }
    state_ = state::checking_head;
    deadline_ = time_point::max(); // the owner decides at once
    return action::check_head;
}

// What Beast accepts but RFC 9112 makes a server refuse, because another hop could frame or
// route the same bytes differently (request smuggling): a Host count other than one in HTTP/1.1
// or an invalid Host (§3.2), a Transfer-Encoding other than exactly "chunked" (§6.3: chunked not
// final leaves no reliable length; unknown codings are not decoded), any Transfer-Encoding in
// HTTP/1.0 (§6.1).
std::optional<error> connection::framing_error() const {
    const auto& h = parser_->get();
    if (h.version() >= 11 && h.count(http::field::host) != 1)
        return error{error_kind::bad_request, "send exactly one Host header"};
    if (auto host = h.find(http::field::host); host != h.end() && !valid_host(host->value()))
        return error{error_kind::bad_request,
                     "the Host header must be a host name or address, with an optional port"};
    if (auto te = h.find(http::field::transfer_encoding); te != h.end())
        if (h.version() < 11 || !text::iequals(text::trim_ows(te->value()), "chunked"))
            return error{error_kind::bad_request,
                         "Transfer-Encoding must be \"chunked\" alone, in HTTP/1.1; or send "
                         "Content-Length"};
    return std::nullopt;
}

std::size_t connection::expected_body_nbytes() const {
    if (!parser_->is_header_done() || parser_->is_done()) return 0;
    const auto length = parser_->content_length();
    return length ? static_cast<std::size_t>(*length) : limits_.body_nbytes;
}

void connection::accept_head(time_point now) {
    if (state_ != state::checking_head) return;
    if (parser_->is_done()) {
        state_ = state::dispatching;
        return;
    }
    parser_->eager(true);
    // A body larger than the header buffer is read in larger pieces: fewer reads and wake-ups
    // of the I/O thread per upload. Its memory is the upload's, bounded by the body budget.
    if (expected_body_nbytes() > limits_.header_nbytes)
        resize_input(std::max(limits_.header_nbytes, body_read_nbytes));
    // The client waits for 100 Continue only if it has not begun sending the body.
    if (expects_continue(parser_->get()) && in_begin_ == in_end_) {
        output_ = continue_100;
        answer_is_final_ = false;
        state_ = state::writing_continue;
        deadline_ = now + limits_.write_timeout;
        return;
    }
    state_ = state::reading_body;
    deadline_ = now + limits_.body_timeout;
}

void connection::refuse(const error& e, time_point now) {
    if (state_ == state::checking_head) fail(e, now);
}

connection::action connection::parse_body() {
    // The parser is given at most header_nbytes at a time, so a chunk-size line or trailer
    // section longer than that never completes, whatever the read size.
    for (;;) {
        const std::size_t buffered = in_end_ - in_begin_;
        if (buffered == 0) return action::read;
        const std::size_t slice_nbytes = std::min(buffered, limits_.header_nbytes);
        beast::error_code ec;
        const std::size_t used = feed(slice_nbytes, ec);
        const std::size_t framing_nbytes =
            message_nbytes_ - head_nbytes_ - parser_->get().body().size();
        if (framing_nbytes > limits_.chunk_framing_nbytes) {
            fail({error_kind::bad_request,
                  "the chunk-size lines, extensions and trailers are over " +
                      std::to_string(limits_.chunk_framing_nbytes) + " bytes"},
                 exchange_.started);
            return next();
        }
        if (!ec && !parser_->is_done()) ec = http::error::need_more;
        if (ec == http::error::need_more) {
            if (used > 0) continue;
            // A chunk-size line or the trailer section fills a whole slice and is still not
            // whole: it is over the limit that bounds each of them.
            if (slice_nbytes == limits_.header_nbytes) {
                fail({error_kind::headers_too_large,
                      "a chunk-size line or the trailer section is over " +
                          std::to_string(limits_.header_nbytes) + " bytes"},
                     exchange_.started);
                return next();
            }
            return action::read;
        }
        if (ec) {
            fail(parse_error(ec, phase::body), exchange_.started);
            return next();
        }
        state_ = state::dispatching;
        deadline_ = time_point::max();
        return action::dispatch;
    }
}

request connection::take_request() {
    state_ = state::awaiting_reply;
    deadline_ = time_point::max(); // the compute queue is bounded instead
    return parser_->release();
}

void connection::on_reply(reply r, time_point now) {
    if (state_ != state::awaiting_reply) return;
    keep_alive_ = keep_alive_ && !draining_;
    if (!r.raw.empty()) {
        exchange_.status = 200; // the pre-serialized TinySite answer
        return write_answer(r.raw, now);
    }
    if (r.stream && r.msg.version() < 11) keep_alive_ = false; // the close ends the body
    if (!keep_alive_ || !r.msg.keep_alive()) {
        keep_alive_ = false;
        r.msg.keep_alive(false);
    }
    exchange_.status = r.msg.result_int();
    out_text_.clear();
    if (!r.stream) {
        serialize(r.msg, out_text_);
        return write_answer(out_text_, now);
    }
    chunked_ = r.msg.version() >= 11;
    r.msg.body().clear();
    if (chunked_)
        r.msg.chunked(true);
    else
        r.msg.erase(http::field::content_length);
    serialize_head(r.msg, out_text_);
    write_answer(out_text_, now);
    answer_is_final_ = false;
    state_ = state::writing_stream;
}

void connection::on_stream_data(std::string_view piece, bool last, time_point now) {
    if (state_ != state::streaming) return;
    out_text_.clear();
    if (!chunked_) {
        out_text_ = piece;
    } else if (!piece.empty()) {
        out_text_ = fmt::format("{:x}\r\n", piece.size());
        out_text_ += piece;
        out_text_ += "\r\n";
    }
    if (last && chunked_) out_text_ += "0\r\n\r\n";
    if (out_text_.empty() && !last) return;
    const std::size_t sent_before = exchange_.nbytes_sent;
    write_answer(out_text_, now);
    exchange_.nbytes_sent += sent_before;
    answer_is_final_ = last;
    if (!last) state_ = state::writing_stream;
}

void connection::fail(const error& e, time_point now) {
    if (!message_started_) new_exchange(now); // nothing of the previous one belongs to this one
    if (exchange_.method.empty()) {
        exchange_.method = std::string(parser_->get().method_string());
        exchange_.target = std::string(parser_->get().target());
    }
    keep_alive_ = false;
    response res = error_response(e, 11, limits_.retry_after_s);
    res.keep_alive(false);
    exchange_.status = res.result_int();
    out_text_.clear();
    serialize(res, out_text_);
    write_answer(out_text_, now);
}

void connection::write_answer(std::string_view bytes, time_point now) {
    output_ = bytes;
    answer_is_final_ = true;
    exchange_.nbytes_received = message_nbytes_;
    exchange_.nbytes_sent = bytes.size();
    state_ = state::writing;
    deadline_ = now + limits_.write_timeout;
}

boost::asio::const_buffer connection::output() const {
    return {output_.data(), output_.size()};
}

bool connection::on_written(time_point now) {
    if (state_ == state::writing_stream) {
        state_ = state::streaming;
        deadline_ = time_point::max(); // the producer is bounded by the compute queue
        return false;
    }
    if (state_ == state::writing_continue) {
        state_ = state::reading_body;
        deadline_ = now + limits_.body_timeout;
        return false;
    }
    if (state_ != state::writing) return false;
    output_ = {};
    if (keep_alive_ && !draining_) {
        reset_message();
        state_ = state::reading_head;
        deadline_ = now + limits_.idle_timeout;
        if (in_end_ > in_begin_) start_message(now); // a pipelined request is already here
    } else {
        state_ = state::half_closing;
    }
    return answer_is_final_;
}

void connection::on_half_closed(time_point now, bool unread_input) {
    if (state_ != state::half_closing) return;
    // Closing with unread request bytes in the kernel makes it send a reset, which can destroy
    // the answer before the client reads it (a 413 sent mid-upload, an answer behind which the
    // client pipelined another request): so read and discard what the client still sends,
    // bounded by the write timeout and the body limit. A drain lingers only where bytes are
    // already waiting, and only until they are read (the owner closes a lingering connection
    // with nothing left unread once draining): a client that keeps its socket open and silent
    // does not hold it up.
    if (draining_ && !unread_input) {
        state_ = state::closed;
        return;
    }
    state_ = state::lingering;
    lingered_nbytes_ = 0;
    in_begin_ = in_end_ = 0;
    deadline_ = now + limits_.write_timeout;
}

void connection::on_timeout(time_point now) {
    if (now < deadline_) return;
    switch (state_) {
    case state::reading_head:
        if (message_started_) return fail(header_timeout_error(limits_), now);
        break;
    case state::reading_body:
        return fail({error_kind::timeout, "the request body took too long; send it within " +
                                              std::to_string(limits_.body_timeout.count()) + " ms"},
                    now);
    case state::checking_head:
    case state::dispatching:
    case state::awaiting_reply:
        return; // no deadline: the owner acts at once, the compute queue is bounded
    default:
        break;
    }
    state_ = state::closed;
    deadline_ = time_point::max();
}

void connection::begin_drain() {
    draining_ = true;
    // A lingering connection goes on discarding what its client has sent (its owner closes it
    // once nothing is left unread): closing now could reset away its answer.
    if (idle() || state_ == state::half_closing) {
        state_ = state::closed;
        deadline_ = time_point::max();
    }
}

} // namespace compresstest
