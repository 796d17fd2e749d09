// The connection core without sockets: bytes and the clock in, actions out (server/connection.hpp).
#include "server/connection.hpp"

#include "server/errors.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace ct = compresstest;
using action = ct::connection::action;
using namespace std::chrono_literals;

namespace {

ct::connection_limits test_limits() {
    return ct::connection_limits::from(ct::config{}); // the defaults the server runs with
}

// What a peer saw: the bytes written, the requests dispatched, and how the connection ended.
struct transcript {
    std::string written;
    std::vector<std::string> targets; // of dispatched requests, in order
    std::vector<std::string> bodies;
    bool half_closed = false;
    bool closed = false;
    std::size_t input_offered = 0;         // bytes the connection accepted into its input buffer
    std::size_t offered_before_answer = 0; // of those, before the first answer was written
    std::vector<std::size_t> writes;       // the size of each write
};

// Drives a connection the way the session does, with no socket: input arrives in pieces of
// piece_nbytes; every head is accepted; every request is answered 200 with its target as body.
class driver {
public:
    explicit driver(ct::connection_limits l = test_limits()) : limits_(l), conn_(l, now_) {}

    ct::connection& conn() { return conn_; }
    ct::connection::time_point& now() { return now_; }

    // Runs until the connection wants input that is not there, waits, or is closed.
    transcript& run(std::string_view input, std::size_t piece_nbytes = 1 << 20) {
        pending_ += input;
        for (;;) {
            switch (conn_.next()) {
            case action::read: {
                if (pending_.empty()) return t_;
                auto space = conn_.input_space();
                const std::size_t n = std::min({space.size(), pending_.size(), piece_nbytes});
                if (n == 0) return t_; // the connection must never ask for a read it cannot take
                std::memcpy(space.data(), pending_.data(), n);
                pending_.erase(0, n);
                t_.input_offered += n;
                conn_.on_read(n, now_);
                break;
            }
            case action::check_head:
                conn_.accept_head(now_);
                break;
            case action::dispatch: {
                ct::request req = conn_.take_request();
                t_.targets.emplace_back(req.target());
                t_.bodies.push_back(req.body());
                if (hold_replies_) return t_;
                conn_.on_reply(ok_reply(req), now_);
                break;
            }
            case action::wait:
                return t_;
            case action::write: {
                const auto out = conn_.output();
                if (t_.written.empty()) t_.offered_before_answer = t_.input_offered;
                t_.written.append(static_cast<const char*>(out.data()), out.size());
                t_.writes.push_back(out.size());
                conn_.on_written(now_);
                break;
            }
            case action::half_close:
                t_.half_closed = true;
                conn_.on_half_closed(now_, unread_input_);
                break;
            case action::close:
                t_.closed = true;
                return t_;
            }
        }
    }

    static ct::reply ok_reply(const ct::request& req) {
        ct::response res{ct::http::status::ok, req.version()};
        res.keep_alive(req.keep_alive());
        res.body() = std::string(req.target());
        res.prepare_payload();
        return {std::move(res), {}};
    }

    void hold_replies(bool on) { hold_replies_ = on; }
    // What the driver tells on_half_closed: the client's bytes still unread in the kernel.
    void unread_input(bool on) { unread_input_ = on; }
    transcript& result() { return t_; }

private:
    ct::connection_limits limits_;
    ct::connection::time_point now_ = ct::connection::clock::now();
    ct::connection conn_;
    std::string pending_;
    bool hold_replies_ = false;
    bool unread_input_ = false;
    transcript t_;
};

std::size_t count(std::string_view haystack, std::string_view needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string_view::npos;
         pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

std::string get(std::string_view target, std::string_view extra = "") {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) + "\r\n";
}

std::string chunked_post(std::string_view chunks) {
    return "POST /compress HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
           "Transfer-Encoding: chunked\r\n\r\n" +
           std::string(chunks);
}

// A request whose line and header block is exactly nbytes long.
std::string get_with_head_nbytes(std::size_t nbytes) {
    const std::string base = get("/healthz", "X-Pad: \r\n");
    return get("/healthz", "X-Pad: " + std::string(nbytes - base.size(), 'p') + "\r\n");
}

} // namespace

