// libFuzzer target: raw request bytes through the server's own connection core must never crash
// or hang.
//
// The input is what a client writes on one connection. It drives server/connection.hpp, the class
// the socket session uses, exactly as the session does (server/session.cpp): bytes are fed in
// pieces whose size the input's length picks, each head goes through refusal_from_headers, each
// request through handle_request (the reply is awaited, bounded: a lost reply is a hang and traps),
// each answer is written and acknowledged, until the connection closes or the input runs out.
// Limits are the server's defaults (config/config.hpp via connection_limits::from).
//
// Checked on every reply: it arrives exactly once; TinySite's raw bytes fit its segment budget;
// a message carries the CORS header and a Content-Length equal to its body; an error is a JSON
// object {"error": "..."} in valid UTF-8 (RFC 8259), and 503 and 429 have Retry-After; an answer
// to HEAD has no content (RFC 9110 §9.3.2). And on the connection: it never asks for a read it
// has no room for, and what it writes is whole HTTP/1.1 responses.
#include "config/config.hpp"
#include "server/app.hpp"
#include "server/connection.hpp"
#include "server/errors.hpp"
#include "server/routes.hpp"
#include "text.hpp"
#include "tinysite.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>

namespace ct = compresstest;
namespace http = boost::beast::http;

namespace {

// Reports on fuzz-sized inputs take milliseconds; a reply missing after this long is a hang.
constexpr std::chrono::seconds reply_deadline{60};
constexpr std::string_view fuzz_client = "fuzz";

void require(bool condition, const char* what) {
    if (condition) return;
    std::fprintf(stderr, "request_fuzz: invariant violated: %s\n", what);
    __builtin_trap();
}

ct::app& application() {
    // Built once and never destroyed: its compute thread outlives every input.
    static ct::app* a = [] {
        ct::config c; // the defaults the server runs with
        c.compute_threads = 1;
        // An idle-priority thread waits behind everything else on a busy machine: each reply
        // would take whole scheduler ticks, which measures the machine, not the code.
        c.compute_priority = "normal";
        c.pin_compute_threads = false;
        c.access_log = false;
        // Each report's entries run once: repeating them to the timing floor measures codecs,
        // which the report's own tests do; here it would only slow every input down.
        c.timing_floor_ms = 0;
        return new ct::app(std::move(c));
    }();
    return *a;
}

// One reply, handed over from whichever thread calls the reply_handler.
struct mailbox {
    std::mutex mutex;
    std::condition_variable ready;
    int nreplies = 0;
    ct::reply r;
};

void check_reply(const ct::reply& r, http::verb method) {
    if (!r.raw.empty()) {
        require(r.raw.size() <= ct::tinysite::segment_budget_nbytes,
                "TinySite response over its segment budget");
        require(r.raw.starts_with("HTTP/1.1 200 OK\r\n"), "TinySite status line");
        return;
    }
    const auto& m = r.msg;
    require(m[http::field::access_control_allow_origin] == "*", "CORS header missing");
    const unsigned status = m.result_int();
    require(status >= 200 && status < 600, "status out of range");
    if (method == http::verb::head) require(m.body().empty(), "an answer to HEAD carries content");
    if (status != 204 && status != 304) {
        const auto cl = m[http::field::content_length];
        require(!cl.empty(), "Content-Length missing");
        if (method != http::verb::head)
            require(cl == std::to_string(m.body().size()), "Content-Length differs from the body");
    }
    if (status == 503 || status == 429)
        require(m.count(http::field::retry_after) == 1, "503 or 429 without Retry-After");
    if (status >= 400 && method != http::verb::head) {
        boost::json::parse_options any_bytes;
        any_bytes.allow_invalid_utf8 = true;
        boost::json::error_code ec;
        const auto v = boost::json::parse(m.body(), ec, {}, any_bytes);
        require(!ec && v.is_object() && v.as_object().contains("error") &&
                    v.as_object().at("error").is_string(),
                "error body is not {\"error\": string}");
        require(ct::text::is_valid_utf8(m.body()), "error body is not valid UTF-8");
    }
}

ct::reply answer(ct::app& a, ct::request&& req) {
    auto box = std::make_shared<mailbox>();
    const auto method = req.method();
    ct::handle_request(a, std::move(req), fuzz_client, [box](ct::reply r) {
        std::lock_guard lock(box->mutex);
        ++box->nreplies;
        box->r = std::move(r);
        box->ready.notify_all();
    });
    std::unique_lock lock(box->mutex);
    require(box->ready.wait_for(lock, reply_deadline, [&] { return box->nreplies > 0; }),
            "no reply within the deadline");
    ct::reply r = std::move(box->r);
    lock.unlock();
    check_reply(r, method);
    // Exactly once: a second call would race a session's write; give it a moment to show.
    lock.lock();
    require(box->nreplies == 1, "reply_handler called more than once");
    return r;
}

// What the connection wrote must be whole responses: parse them back.
void check_written(std::string_view out) {
    while (!out.empty()) {
        http::response_parser<http::string_body> p;
        p.eager(true);
        boost::beast::error_code ec;
        const std::size_t used = p.put(boost::asio::buffer(out.data(), out.size()), ec);
        require(!ec && p.is_header_done(), "written bytes are not an HTTP response");
        // A HEAD answer's Content-Length announces no content: the parser would wait for it.
        if (!p.is_done()) return;
        out.remove_prefix(used);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using action = ct::connection::action;
    ct::app& a = application();
    // Read sizes from 1 to 256 bytes, or everything at once, picked by the input's length so
    // that every input is a plain request stream (the seeds are what clients send).
    const std::size_t piece_nbytes = size % 257 == 0 ? size : size % 257;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto now = ct::connection::clock::now();
    ct::connection conn(ct::connection_limits::from(a.cfg), now);
    // A streamed answer (NDJSON): its pieces come from a compute thread; what the connection
    // writes for it is checked as one response once its last piece is written.
    std::shared_ptr<ct::reply_stream> stream;
    std::string streamed;
    for (;;) {
        switch (conn.next()) {
        case action::read: {
            if (in.empty()) return 0; // the client sends nothing more
            auto space = conn.input_space();
            require(space.size() > 0, "a read with no room in the input buffer");
            const std::size_t n = std::min({space.size(), in.size(), piece_nbytes});
            std::memcpy(space.data(), in.data(), n);
            in.remove_prefix(n);
            conn.on_read(n, now);
            break;
        }
        case action::check_head:
            if (auto e = ct::refusal_from_headers(a, conn.head(), fuzz_client))
                conn.refuse(*e, now);
            else
                conn.accept_head(now);
            break;
        case action::dispatch: {
            ct::request req = conn.take_request();
            ct::reply r = answer(a, std::move(req));
            stream = r.stream;
            conn.on_reply(std::move(r), now);
            break;
        }
        case action::wait: {
            require(stream != nullptr, "waiting with no reply outstanding");
            require(stream->wait_finished(std::chrono::system_clock::now() + reply_deadline),
                    "a streamed answer did not finish within the deadline");
            std::string rest;
            stream->drain(rest);
            stream.reset();
            conn.on_stream_data(rest, true, now);
            break;
        }
        case action::write: {
            const auto out = conn.output();
            const std::string_view bytes(static_cast<const char*>(out.data()), out.size());
            if (stream || !streamed.empty())
                streamed += bytes;
            else if (!bytes.starts_with("HTTP/1.1 100 "))
                check_written(bytes);
            conn.on_written(now);
            if (!stream && !streamed.empty()) {
                check_written(streamed);
                streamed.clear();
            }
            break;
        }
        case action::half_close:
            conn.on_half_closed(now, !in.empty()); // what is left of the input: sent, unread
            break;
        case action::close:
            return 0;
        }
    }
}
