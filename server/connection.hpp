// The HTTP/1.1 protocol state of one connection, without I/O: fed bytes and the clock, it says what
// to do next.
#pragma once

#include "config/config.hpp"
#include "http.hpp"
#include "result.hpp"

#include <boost/asio/buffer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace compresstest {

// What one connection enforces; every byte a client sends counts against one of these.
struct connection_limits {
    // The request line and header block, exactly. It is also the size of the input buffer (more
    // while a large body is read), and the parser is given at most this much at a time; Beast
    // parses a chunk-size line (extensions included) or a trailer section only when it is whole
    // in what it is given: so each of those is bounded by it too.
    std::size_t header_nbytes = 0;
    std::size_t body_nbytes = 0; // the payload of one message (Beast's body_limit)
    // Chunk-size lines, chunk extensions and trailers of one message, together.
    std::size_t chunk_framing_nbytes = 0;
    milliseconds header_timeout{}; // from a request's first byte to the end of its headers
    milliseconds body_timeout{};   // from the end of the headers to the end of the body
    milliseconds idle_timeout{};   // between requests on a kept-alive connection
    milliseconds write_timeout{};  // to write an answer, and to linger after the last one
    unsigned retry_after_s = 1;    // on 503 answers the connection itself makes
    // The pre-serialized answer to a plain GET /tiny (TinySite, deflated), which the connection
    // writes itself, without a parser or a request object: see plain_tiny_get. Empty: none.
    std::string_view tiny_answer;

    static connection_limits from(const config& c);
};

// How much of a large body one read takes: an I/O granularity, not a limit (the bytes belong to
// an upload that reserved its whole body from the memory budget).
inline constexpr std::size_t body_read_nbytes = 64 * 1024;

// The protocol state of one connection (as Python's h11): not thread-safe; its owner calls it from
// one thread. The owner loops on next() and performs what it says, reporting each completion:
//
//   read        read into input_space(), then on_read(n) (or on_eof() at end of stream or error)
//   check_head  the headers are in head(): call accept_head() or refuse(error)
//   dispatch    take_request() and answer it, once, with on_reply()
//   wait        nothing to do until on_reply() (the answer is being computed), or, for a
//               streamed answer (streaming()), until on_stream_data() brings more of it
//   write       write output() whole, then on_written() (which says whether an answer is done)
//   half_close  shut the socket's sending side, then on_half_closed()
//   close       close the socket; the connection is over
//
// When now passes deadline(), call on_timeout(now). What it owns: framing and smuggling checks
// (RFC 9112), the byte limits above, 100-continue, pipelining, keep-alive, the meaning of each
// timeout, and lingering after a close so the last answer is not lost to a reset. It never
// throws: a parser exception becomes a 400 (or 431) answer.
class connection {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;

    enum class action { read, check_head, dispatch, wait, write, half_close, close };

    // The exchange last answered, for the access log and metrics.
    struct exchange {
        // As received (the target before absolute-form rewriting); empty for a plain GET /tiny,
        // whose method and target the accessors give without a string copy per request.
        std::string method, target;
        unsigned status = 0;
        time_point started{};            // the request's first byte, or when the error was found
        std::size_t nbytes_received = 0; // request bytes on the wire, framing included
        std::size_t nbytes_sent = 0;     // answer bytes
        bool tiny = false;               // a plain GET /tiny, answered by the connection itself
        // Plain GET /tiny requests pipelined behind one another, answered by one write (the
        // byte counts are theirs together); 1 for any other exchange.
        unsigned answers = 1;

        std::string_view request_method() const { return tiny ? "GET" : std::string_view{method}; }
        std::string_view request_target() const {
            return tiny ? "/tiny" : std::string_view{target};
        }
    };

    connection(const connection_limits& limits, time_point now);
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    action next();
    time_point deadline() const { return deadline_; }

    boost::asio::mutable_buffer input_space();
    void on_read(std::size_t nbytes, time_point now);
    void on_eof();