TEST(connection, pipelined_requests_are_answered_in_order_whatever_the_read_sizes) {
    const std::string input = get("/a") + chunked_post("3;ext=1\r\nabc\r\n0\r\nX-T: y\r\n\r\n") +
                              get("/c", "Connection: close\r\n") + get("/never");
    for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, input.size()}) {
        driver d;
        auto& t = d.run(input, piece);
        ASSERT_EQ(t.targets, (std::vector<std::string>{"/a", "/compress", "/c"})) << piece;
        EXPECT_EQ(t.bodies[1], "abc");
        EXPECT_EQ(count(t.written, "HTTP/1.1 200 OK"), 3u);
        EXPECT_TRUE(t.half_closed) << "Connection: close ends the connection after its answer";
    }
}

TEST(connection, the_header_limit_is_exact) {
    const auto limit = test_limits().header_nbytes;
    driver at_limit;
    auto& ok = at_limit.run(get_with_head_nbytes(limit));
    EXPECT_EQ(ok.targets.size(), 1u);
    driver over;
    auto& refused = over.run(get_with_head_nbytes(limit + 1));
    EXPECT_TRUE(refused.targets.empty());
    EXPECT_TRUE(refused.written.starts_with("HTTP/1.1 431 ")) << refused.written;
    EXPECT_NE(refused.written.find("Connection: close"), std::string::npos);
    EXPECT_TRUE(refused.half_closed);
}

