// One client connection: read a request, answer it through handle_request, repeat.
#pragma once

#include "http.hpp"
#include "listener.hpp"
#include "metrics.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace compresstest {

// Lives on its worker's thread. Deadlines are plain time points checked by the worker's
// sweep (one timer per worker, not one timer operation per read), so a keep-alive request
// costs no timer churn. Phases: idle (between requests) → header → body → handling →
// writing → idle or closed.
class session : public std::enable_shared_from_this<session> {
public:
    session(boost::asio::ip::tcp::socket socket, worker& w);
    ~session();

    void start();
    // Called by the worker's sweep when the deadline has passed.
    void on_deadline();
    // Called by the worker when draining: closes the connection if no request is under way.
    void close_if_idle();
    bool expired(worker::clock::time_point now) const { return now > deadline_; }

private:
    enum class phase { idle, header, body, handling, writing, closed };

    void do_wait_request();
    void do_read_header();
    void on_header(boost::beast::error_code ec, std::size_t nbytes);
    void do_read_body();
    void on_body(boost::beast::error_code ec, std::size_t nbytes);
    void do_handle();
    void do_write(reply r);
    void on_write(boost::beast::error_code ec, std::size_t nbytes);
    void do_linger();
    void fail_request(const error& e); // answer with an error and close
    void close();
    void release_body_reservation(); // gives body_reserved_nbytes_ back to the app
    void set_deadline(milliseconds timeout);

    boost::asio::ip::tcp::socket socket_;
    worker& worker_;
    app& app_;
    boost::beast::flat_buffer buffer_;
    std::optional<request_parser> parser_;
    // Holds this session alive from handle_request until its reply is written, so the reply
    // handler needs only a plain pointer (which std::function stores without allocating).
    std::shared_ptr<session> self_while_handling_;
    phase phase_ = phase::idle;
    worker::clock::time_point deadline_;
    bool timed_out_ = false;
    bool keep_alive_ = true;
    std::thread::id thread_id_;

    // The request being answered, for the access log and metrics.
    reply reply_;
    route_id route_ = route_id::other;
    std::string method_, target_, client_;
    worker::clock::time_point started_;
    std::size_t body_nbytes_ = 0;
    std::size_t body_reserved_nbytes_ = 0; // of the app's body memory budget
    std::size_t lingered_nbytes_ = 0;
    static constexpr std::size_t linger_chunk_nbytes = 16 * 1024;
};

} // namespace compresstest
