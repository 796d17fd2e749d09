// compresstest lambda: the AWS Lambda custom runtime loop over the Runtime API.
#include "server/faces.hpp"

#include "apigw.hpp"
#include "server/access_log.hpp"
#include "server/app.hpp"
#include "server/errors.hpp"
#include "server/routes.hpp"
#include "tinysite.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

namespace compresstest {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;

constexpr std::string_view runtime_path = "/2018-06-01/runtime";
constexpr std::string_view error_type_field = "Lambda-Runtime-Function-Error-Type";
// Error types, in the Category.Reason form of Lambda's own (Runtime.ExitError, ...).
constexpr std::string_view invalid_event_type = "Runtime.InvalidEvent";
constexpr std::string_view deadline_type = "Runtime.DeadlineExceeded";
constexpr std::string_view handler_failed_type = "Runtime.HandlerFailed";
constexpr std::string_view invalid_config_type = "Runtime.InvalidConfig";
constexpr std::string_view budget_type = "Runtime.TinySiteOverBudget";

// A Runtime API failure that ends the loop: Lambda restarts the runtime.
struct runtime_api_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One invocation as /next hands it over.
struct invocation {
    std::string request_id;
    std::optional<std::chrono::system_clock::time_point> deadline;
    std::string event;            // empty when oversized
    std::size_t event_nbytes = 0; // as announced, for an event too large to read
    bool oversized = false;       // over the Lambda payload limit: not read
};

using api_parser = http::response_parser<http::string_body>;

// A keep-alive HTTP/1.1 client for the Runtime API: one exchange at a time, on the calling
// thread. /next waits as long as Lambda makes it wait; other calls are bounded by
// call_timeout. A reused connection that fails is reopened once.
class runtime_client {
public:
    runtime_client(std::string host, std::string port, milliseconds call_timeout,
                   std::size_t max_header_nbytes)
        : host_(std::move(host)), port_(std::move(port)), call_timeout_(call_timeout),
          max_header_nbytes_(max_header_nbytes) {}

    // Waits for the next event; sets _X_AMZN_TRACE_ID from Lambda-Runtime-Trace-Id.
    invocation next() {
        auto p = exchange(http::verb::get, std::string(runtime_path) + "/invocation/next", {}, {},
                          std::nullopt, apigw::lambda_payload_nbytes);
        const auto& res = p->get();
        if (res.result() != http::status::ok)
            throw runtime_api_error(fmt::format("/invocation/next answered {}: {}",
                                                res.result_int(), res.body().substr(0, 256)));
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

    // POSTs a result; returns the Runtime API's status (202 when accepted).
    unsigned respond(const std::string& request_id, std::string body) {
        return post("/invocation/" + request_id + "/response", std::move(body), {});
    }
    unsigned fail(const std::string& request_id, std::string_view type, std::string_view message) {
        return post("/invocation/" + request_id + "/error", error_body(type, message), type);
    }
    unsigned fail_init(std::string_view type, std::string_view message) {
        return post("/init/error", error_body(type, message), type);
    }

private:
    static std::optional<std::chrono::system_clock::time_point> epoch_ms(std::string_view text) {
        std::int64_t ms = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
            return std::nullopt;
        return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
    }

    // The documented error document.
    static std::string error_body(std::string_view type, std::string_view message) {
        return boost::json::serialize(boost::json::object{
            {"errorMessage", message}, {"errorType", type}, {"stackTrace", boost::json::array()}});
    }

    unsigned post(std::string path, std::string body, std::string_view error_type) {
        // Answers are tiny ({"status":"OK"}); the header limit bounds them too.
        auto p = exchange(http::verb::post, std::string(runtime_path) + path, std::move(body),
                          error_type, call_timeout_, max_header_nbytes_);
        if (!p->is_done()) throw runtime_api_error(path + ": the answer is too large");
        return p->get().result_int();
    }

    // Runs one asynchronous operation to completion on this thread; start gets the handler.
    template <class Start> beast::error_code run(Start start) {
        beast::error_code result;
        ioc_.restart();
        start([&result](beast::error_code ec, auto&&...) { result = ec; });
        ioc_.run();
        return result;
    }

    void set_timeout(std::optional<milliseconds> timeout) {
        if (timeout)
            stream_.expires_after(*timeout);
        else
            stream_.expires_never();
    }

    beast::error_code connect() {
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

    void disconnect() {
        beast::error_code ignored;
        stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        stream_.close();
        buffer_.clear();
        connected_ = false;
    }

    // One request and its answer. The parser comes back with the header read; its body is
    // complete unless it was over body_limit (then the connection is closed, since the rest
    // of the body is unread). Throws runtime_api_error when the Runtime API cannot be reached.
    std::unique_ptr<api_parser> exchange(http::verb method, const std::string& target,
                                         std::string body, std::string_view error_type,
                                         std::optional<milliseconds> timeout,
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
                                                    std::string(http::to_string(method)), host_,
                                                    port_, target, ec.message()));
        }
    }

    const std::string host_, port_;
    const milliseconds call_timeout_;
    const std::size_t max_header_nbytes_;
    asio::io_context ioc_;
    beast::tcp_stream stream_{ioc_};
    beast::flat_buffer buffer_;
    bool connected_ = false;
};

