// One client connection: glue between its socket, its worker's clock and a connection core.
#pragma once

#include "connection.hpp"
#include "http.hpp"
#include "metrics.hpp"
#include "worker.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace compresstest {

// Lives on its worker's thread. The protocol is the connection core's (connection.hpp); the
// session performs what it asks: reads, writes, half-close and close on the socket, admission
// and handle_request with the app. Deadlines are plain time points checked by the worker's
// sweep (one timer per worker, not one timer operation per read). The socket is in the
// worker's readiness set (worker.hpp): the session reads and writes it with
// non-blocking system calls, and waits for the edge the set reports when one would block. At
// most one wait (to read or to write) is pending at a time.
class session : public std::enable_shared_from_this<session> {
public:
    // Takes fd, an accepted non-blocking socket, and closes it when done.
    session(int fd, worker& w);
    ~session();

    void start();
    // From the worker's readiness set: the socket became readable or writable (or failed).
    void on_events(std::uint32_t events);
    // Called by the worker's sweep when the deadline has passed.
    void on_deadline();
    // Called by the worker when the drain begins: an idle or lingering connection closes now,
    // one under way closes after its answer.
    void begin_drain();
    bool expired(worker::clock::time_point now) const { return now > conn_.deadline(); }
    // Closes the socket now (also called by a worker destroyed with the session still open).
    void close();

private:
    void do_next();
    // Reads now if the socket may have bytes; false when it waits for the next edge instead, or
    // for its next turn on the thread.
    bool read_now();
    void on_turn(); // the posted next turn of a session that had read its share
    // Sends what is left of output(); true when it went out whole, false when it waits for the
    // socket to become writable (or the session closed).
    bool write_now();
    bool unread_input() const; // the client's bytes the kernel holds, not read yet
    bool drained_while_lingering() const;
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
    // After an event from outside (deadline, drain): restart the loop, dropping a pending
    // wait whose purpose is gone.
    void after_external_event();

    int fd_ = -1;
    worker& worker_;
    app& app_;
    connection conn_;
    std::string peer_;   // the peer address, for the log and the per-client cap
    std::string client_; // the key this request's reports count under
    route_id route_ = route_id::other;
    bool reading_ = false, writing_ = false, closed_ = false; // reading_, writing_: waiting
    // What the last system call and the readiness set say of the socket: false once a read came
    // back short (drained) or a call would block; true again at the set's next edge.
    bool readable_ = true, writable_ = true;
    // The set reported the peer's end of stream (or an error): a short read no longer means
    // drained, as the end is still to be read and no edge will announce it again.
    bool eof_pending_ = false;
    // The client sent TCP urgent data (EPOLLPRI): a read stops short at its mark with more
    // queued behind it, so from then on only EAGAIN means drained.
    bool urgent_seen_ = false;
    std::size_t written_nbytes_ = 0; // of the output() under way
    // Reads since the last event or turn: an upload that keeps its socket full yields after a
    // few, so the other connections ready on this thread are not kept waiting behind it.
    unsigned reads_in_turn_ = 0;
    // Holds the session while its socket is in the readiness set; let go in a later handler
    // after close(), so no batch of events and no member function outlives it.
    std::shared_ptr<session> self_while_open_;
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