TEST(connection, a_trailer_over_the_header_limit_is_431_before_a_read_more_is_taken) {
    for (const std::string& trailer : {"X-T: " + std::string(70'000, 'a') + "\r\n",
                                       "X-T: " + std::string(60'000, 'a') + "\r\n", [] {
                                           std::string many;
                                           for (int i = 0; i < 300'000; ++i)
                                               many += "X-" + std::to_string(i % 10) + ": v\r\n";
                                           return many;
                                       }()}) {
        driver d;
        auto& t = d.run(chunked_post("5\r\nhello\r\n0\r\n" + trailer + "\r\n"));
        EXPECT_TRUE(t.targets.empty());
        EXPECT_TRUE(t.written.starts_with("HTTP/1.1 431 ")) << t.written.substr(0, 200);
        // Refused once a parser slice was full: the rest is read and discarded while lingering.
        EXPECT_LE(t.offered_before_answer, test_limits().header_nbytes + ct::body_read_nbytes);
    }
}

TEST(connection, a_chunk_extension_over_the_header_limit_is_refused_without_buffering_it) {
    driver d;
    auto& t = d.run(chunked_post("5;x=" + std::string(40'000'000, 'e') + "\r\nhello\r\n0\r\n\r\n"));
    EXPECT_TRUE(t.targets.empty());
    EXPECT_TRUE(t.written.starts_with("HTTP/1.1 431 ")) << t.written.substr(0, 200);
    EXPECT_LE(t.offered_before_answer, test_limits().header_nbytes + ct::body_read_nbytes);
    // Lingering discards at most the body limit (and one read) before closing.
    EXPECT_LE(t.input_offered,
              t.offered_before_answer + test_limits().body_nbytes + ct::body_read_nbytes);
    EXPECT_TRUE(t.closed);
}

TEST(connection, chunk_framing_bytes_of_one_message_are_bounded_together) {
    auto limits = test_limits();
    limits.chunk_framing_nbytes = 1000;
    std::string many_small;
    for (int i = 0; i < 400; ++i) // 400 × "1\r\na\r\n": 2,400 framing bytes
        many_small += "1\r\na\r\n";
    driver d(limits);
    auto& t = d.run(chunked_post(many_small + "0\r\n\r\n"));
    EXPECT_TRUE(t.targets.empty());
    EXPECT_TRUE(t.written.starts_with("HTTP/1.1 400 ")) << t.written.substr(0, 200);
    driver within(limits);
    EXPECT_EQ(within.run(chunked_post("1\r\na\r\n0\r\n\r\n")).targets.size(), 1u);
}

TEST(connection, expect_100_continue_is_answered_for_http_1_1_and_ignored_for_1_0) {
    const std::string head11 = "POST /compress HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                               "Expect: 100-continue\r\n\r\n";
    driver d11;
    EXPECT_EQ(d11.run(head11).written, "HTTP/1.1 100 Continue\r\n\r\n");
    EXPECT_EQ(d11.run("hello").targets.size(), 1u);

    driver d10;
    auto& t =
        d10.run("POST /compress HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    EXPECT_EQ(t.written, "") << "RFC 9110 §10.1.1: ignore Expect from HTTP/1.0";
    d10.run("hello");
    EXPECT_EQ(t.targets.size(), 1u);
    EXPECT_EQ(t.written.find("100 Continue"), std::string::npos);
}

TEST(connection, invalid_or_repeated_host_and_bad_framing_are_400) {
    const std::string te_gzip = "POST /compress HTTP/1.1\r\nHost: x\r\n"
                                "Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    for (const std::string& bad :
         {std::string("GET /healthz HTTP/1.1\r\nHost: exa mple com\r\n\r\n"),
          std::string("GET /healthz HTTP/1.1\r\nHost: a@b\r\n\r\n"),
          std::string("GET /healthz HTTP/1.1\r\n\r\n"), get("/healthz", "Host: y\r\n"), te_gzip}) {
        driver d;
        auto& t = d.run(bad);
        EXPECT_TRUE(t.targets.empty()) << bad;
        EXPECT_TRUE(t.written.starts_with("HTTP/1.1 400 ")) << bad << "\n" << t.written;
    }
    const std::string te_tab = "POST /compress HTTP/1.1\r\nHost: x\r\n"
                               "Transfer-Encoding:\tchunked\t\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    for (const std::string& good :
         {get("/healthz"), std::string("GET /healthz HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
          std::string("GET /healthz HTTP/1.1\r\nHost: \r\n\r\n"), te_tab}) {
        driver d;
        EXPECT_EQ(d.run(good).targets.size(), 1u) << good;
    }
}

TEST(connection, absolute_form_is_routed_by_path_and_query) {
    driver d;
    auto& t = d.run("GET http://x/tiny?a=b HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(t.targets.size(), 1u);
    EXPECT_EQ(t.targets[0], "/tiny?a=b");
}

TEST(connection, header_timeout_after_the_first_byte_is_408_and_idle_is_a_silent_close) {
    driver partial;
    partial.run("GET /healthz HTTP/1.1\r\nHo");
    partial.now() += test_limits().header_timeout + 1ms;
    partial.conn().on_timeout(partial.now());
    auto& t = partial.run("");
    EXPECT_TRUE(t.written.starts_with("HTTP/1.1 408 ")) << t.written;

    driver idle;
    idle.run(get("/a"));
    idle.now() += test_limits().idle_timeout - 1ms;
    idle.conn().on_timeout(idle.now());
    EXPECT_EQ(idle.conn().next(), action::read) << "not yet";
    idle.now() += 2ms;
    idle.conn().on_timeout(idle.now());
    EXPECT_EQ(idle.conn().next(), action::close);
    EXPECT_EQ(count(idle.result().written, "HTTP/1.1"), 1u);
}

TEST(connection, drain_closes_idle_connections_at_once_and_others_after_their_answer) {
    driver idle;
    idle.run(get("/a"));
    idle.conn().begin_drain();
    EXPECT_EQ(idle.conn().next(), action::close);

    driver busy;
    busy.hold_replies(true);
    busy.run(get("/slow"));
    busy.conn().begin_drain();
    EXPECT_EQ(busy.conn().next(), action::wait) << "an answer is owed";
    busy.conn().on_reply(driver::ok_reply(ct::request{ct::http::verb::get, "/slow", 11}),
                         busy.now());
    auto& t = busy.run("");
    EXPECT_NE(t.written.find("Connection: close"), std::string::npos);
    EXPECT_TRUE(t.half_closed);
    EXPECT_TRUE(t.closed) << "answered during a drain: closed without lingering";

    // The client pipelined more behind it, unread: closing now would reset the answer away.
    driver piped;
    piped.hold_replies(true);
    piped.unread_input(true);
    piped.run(get("/slow"));
    piped.conn().begin_drain();
    piped.conn().on_reply(driver::ok_reply(ct::request{ct::http::verb::get, "/slow", 11}),
                          piped.now());
    auto& u = piped.run("");
    EXPECT_TRUE(u.half_closed);
    EXPECT_FALSE(u.closed) << "lingers while the client's bytes are unread";
    EXPECT_EQ(piped.conn().next(), action::read);
    piped.run(get("/more"));
    EXPECT_EQ(count(piped.result().written, "HTTP/1.1"), 1u) << "discarded, not answered";
    piped.conn().on_eof();
    EXPECT_EQ(piped.conn().next(), action::close);
}

TEST(connection, a_drain_leaves_a_lingering_connection_to_finish_discarding) {
    driver d;
    d.run("POST /compress HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n");
    ASSERT_EQ(d.conn().next(), action::read) << "lingering after the 413";
    d.conn().begin_drain();
    EXPECT_EQ(d.conn().next(), action::read) << "the 413 must not be reset away";
    d.now() += 31s; // past the write timeout
    d.conn().on_timeout(d.now());
    EXPECT_EQ(d.conn().next(), action::close);
}

TEST(connection, after_an_error_it_lingers_discarding_until_the_client_closes) {
    driver d;
    auto& t = d.run("POST /compress HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n");
    EXPECT_TRUE(t.written.starts_with("HTTP/1.1 413 ")) << t.written;
    EXPECT_TRUE(t.half_closed);
    EXPECT_EQ(d.conn().next(), action::read);
    d.run(std::string(100'000, 'x'));
    EXPECT_EQ(d.conn().next(), action::read) << "still lingering";
    d.conn().on_eof();
    EXPECT_EQ(d.conn().next(), action::close);
}

TEST(connection, the_pre_serialized_reply_is_written_as_it_is) {
    driver d;
    d.hold_replies(true);
    d.run(get("/raw"));
    static constexpr std::string_view raw = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    d.conn().on_reply({{}, raw}, d.now());
    d.hold_replies(false);
    EXPECT_EQ(d.run(get("/next")).written.substr(0, raw.size()), raw);
    EXPECT_EQ(d.result().targets.size(), 2u) << "keep-alive kept after the raw answer";
}

TEST(connection, a_plain_get_of_tiny_is_answered_by_the_connection_itself) {
    const std::string_view tiny = test_limits().tiny_answer;
    ASSERT_FALSE(tiny.empty());
    const std::string plain = "GET /tiny HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n"
                              "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n"
                              "Sec-Fetch-Mode: navigate\r\n\r\n";
    // Pipelined, and in pieces of every size: the same bytes, nothing dispatched.
    for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{1} << 20}) {
        driver d;
        auto& t = d.run(plain + plain + get("/next"), piece);
        EXPECT_EQ(t.written.substr(0, 2 * tiny.size()), std::string(tiny) + std::string(tiny))
            << piece;
        EXPECT_EQ(t.targets, std::vector<std::string>{"/next"}) << piece;
        EXPECT_FALSE(t.closed) << piece;
    }
    driver d;
    d.run(plain);
    EXPECT_TRUE(d.conn().last_exchange().tiny);
    EXPECT_EQ(d.conn().last_exchange().status, 200u);
    EXPECT_EQ(d.conn().last_exchange().nbytes_received, plain.size());
    EXPECT_EQ(d.conn().last_exchange().request_target(), "/tiny");
    EXPECT_EQ(d.conn().last_exchange().request_method(), "GET");
    // No Accept-Encoding at all accepts deflate too.
    driver bare;
    EXPECT_EQ(bare.run("GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n").written, tiny);
}

TEST(connection, pipelined_plain_gets_of_tiny_are_answered_by_one_write) {
    const std::string tiny{test_limits().tiny_answer};
    const std::string plain = "GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string other = "GET /tiny HTTP/1.1\r\nHost: x\r\nUser-Agent: y\r\n\r\n";
    std::string twenty; // 20 plain ones, the 8th of another plain form (checked, not remembered)
    for (int i = 0; i < 20; ++i)
        twenty += i == 7 ? other : plain;
    driver d;
    auto& t = d.run(twenty + get("/next"));
    std::string answers;
    for (int i = 0; i < 20; ++i)
        answers += tiny;
    EXPECT_EQ(t.written.substr(0, answers.size()), answers);
    ASSERT_GE(t.writes.size(), 3u);
    // At most 16 answers a write: 16, then 4, then the parsed request's answer.
    EXPECT_EQ(t.writes[0], 16 * tiny.size());
    EXPECT_EQ(t.writes[1], 4 * tiny.size());
    EXPECT_EQ(t.targets, std::vector<std::string>{"/next"});
    EXPECT_FALSE(d.conn().last_exchange().tiny); // /next's
    // The exchange counts its answers and their bytes, for the log and the metrics.
    driver e;
    e.run(plain + other + plain);
    EXPECT_EQ(e.result().writes, std::vector<std::size_t>{3 * tiny.size()});
    EXPECT_EQ(e.conn().last_exchange().answers, 3u);
    EXPECT_EQ(e.conn().last_exchange().nbytes_received, 2 * plain.size() + other.size());
    EXPECT_EQ(e.conn().last_exchange().nbytes_sent, 3 * tiny.size());
    // A request that is not plain ends the gathering; it is parsed and answered after.
    driver f;
    auto& u = f.run(plain + "HEAD /tiny HTTP/1.1\r\nHost: x\r\n\r\n" + plain);
    ASSERT_GE(u.writes.size(), 3u);
    EXPECT_EQ(u.writes[0], tiny.size());
    EXPECT_EQ(u.targets, std::vector<std::string>{"/tiny"}); // the HEAD, dispatched
    EXPECT_EQ(u.written.substr(u.written.size() - tiny.size()), tiny);
    // Draining (lame duck) while a request is arriving: its answer is the last.
    driver g;
    g.run(plain.substr(0, 5));
    g.conn().begin_drain();
    auto& v = g.run(plain.substr(5) + plain);
    EXPECT_EQ(v.written.size(), tiny.size());
    EXPECT_TRUE(v.half_closed || v.closed);
}

TEST(connection, any_other_request_for_tiny_goes_through_the_parser) {
    // Each differs from a plain GET /tiny in one way; each is dispatched (or refused by the
    // parser's checks), never answered with the pre-serialized bytes by the connection.
    const std::vector<std::string> others = {
        "HEAD /tiny HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /tiny HTTP/1.0\r\nHost: x\r\n\r\n",
        "GET /tiny?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "get /tiny HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /tiny HTTP/1.1\r\n\r\n",                                     // no Host
        "GET /tiny HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",               // two
        "GET /tiny HTTP/1.1\r\nHost: a@b\r\n\r\n",                        // userinfo
        "GET /tiny HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", // no deflate
        "GET /tiny HTTP/1.1\r\nHost: x\r\nAccept-Encoding: deflate;q=0\r\n\r\n",
        "GET /tiny HTTP/1.1\r\nHost: x\r\nAccept-Encoding: deflate\r\n"
        "Accept-Encoding: deflate\r\n\r\n",
        "GET /tiny HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /tiny HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        "GET /tiny HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET /tiny HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
        "GET /tiny HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\n b\r\n\r\n", // folded
        "GET /tiny HTTP/1.1\r\nHost: x\r\nUser Agent: a\r\n\r\n",       // bad name
        "GET /tiny HTTP/1.1\r\nHost: x\r\nUser-Agent: a\x01\r\n\r\n",   // control
        "GET /tiny HTTP/1.1\r\nHost: x\nUser-Agent: a\r\n\r\n",         // bare LF
        "GET /tiny HTTP/1.1\r\nHost : x\r\n\r\n",
    };
    const std::string_view tiny = test_limits().tiny_answer;
    for (const auto& req : others) {
        driver d;
        auto& t = d.run(req);
        EXPECT_FALSE(d.conn().last_exchange().tiny) << req;
        EXPECT_TRUE(t.targets.size() == 1 || t.written.starts_with("HTTP/1.1 4")) << req;
        // The same after a plain GET /tiny on the connection, whose bytes the connection
        // remembers (most near-misses begin with them up to the blank line).
        driver after;
        auto& u = after.run("GET /tiny HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_EQ(u.written, tiny);
        ASSERT_TRUE(after.conn().last_exchange().tiny);
        after.run(req);
        EXPECT_FALSE(after.conn().last_exchange().tiny) << req;
        EXPECT_TRUE(u.targets.size() == 1 ||
                    u.written.substr(tiny.size()).starts_with("HTTP/1.1 4"))
            << req;
    }
}

TEST(connection, a_streamed_answer_is_chunked_for_http_1_1_and_keep_alive_is_kept) {
    driver d;
    d.hold_replies(true);
    d.run(get("/stream"));
    ct::response head{ct::http::status::ok, 11};
    head.set(ct::http::field::content_type, "application/x-ndjson");
    d.conn().on_reply({std::move(head), {}, std::make_shared<ct::reply_stream>()}, d.now());
    auto& t = d.run("");
    EXPECT_TRUE(d.conn().streaming());
    EXPECT_NE(t.written.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << t.written;
    EXPECT_EQ(t.written.find("Content-Length"), std::string::npos);
    const std::size_t head_nbytes = t.written.size();
    d.conn().on_stream_data("{\"a\":1}\n", false, d.now());
    d.run("");
    EXPECT_EQ(t.written.substr(head_nbytes), "8\r\n{\"a\":1}\n\r\n");
    d.conn().on_stream_data("{\"b\":2}\n", true, d.now());
    d.hold_replies(false);
    d.run(get("/next"));
    const std::string body = "8\r\n{\"a\":1}\n\r\n8\r\n{\"b\":2}\n\r\n0\r\n\r\n";
    EXPECT_EQ(t.written.substr(head_nbytes, body.size()), body);
    EXPECT_TRUE(t.written.substr(head_nbytes + body.size()).starts_with("HTTP/1.1 200 OK"));
    EXPECT_EQ(t.targets.size(), 2u) << "the next request is served on the same connection";
    EXPECT_FALSE(t.half_closed);
}

TEST(connection, a_streamed_answer_to_http_1_0_ends_with_the_close) {
    driver d;
    d.hold_replies(true);
    d.run("GET /stream HTTP/1.0\r\n\r\n");
    d.conn().on_reply(
        {ct::response{ct::http::status::ok, 10}, {}, std::make_shared<ct::reply_stream>()},
        d.now());
    d.run("");
    d.conn().on_stream_data("line\n", true, d.now());
    auto& t = d.run("");
    EXPECT_EQ(t.written.find("chunked"), std::string::npos) << t.written;
    EXPECT_TRUE(t.written.ends_with("\r\n\r\nline\n")) << t.written;
    EXPECT_TRUE(t.half_closed);
}

TEST(reply_stream, notifies_for_each_piece_and_drops_its_notify_at_the_end) {
    auto stream = std::make_shared<ct::reply_stream>();
    auto holder = std::make_shared<int>(0);
    int notified = 0;
    stream->push("early ");
    stream->on_ready([&notified, holder] { ++notified; });
    EXPECT_EQ(notified, 1) << "what arrived before on_ready is announced at once";
    stream->push("late");
    stream->finish();
    EXPECT_EQ(notified, 3);
    EXPECT_EQ(holder.use_count(), 1) << "the notify (and what it holds) is released at finish";
    std::string out;
    EXPECT_TRUE(stream->drain(out));
    EXPECT_EQ(out, "early late");
}
