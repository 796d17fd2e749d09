// The HTTP types shared by the socket server and the Lambda adapter.
#pragma once

#include "pooled_allocator.hpp"
#include "reply_stream.hpp"

#include <boost/beast/http.hpp>

#include <functional>
#include <memory>
#include <string_view>

namespace compresstest {

namespace http = boost::beast::http;
// Request header fields come from per-thread recycled blocks (pooled_allocator.hpp).
using request_fields = http::basic_fields<pooled_allocator<char>>;
using request = http::request<http::string_body, request_fields>;
using request_parser = http::request_parser<http::string_body, pooled_allocator<char>>;
using request_header = http::request_header<request_fields>;
using response = http::response<http::string_body>;

// What handle_request answers: a Beast message, or bytes already serialized (TinySite)
// which the socket path writes as they are, or a message head whose body follows in pieces.
struct reply {
    response msg;
    std::string_view raw; // when non-empty: the whole response, status line to body
    // When set: msg is the status and headers (its body is ignored) and the body is what the
    // stream brings, written as it arrives (chunked for HTTP/1.1, until close for HTTP/1.0).
    std::shared_ptr<reply_stream> stream = nullptr;
};

// Called exactly once per request, on an I/O thread for quick routes or on a compute thread
// for reports; the session hops back to its own thread before touching the socket.
using reply_handler = std::function<void(reply)>;

} // namespace compresstest