// The reply handle_request gives ev.req (or the 413 for a refused event), waiting for it
// until the invocation's deadline; std::nullopt when the deadline passed first.
std::optional<reply> answer(app& a, apigw::event& ev,
                            std::optional<std::chrono::system_clock::time_point> deadline) {
    if (ev.refusal) {
        // For report routes refusal_from_headers gives the socket server's own 413 message.
        const error e = refusal_from_headers(a, ev.req, ev.client).value_or(*ev.refusal);
        return reply{error_response(e, ev.req.version(), a.cfg.retry_after_s), {}};
    }
    // Reports answer from a compute thread, possibly after this function would have returned:
    // the promise is shared with the handler.
    auto promise = std::make_shared<std::promise<reply>>();
    auto answered = promise->get_future();
    handle_request(a, std::move(ev.req), ev.client,
                   [promise](reply r) { promise->set_value(std::move(r)); });
    if (deadline && answered.wait_until(*deadline) != std::future_status::ready)
        return std::nullopt;
    return answered.get();
}

// Runs one invocation and posts its result.
void invoke(app& a, runtime_client& client, invocation& inv) {
    const auto started = std::chrono::steady_clock::now();
    const apigw::event_limits lim{apigw::lambda_payload_nbytes, a.cfg.max_body_nbytes};
    a.stats.add_bytes_received(inv.event_nbytes);
    auto ev = inv.oversized ? result<apigw::event>(apigw::oversized_event(inv.event_nbytes, lim))
                            : apigw::parse_event(inv.event, lim);
    if (!ev) {
        client.fail(inv.request_id, invalid_event_type, ev.err().message);
        std::cerr << "compresstest lambda: " << inv.request_id
                  << ": invalid event: " << ev.err().message << '\n';
        return;
    }
    const auto method = ev->req.method();
    const std::string method_name(ev->req.method_string());
    const std::string target(ev->req.target());

    auto r = answer(a, *ev, inv.deadline);
    if (!r) {
        client.fail(inv.request_id, deadline_type,
                    "the request was not answered before the invocation deadline");
        std::cerr << "compresstest lambda: " << inv.request_id << ": deadline passed\n";
        return;
    }
    auto msg = apigw::to_message(std::move(*r), method == http::verb::head);
    if (!msg) msg = error_response(msg.err(), ev->req.version(), a.cfg.retry_after_s);
    const unsigned accepted =
        client.respond(inv.request_id, apigw::to_response_json(*msg, ev->version));
    if (accepted / 100 != 2)
        std::cerr << "compresstest lambda: " << inv.request_id << ": the Runtime API refused "
                  << "the response with " << accepted << '\n';

    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
    a.stats.record(classify(method, target), msg->result_int(), elapsed);
    if (a.cfg.access_log)
        std::cout << access_log_line(inv.request_id, method_name, target, msg->result_int(),
                                     msg->body().size(), elapsed)
                  << std::flush;
}

// Reports a start-up failure to Lambda (so the init error shows in the console) and stderr.
int init_failed(runtime_client& client, std::string_view type, const std::string& message,
                int exit_code) {
    std::cerr << "compresstest lambda: " << message << '\n';
    try {
        client.fail_init(type, message);
    } catch (const runtime_api_error& ex) {
        std::cerr << "compresstest lambda: cannot report the init error: " << ex.what() << '\n';
    }
    return exit_code;
}

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
    for (const auto& entry : env)
        if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=')
            return entry.substr(name.size() + 1);
    return {};
}

} // namespace

int run_lambda(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    auto parsed = parse_config(args, env);
    if (parsed && parsed->exit_now) {
        std::cout << parsed->exit_text;
        return 0;
    }
    // "host:port", as Lambda sets it (127.0.0.1:9001); [v6]:port is accepted too.
    const std::string api = env_value(env, "AWS_LAMBDA_RUNTIME_API");
    const auto colon = api.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == api.size()) {
        std::cerr << "compresstest lambda: AWS_LAMBDA_RUNTIME_API "
                  << (api.empty() ? "is not set" : "\"" + api + "\" is not HOST:PORT")
                  << "; this face runs under AWS Lambda or a Runtime API emulator\n";
        return 2;
    }
    std::string host = api.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    // Without a valid config the defaults bound the init-error report.
    const config& cfg = parsed ? parsed->cfg : config{};
    runtime_client client(host, api.substr(colon + 1), cfg.write_timeout, cfg.max_header_nbytes);
    if (!parsed) return init_failed(client, invalid_config_type, parsed.err().message, 2);
    if (auto budget = tinysite::check_budget(); !budget)
        return init_failed(client, budget_type, budget.err().message, 1);

    app application(cfg);
    std::cout << fmt::format("compresstest {} lambda runtime on http://{} compute_threads={} {}\n",
                             COMPRESSTEST_VERSION, api, application.compute().size(), describe(cfg))
              << std::flush;
    try {
        for (;;) {
            auto inv = client.next();
            try {
                invoke(application, client, inv);
            } catch (const runtime_api_error&) {
                throw;
            } catch (const std::exception& ex) {
                // A library failure (memory, say) fails this invocation, not the runtime.
                std::cerr << "compresstest lambda: " << inv.request_id << ": " << ex.what() << '\n';
                client.fail(inv.request_id, handler_failed_type, ex.what());
            }
        }
    } catch (const runtime_api_error& ex) {
        std::cerr << "compresstest lambda: Runtime API: " << ex.what() << '\n';
        return 1;
    }
}

} // namespace compresstest
