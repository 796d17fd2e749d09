// An HTTP/1.1 client for the AWS Lambda Runtime API: the next event in, its result or error out.
#include "runtime_client.hpp"

#include "apigw.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <utility>

namespace compresstest::lambda {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;

constexpr std::string_view runtime_path = "/2018-06-01/runtime";
constexpr std::string_view error_type_field = "Lambda-Runtime-Function-Error-Type";

std::optional<std::chrono::system_clock::time_point> epoch_ms(std::string_view text) {
    std::int64_t ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

// The documented error document.
std::string error_body(std::string_view type, std::string_view message) {
    return boost::json::serialize(boost::json::object{
        {"errorMessage", message}, {"errorType", type}, {"stackTrace", boost::json::array()}});
}

} // namespace

runtime_client::runtime_client(std::string host, std::string port, milliseconds call_timeout,
                               std::size_t max_header_nbytes)
    : host_(std::move(host)), port_(std::move(port)), call_timeout_(call_timeout),
      max_header_nbytes_(max_header_nbytes) {}

invocation runtime_client::next() {
    auto p = exchange(http::verb::get, std::string(runtime_path) + "/invocation/next", {}, {},
                      std::nullopt, apigw::lambda_payload_nbytes);
    const auto& res = p->get();
    if (res.result() != http::status::ok)
        throw runtime_api_error(fmt::format("/invocation/next answered {}: {}", res.result_int(),
                                            res.body().substr(0, 256)));
    invocation inv;
    inv.request_id = std::string(res["Lambda-Runtime-Aws-Request-Id"]);
    if (inv.request_id.empty())
        throw runtime_api_error("/invocation/next gave no Lambda-Runtime-Aws-Request-Id");
    if (const auto trace = res["Lambda-Runtime-Trace-Id"]; trace.empty())
        ::unsetenv("_X_AMZN_TRACE_ID");
    else
        ::setenv("_X_AMZN_TRACE_ID", std::string(trace).c_str(), 1);
    inv.deadline = epoch_ms(res["Lambda-Runtime-Deadline-Ms"]);
    inv.oversized = !p->is_done();
    inv.event_nbytes = p->content_length().value_or(res.body().size());
    if (!inv.oversized) inv.event = std::move(p->get().body());
    return inv;
}

unsigned runtime_client::respond(const std::string& request_id, std::string body) {
    return post("/invocation/" + request_id + "/response", std::move(body), {});
}

unsigned runtime_client::fail(const std::string& request_id, std::string_view type,
                              std::string_view message) {
    return post("/invocation/" + request_id + "/error", error_body(type, message), type);
}

unsigned runtime_client::fail_init(std::string_view type, std::string_view message) {
    return post("/init/error", error_body(type, message), type);
}

unsigned runtime_client::post(std::string path, std::string body, std::string_view error_type) {
    // Answers are tiny ({"status":"OK"}); the header limit bounds them too.
    auto p = exchange(http::verb::post, std::string(runtime_path) + path, std::move(body),
                      error_type, call_timeout_, max_header_nbytes_);
    if (!p->is_done()) throw runtime_api_error(path + ": the answer is too large");
    return p->get().result_int();
}

// Runs one asynchronous operation to completion on this thread; start gets the handler.
template <class Start> beast::error_code runtime_client::run(Start start) {
    beast::error_code result;
    ioc_.restart();
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.run();
    return result;
}

void runtime_client::set_timeout(std::optional<milliseconds> timeout) {
    if (timeout)
        stream_.expires_after(*timeout);
    else
        stream_.expires_never();
}

beast::error_code runtime_client::connect() {
    beast::error_code ec;
    asio::ip::tcp::resolver resolver(ioc_);
    const auto endpoints = resolver.resolve(host_, port_, ec);
    if (ec) return ec;
    set_timeout(call_timeout_);
    ec = run([&](auto handler) { stream_.async_connect(endpoints, handler); });
    if (!ec) stream_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
    connected_ = !ec;
    return ec;
}

void runtime_client::disconnect() {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    connected_ = false;
}

// One request and its answer. The parser comes back with the header read; its body is
// complete unless it was over body_limit (then the connection is closed, since the rest
// of the body is unread). Throws runtime_api_error when the Runtime API cannot be reached.
std::unique_ptr<runtime_client::api_parser>
runtime_client::exchange(http::verb method, const std::string& target, std::string body,
                         std::string_view error_type, std::optional<milliseconds> timeout,
                         std::size_t body_limit) {
    request req{method, target, 11};
    req.set(http::field::host, host_ + ":" + port_);
    req.set(http::field::user_agent, "compresstest/" COMPRESSTEST_VERSION);
    if (!error_type.empty()) {
        req.set(error_type_field, error_type);
        req.set(http::field::content_type, "application/json");
    }
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    for (;;) {
        const bool reused = connected_;
        auto p = std::make_unique<api_parser>();
        p->header_limit(static_cast<std::uint32_t>(max_header_nbytes_));
        p->body_limit(body_limit);
        beast::error_code ec = connected_ ? beast::error_code{} : connect();
        if (!ec) {
            set_timeout(call_timeout_);
            ec = run([&](auto handler) { http::async_write(stream_, req, handler); });
        }
        if (!ec) {
            set_timeout(timeout);
            ec = run([&](auto handler) { http::async_read(stream_, buffer_, *p, handler); });
        }
        if (!ec && !p->get().keep_alive()) disconnect();
        if (!ec) return p;
        if (ec == http::error::body_limit && p->is_header_done()) {
            disconnect();
            return p;
        }
        disconnect();
        // A kept-alive connection may have been closed while idle: one fresh attempt.
        if (!reused)
            throw runtime_api_error(fmt::format("{} {}:{}{}: {}",
                                                std::string(http::to_string(method)), host_, port_,
                                                target, ec.message()));
    }
}

} // namespace compresstest::lambda
