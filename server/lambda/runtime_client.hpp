// An HTTP/1.1 client for the AWS Lambda Runtime API: the next event in, its result or error out.
#pragma once

#include "config/config.hpp"
#include "server/http.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace compresstest::lambda {

// A Runtime API failure that ends the invocation loop (Lambda then restarts the runtime): the
// API cannot be reached, answers over the limits below, or /invocation/next answers other than
// 200 or without a request id.
struct runtime_api_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One invocation as /invocation/next hands it over.
struct invocation {
    std::string request_id;
    std::optional<std::chrono::system_clock::time_point> deadline;
    std::string event;            // empty when oversized
    std::size_t event_nbytes = 0; // as announced, for an event too large to read
    bool oversized = false;       // over the Lambda payload limit: not read
};

// A keep-alive client of the Runtime API at host:port (AWS_LAMBDA_RUNTIME_API). Calls block the
// calling thread for one exchange at a time; not thread-safe (the runtime has one invocation
// loop). /invocation/next waits as long as Lambda makes it wait; connecting, writing and the
// other calls' answers are bounded by call_timeout. Every answer's header is held to
// max_header_nbytes; a /next body to the Lambda payload limit (apigw::lambda_payload_nbytes);
// the others' bodies (a small JSON status) to max_header_nbytes too. A reused connection that
// fails is reopened once; a call that still fails throws runtime_api_error.
class runtime_client {
public:
    runtime_client(std::string host, std::string port, milliseconds call_timeout,
                   std::size_t max_header_nbytes);

    // Waits for the next event. Sets the process's _X_AMZN_TRACE_ID from
    // Lambda-Runtime-Trace-Id (unset when absent), as the X-Ray SDKs expect. An event over the
    // payload limit comes back oversized and unread, and its connection is closed.
    invocation next();

    // POSTs an invocation's result (/invocation/{id}/response), an invocation's error
    // (/invocation/{id}/error) or a start-up error (/init/error); the errors as Lambda's error
    // document with type also in Lambda-Runtime-Function-Error-Type. Returns the Runtime API's
    // status (202 when accepted).
    unsigned respond(const std::string& request_id, std::string body);
    unsigned fail(const std::string& request_id, std::string_view type, std::string_view message);
    unsigned fail_init(std::string_view type, std::string_view message);

private:
    using api_parser = http::response_parser<http::string_body>;

    unsigned post(std::string path, std::string body, std::string_view error_type);
    template <class Start> boost::beast::error_code run(Start start);
    void set_timeout(std::optional<milliseconds> timeout);
    boost::beast::error_code connect();
    void disconnect();
    std::unique_ptr<api_parser> exchange(http::verb method, const std::string& target,
                                         std::string body, std::string_view error_type,
                                         std::optional<milliseconds> timeout,
                                         std::size_t body_limit);

    const std::string host_, port_;
    const milliseconds call_timeout_;
    const std::size_t max_header_nbytes_;
    boost::asio::io_context ioc_;
    boost::beast::tcp_stream stream_{ioc_};
    boost::beast::flat_buffer buffer_;
    bool connected_ = false;
};

} // namespace compresstest::lambda
