// compresstest lambda: the AWS Lambda custom runtime loop over the Runtime API.
#include "server/faces.hpp"

#include "apigw.hpp"
#include "runtime_client.hpp"
#include "server/access_log.hpp"
#include "server/app.hpp"
#include "server/errors.hpp"
#include "server/routes.hpp"
#include "tinysite.hpp"

#include <fmt/format.h>

#include <chrono>
#include <future>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compresstest {
namespace {
using lambda::invocation;
using lambda::runtime_api_error;
using lambda::runtime_client;

// Error types, in the Category.Reason form of Lambda's own (Runtime.ExitError, ...).
constexpr std::string_view invalid_event_type = "Runtime.InvalidEvent";
constexpr std::string_view deadline_type = "Runtime.DeadlineExceeded";
constexpr std::string_view handler_failed_type = "Runtime.HandlerFailed";
constexpr std::string_view invalid_config_type = "Runtime.InvalidConfig";
constexpr std::string_view budget_type = "Runtime.TinySiteOverBudget";

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
    reply r = answered.get();
    if (r.stream) {
        // API Gateway takes the whole body at once: a streamed answer (NDJSON) is collected.
        if (!r.stream->wait_finished(deadline)) return std::nullopt;
        r.stream->drain(r.msg.body());
        r.stream.reset();
        r.msg.prepare_payload();
    }
    return r;
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