    const request_header& head() const { return parser_->get(); }
    // The most body bytes the request in head() can bring: 0 without a body, its Content-Length,
    // or the body limit when chunked (what the owner reserves of its body memory budget).
    std::size_t expected_body_nbytes() const;
    void accept_head(time_point now);
    void refuse(const error& e, time_point now);

    request take_request();
    // r.stream set: only the head is written now; the body follows through on_stream_data(),
    // which is called whenever the stream has something and at its end (last = true).
    void on_reply(reply r, time_point now);
    bool streaming() const { return state_ == state::streaming; }
    void on_stream_data(std::string_view piece, bool last, time_point now);

    boost::asio::const_buffer output() const;
    bool on_written(time_point now); // true when a whole answer (not a 100 Continue) went out
    // unread_input: the client has sent bytes that were not read yet (the owner asks the socket
    // only when draining(); otherwise it may say false). Closing with them unread makes the
    // kernel send a reset, which can destroy the answer before the client reads it.
    void on_half_closed(time_point now, bool unread_input);

    void on_timeout(time_point now);
    // Lame duck over: answer what is under way with Connection: close; close an idle one now.
    void begin_drain();

    bool idle() const; // between requests, with no byte of the next one received
    bool draining() const { return draining_; }
    bool lingering() const {
        return state_ == state::lingering;
    } // discarding after the last answer
    const exchange& last_exchange() const { return exchange_; }

private:
    enum class state {
        reading_head,
        checking_head,
        writing_continue,
        reading_body,
        dispatching,
        awaiting_reply,
        writing_stream, // a streamed answer's head or one of its pieces
        streaming,      // waiting for the next piece
        writing,
        half_closing,
        lingering,
        closed,
    };

    void reset_message(); // a fresh parser and counters for the next request
    void resize_input(std::size_t capacity_nbytes); // keeps the unparsed bytes
    action parse_head();
    std::size_t buffered_plain_tiny_get(); // the length of the plain GET /tiny buffered, or 0
    bool answer_plain_tiny_get();          // true when the buffered request was one
    action parse_body();
    // Feeds the parser buffered bytes (at most max_nbytes), catching what Beast throws.
    std::size_t feed(std::size_t max_nbytes, boost::beast::error_code& ec);
    std::optional<error> framing_error() const;
    enum class phase { head, body };
    error parse_error(boost::beast::error_code ec,
                      phase where) const; // what ec means for the client
    void start_message(time_point now);
    void new_exchange(time_point now); // an empty exchange that started at now
    void fail(const error& e, time_point now);
    void write_answer(std::string_view bytes, time_point now);
    void consume_input(std::size_t nbytes);

    connection_limits limits_;
    state state_ = state::reading_head;
    time_point deadline_;
    std::optional<request_parser> parser_;
    bool message_started_ = false; // a byte of the current request has arrived
    bool keep_alive_ = true;       // of the request being answered
    bool draining_ = false;
    bool answer_is_final_ = false; // output_ is an answer, not a 100 Continue
    bool chunked_ = false;         // the streamed answer is chunked (HTTP/1.1)
    bool parser_used_ = false;     // bytes went into parser_ since reset_message

    // Input: bytes [in_begin_, in_end_) of in_ are received and not yet parsed.
    std::unique_ptr<char[]> in_;
    std::size_t in_capacity_ = 0; // header_nbytes, or more while a large body is read
    std::size_t in_begin_ = 0, in_end_ = 0;
    std::size_t head_nbytes_ = 0;    // of the current message's request line and headers
    std::size_t message_nbytes_ = 0; // of the current message, consumed by the parser
    std::size_t lingered_nbytes_ = 0;

    // The last plain GET /tiny received whole, when it was at most remembered_request_nbytes.
    static constexpr std::size_t remembered_request_nbytes = 1024;
    // Pipelined plain GET /tiny answers gathered into one write, at most (16 × 524 bytes).
    static constexpr unsigned max_gathered_answers = 16;
    std::string last_plain_tiny_;

    // Output: a view of raw bytes (TinySite), or of out_text_.
    std::string out_text_;
    std::string_view output_;
    exchange exchange_;
};

} // namespace compresstest
