// One client connection: glue between its socket, its worker's clock and a connection core.
#pragma once

#include "connection.hpp"
#include "http.hpp"
#include "metrics.hpp"
#include "worker.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace compresstest {

// Lives on its worker's thread. The protocol is the connection core's (connection.hpp); the
// session performs what it asks: reads, writes, half-close and close on the socket, admission
// and handle_request with the app. Deadlines are plain time points checked by the worker's
// sweep (one timer per worker, not one timer operation per read). At most one socket operation
// is pending at a time.
class session : public std::enable_shared_from_this<session> {
public:
    // The socket names its worker's executor type rather than the type-erased any_io_executor:
    // every read and write then skips the erasure's dispatch.
    using socket_type = boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                                         boost::asio::io_context::executor_type>;

    session(socket_type socket, worker& w);
    ~session();

    void start();
    // Called by the worker's sweep when the deadline has passed.
    void on_deadline();
    // Called by the worker when the drain begins: an idle or lingering connection closes now,
    // one under way closes after its answer.
    void begin_drain();
    bool expired(worker::clock::time_point now) const { return now > conn_.deadline(); }

private:
    void do_next();
    void do_read();
    bool write_now(); // true when output() went out whole, now; else a write is under way
    void do_write(boost::asio::const_buffer rest);
    void check_head(worker::clock::time_point now);
    void dispatch();
    void on_reply(std::uint64_t generation, reply r);
    // The stream's producer has pushed or finished (posted to this thread by its notify).
    void on_stream_ready();
    // For a closed session: if the stream has finished, drops it and hands back the session's
    // reference to itself (for the caller to let go when done with the members).
    std::shared_ptr<session> drop_finished_stream();
    // Hands what a streamed answer's producer has made to the connection; false if nothing.
    bool pump_stream();
    void finish_exchange(worker::clock::time_point now); // now: when the answer went out
    void release_body_reservation(); // gives body_reserved_nbytes_ back to the app
    void close();
    // After an event from outside (deadline, drain): restart the loop, cancelling a pending
    // read whose purpose is gone.
    void after_external_event();

    socket_type socket_;
    worker& worker_;
    app& app_;
    connection conn_;
    std::string peer_;   // the peer address, for the log and the per-client cap
    std::string client_; // the key this request's reports count under
    route_id route_ = route_id::other;
    bool reading_ = false, writing_ = false, closed_ = false;
    bool in_dispatch_ = false; // handle_request is on the stack: a reply now is synchronous
    bool dispatched_ = false;  // the current request is counted in flight
    // Replies carry the generation they answer, so a late reply to a request already answered
    // (by a 500 after an exception) is dropped rather than written twice.
    std::uint64_t generation_ = 0;
    // Holds this session alive from handle_request until its reply arrives, so the reply
    // handler needs only a pointer and a number (which std::function stores without allocating).
    std::shared_ptr<session> self_while_handling_;
    std::size_t body_reserved_nbytes_ = 0;          // of the app's body memory budget
    std::shared_ptr<reply_stream> stream_;          // the answer being streamed, if any
    std::shared_ptr<session> self_while_streaming_; // from on_reply until the stream finishes
    std::string stream_piece_;
};

} // namespace compresstest
