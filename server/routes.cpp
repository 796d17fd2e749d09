// handle_request: the HTTP contract as one function of the request and the app's state.
#include "routes.hpp"

#include "embedded.hpp"
#include "errors.hpp"
#include "multipart.hpp"
#include "report.hpp"
#include "text.hpp"
#include "tinysite.hpp"
#include "wire.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <memory>

namespace compresstest {
namespace {

// An IPv6 address in text is at most 45 bytes: longer X-Forwarded-For entries are cut, so a
// client cannot grow the per-client table's keys.
constexpr std::size_t max_client_key_nbytes = 64;

// A global unicast address: not loopback, private (RFC 1918, RFC 4193), link-local, CGNAT
// (RFC 6598) or unspecified; false for text that is not an address.
bool is_public_address(std::string_view text) {
    boost::system::error_code ec;
    const auto a =
        boost::asio::ip::make_address(std::string(text.substr(0, max_client_key_nbytes)), ec);
    if (ec || a.is_unspecified() || a.is_loopback() || a.is_multicast()) return false;
    if (a.is_v6()) {
        const auto v6 = a.to_v6();
        if (v6.is_v4_mapped())
            return is_public_address(
                boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string());
        const auto b = v6.to_bytes();
        return !v6.is_link_local() && (b[0] & 0xfe) != 0xfc;
    }
    const auto v4 = a.to_v4().to_uint();
    const auto in = [v4](std::uint32_t net, int bits) {
        return (v4 >> (32 - bits)) == (net >> (32 - bits));
    };
    return !in(0x0a000000, 8) && !in(0xac100000, 12) && !in(0xc0a80000, 16) &&
           !in(0xa9fe0000, 16) && !in(0x64400000, 10);
}

std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

// The media type of a Content-Type value, without parameters or surrounding OWS.
std::string_view media_type(std::string_view content_type) {
    return text::trim_ows(content_type.substr(0, content_type.find(';')));
}

// The q-value the client gives coding in Accept-Encoding (wire::accepted_q). With no header
// at all RFC 9110 allows any coding; TinySite relies on that (as the original did), while
// assets play safe and send identity.
double accept_q(const request& req, std::string_view coding, double when_absent) {
    auto it = req.find(http::field::accept_encoding);
    return it == req.end() ? when_absent : wire::accepted_q(it->value(), coding);
}

response make_response(const request& req, http::status status, std::string_view content_type,
                       std::string body) {
    response res{status, req.version()};
    set_common_headers(res);
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

reply from_error(const request& req, const app& a, const error& e, std::string_view allow = {}) {
    if (e.kind == error_kind::overloaded || e.kind == error_kind::too_many_requests)
        a.stats.add_rejected();
    reply r{error_response(e, req.version(), a.cfg.retry_after_s), {}};
    r.msg.keep_alive(req.keep_alive());
    if (!allow.empty()) r.msg.set(http::field::allow, allow);
    return r;
}

std::string_view content_type_of(std::string_view path) {
    if (path.starts_with("/api/")) return "application/json";
    if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
    if (path.ends_with(".css")) return "text/css; charset=utf-8";
    return "text/html; charset=utf-8";
}

const embedded_file* web_file(std::string_view path) {
    if (path == "/") path = "/index.html";
    for (const auto& f : web_files())
        if (f.path == path) return &f;
    return nullptr;
}

// An embedded file with ETag revalidation and the best precompressed variant accepted.
reply serve_file(const request& req, const embedded_file& f) {
    response res{http::status::ok, req.version()};
    set_common_headers(res);
    res.keep_alive(req.keep_alive());
    res.set(http::field::etag, f.etag);
    res.set(http::field::cache_control, "no-cache");
    res.set(http::field::vary, "Accept-Encoding");
    res.set(http::field::content_type, content_type_of(f.path)); // on a 304 too, for caches
    if (auto inm = req.find(http::field::if_none_match);
        inm != req.end() && inm->value().find(f.etag) != std::string_view::npos) {
        res.result(http::status::not_modified);
        return {std::move(res), {}};
    }
    std::string_view body = f.identity;
    if (accept_q(req, "br", 0) > 0 && f.br.size() < body.size()) {
        res.set(http::field::content_encoding, "br");
        body = f.br;
    } else if (accept_q(req, "gzip", 0) > 0 && f.gzip.size() < body.size()) {
        res.set(http::field::content_encoding, "gzip");
        body = f.gzip;
    }
    res.body() = std::string(body);
    res.prepare_payload();
    return {std::move(res), {}};
}

// --- quick routes: answered on the calling thread --------------------------------------------

reply asset_route(app&, const request& req) {
    return serve_file(req, *web_file(path_of(req.target())));
}

reply tiny_route(app&, const request& req) {
    const bool head = req.method() == http::verb::head;
    // Identity unless the client accepts deflate; the deflate answer is the exact
    // pre-serialized bytes, whatever the client's HTTP version or Connection header.
    if (accept_q(req, "deflate", 1) > 0)
        return {{}, head ? tinysite::head_response() : tinysite::get_response()};
    return {make_response(req, http::status::ok, "text/html; charset=utf-8",
                          std::string(tinysite::html())),
            {}};
}

reply codecs_route(app& a, const request& req) {
    return serve_file(req, a.codecs_document.file);
}

reply healthz_route(app& a, const request& req) {
    // The lame duck: a balancer's health checks see the stop coming before the listener closes.
    if (a.lame_duck()) {
        reply r{error_response({error_kind::overloaded, "the server is stopping"}, req.version(),
                               a.cfg.retry_after_s),
                {}};
        r.msg.keep_alive(req.keep_alive());
        return r;
    }
    return {make_response(req, http::status::ok, "application/json", "{\"status\":\"ok\"}\n"), {}};
}

reply metrics_route(app& a, const request& req) {
    return {make_response(req, http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                          a.stats.exposition(a.compute().queue_depth(), a.reports_admitted(),
                                             a.body_nbytes_reserved())),
            {}};
}

// --- the route table: every path, its methods and its metrics label, once ----------------------

using read_handler = reply (*)(app&, const request&);

struct route {
    std::string_view path; // exact; empty for the embedded web assets
    route_id read_label;   // what GET, HEAD (and other methods) count under
    read_handler read;     // GET and HEAD; nullptr when the route has none
    bool report = false;   // POST runs the report
};

constexpr route route_table[] = {
    {"/", route_id::page, asset_route, true},       {"/compress", route_id::report, nullptr, true},
    {"/tiny", route_id::tiny, tiny_route},          {"/api/codecs", route_id::codecs, codecs_route},
    {"/healthz", route_id::healthz, healthz_route}, {"/metrics", route_id::metrics, metrics_route},
};
constexpr route asset_row{"", route_id::asset, asset_route};
// OPTIONS * asks about the server as a whole (RFC 9110 §9.3.7).
constexpr route whole_server{"*", route_id::preflight, asset_route, true};

const route* find_route(std::string_view path) {
    for (const auto& r : route_table)
        if (r.path == path) return &r;
    return web_file(path) ? &asset_row : nullptr;
}

std::string_view allow_of(const route& r) {
    if (r.read && r.report) return "GET, HEAD, POST, OPTIONS";
    return r.read ? "GET, HEAD, OPTIONS" : "POST, OPTIONS";
}

reply method_not_allowed(const request& req, const app& a, const route& r) {
    return from_error(req, a,
                      {error_kind::method_not_allowed, std::string(req.method_string()) +
                                                           " is not allowed on " +
                                                           std::string(path_of(req.target())) +
                                                           "; use " + std::string(allow_of(r))},
                      allow_of(r));
}

reply preflight(const request& req, const route& r) {
    response res{http::status::no_content, req.version()};
    set_common_headers(res);
    res.set(http::field::access_control_allow_methods, allow_of(r));
    res.set(http::field::access_control_allow_headers, "Content-Type");
    res.set(http::field::access_control_max_age, "86400");
    res.set(http::field::allow, allow_of(r));
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return {std::move(res), {}};
}

// --- the report: admitted on the I/O thread, parsed and run on the compute pool ----------------

error busy_error() {
    return {error_kind::overloaded, "the server is busy with other reports; retry shortly"};
}

error over_share_error(const app& a) {
    return {error_kind::too_many_requests,
            "you have " + std::to_string(a.cfg.max_reports_per_client) +
                " reports in flight already; wait for one to finish"};
}

// The report's input and panel, pulled out of the request without copying the input.
struct report_input {
    std::string_view data;
    std::string codecs; // panel spec; empty = default panel
    // For the wire view: the accept_encoding field or parameter, else the request's
    // Accept-Encoding; none when neither is there.
    std::optional<std::string> accept_encoding;
};

result<report_input> extract_input(const app& a, const request& req) {
    report_input in;
    const auto ct = req[http::field::content_type];
    if (text::iequals(media_type(ct), "application/octet-stream")) {
        in.data = req.body();
    } else {
        const multipart::limits lim{a.cfg.max_form_parts, a.cfg.max_part_header_nbytes,
                                    a.cfg.max_field_name_nbytes};
        auto form = multipart::parse_form(ct, req.body(), lim);
        if (!form) return form.err();
        const auto* file = form->find("fileUpload");
        const auto* text_field = form->find("textEntry");
        const bool has_file = file && !file->data.empty();
        const bool has_text = text_field && !text_field->data.empty();
        if (has_file && has_text)
            return error{error_kind::unprocessable,
                         "send either fileUpload or textEntry, not both"};
        if (!has_file && !has_text)
            return error{error_kind::bad_request,
                         "nothing to compress: send a non-empty fileUpload file or textEntry "
                         "field"};
        in.data = has_file ? file->data : text_field->data;
        if (const auto* codecs = form->find("codecs")) in.codecs = std::string(codecs->data);
        if (const auto* ae = form->find("accept_encoding"))
            in.accept_encoding = std::string(ae->data);
    }
    if (in.codecs.empty() || !in.accept_encoding) {
        auto url = boost::urls::parse_origin_form(req.target());
        if (!url)
            return error{error_kind::bad_request, "the request target is not a valid URL path"};
        auto params = url->params();
        if (auto it = params.find("codecs");
            in.codecs.empty() && it != params.end() && (*it).has_value)
            in.codecs = (*it).value;
        if (auto it = params.find("accept_encoding");
            !in.accept_encoding && it != params.end() && (*it).has_value)
            in.accept_encoding = (*it).value;
    }
    if (!in.accept_encoding)
        if (auto it = req.find(http::field::accept_encoding); it != req.end())
            in.accept_encoding = std::string(it->value());
    if (in.data.size() > a.cfg.max_input_nbytes)
        return error{error_kind::too_large, "the input is " + std::to_string(in.data.size()) +
                                                " bytes; the limit is " +
                                                std::to_string(a.cfg.max_input_nbytes)};
    return in;
}

// One admitted report: holds the request (its body is the input) until the answer is given,
// and gives the admission back exactly once.
struct report_job {
    app& a;
    request req;
    std::string client;
    reply_handler done;

    void answer(reply r) {
        a.release(client);
        done(std::move(r));
    }
    void fail(const error& e) {
        log_if_internal(e);
        answer(from_error(req, a, e));
    }
    // An internal error is our bug (a round trip that does not match, a library failing):
    // the client gets a 500 and the log the whole message.
    static void log_if_internal(const error& e) {
        if (e.kind == error_kind::internal)
            std::cerr << fmt::format("compresstest: report: {}\n", e.message);
    }
};

// Accept lists application/x-ndjson with a q-value above 0.
bool wants_ndjson(const request& req) {
    for (auto [it, end] = req.equal_range(http::field::accept); it != end; ++it)
        for (std::string_view list = it->value(); !list.empty();) {
            const auto comma = list.find(',');
            const auto item = list.substr(0, comma);
            list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
            if (!text::iequals(media_type(item), "application/x-ndjson")) continue;
            const auto semi = item.find(';');
            const auto q = wire::q_of(semi == std::string_view::npos ? std::string_view{}
                                                                     : item.substr(semi + 1));
            if (q && *q > 0) return true;
        }
    return false;
}

// The report as NDJSON: the answer's head goes at once, then a start line, one line per entry
// as it finishes (from whichever compute thread finished it), and the report or an error as
// the last line. The admission is given back when the last line is written.
void stream_report(const std::shared_ptr<report_job>& job, std::shared_ptr<report_input> in,
                   const panel& p, const measure_options& measure) {
    auto stream = std::make_shared<reply_stream>();
    auto head = make_response(job->req, http::status::ok, "application/x-ndjson", {});
    head.set(http::field::cache_control, "no-store");
    job->done({std::move(head), {}, stream});
    auto end = [job, stream](std::string last_line) {
        stream->push(std::move(last_line) + "\n");
        stream->finish();
        job->a.release(job->client);
    };
    // The head has gone out: from here the stream is the only way to answer, and an exception
    // (out of memory) must still end it, or the connection and the admission would be held.
    try {
        std::string start =
            fmt::format(R"({{"type":"start","original_size":{},"total":{},"entries":[)",
                        in->data.size(), p.size());
        for (std::size_t i = 0; i < p.size(); ++i)
            fmt::format_to(std::back_inserter(start), R"({}{{"codec":"{}","level":{}}})",
                           i ? "," : "", p[i].codec->name, p[i].level);
        stream->push(start + "]}\n");
        auto finished = std::make_shared<std::atomic<std::size_t>>(0);
        const std::size_t total = p.size();
        auto on_entry = [stream, in, finished, total,
                         &stats = job->a.stats](const entry_result& e) {
            stats.add_report_entry();
            const std::size_t k = ++*finished;
            stream->push(fmt::format(R"({{"type":"entry","done":{},"total":{},"entry":{}}})", k,
                                     total, to_json(e, in->data.size())) +
                         "\n");
        };
        run_report_async(
            in->data, p, job->a.compute().executor(),
            [job, in, end](result<report> r) {
                try {
                    if (!r) {
                        report_job::log_if_internal(r.err());
                        return end(fmt::format(R"({{"type":"error","error":{},"status":{}}})",
                                               text::json_string(r.err().message),
                                               static_cast<unsigned>(status_of(r.err().kind))));
                    }
                    end(R"({"type":"report","report":)" + to_json(*r, in->accept_encoding) + "}");
                } catch (const std::exception& ex) {
                    end(fmt::format(
                        R"({{"type":"error","error":{},"status":500}})",
                        text::json_string(std::string("the report failed: ") + ex.what())));
                }
            },
            measure, on_entry, [stream] { return stream->abandoned(); });
    } catch (const std::exception&) {
        end(R"({"type":"error","error":"the report could not start","status":500})");
    }
}

// Once the estimate is known: refuse a report over the CPU budget, or fan its codecs out.
void run_estimated(const std::shared_ptr<report_job>& job, const std::shared_ptr<report_input>& in,
                   const panel& p, const measure_options& measure, double cost_ms) {
    app& a = job->a;
    if (cost_ms > a.cfg.max_panel_cpu_ms)
        return job->fail({error_kind::unprocessable,
                          "these codec levels would take about " +
                              std::to_string(static_cast<long>(cost_ms)) +
                              " ms of CPU on this input; the limit is " +
                              std::to_string(static_cast<long>(a.cfg.max_panel_cpu_ms)) +
                              " ms: choose fewer or faster codec levels"});
    if (wants_ndjson(job->req)) return stream_report(job, in, p, measure);
    run_report_async(
        in->data, p, a.compute().executor(),
        [job, in](result<report> r) {
            try {
                if (!r) return job->fail(r.err());
                job->answer({make_response(job->req, http::status::ok, "application/json",
                                           to_json(*r, in->accept_encoding) + "\n"),
                             {}});
            } catch (const std::exception& ex) {
                job->fail({error_kind::internal, std::string("the report failed: ") + ex.what()});
            }
        },
        measure, [&stats = a.stats](const entry_result&) { stats.add_report_entry(); });
}

// On a compute thread: parse the body and the panel, estimate its CPU on this input (sampled
// on the compute pool, in parallel), then run_estimated.
void prepare_report(const std::shared_ptr<report_job>& job) {
    app& a = job->a;
    auto extracted = extract_input(a, job->req);
    if (!extracted) return job->fail(extracted.err());
    auto in = std::make_shared<report_input>(std::move(*extracted));
    auto p = in->codecs.empty() ? result<panel>(default_panel()) : parse_panel(in->codecs);
    if (!p) return job->fail(p.err());
    if (path_of(job->req.target()) == "/")
        p = with_original_entries(*p); // the original client's keys
    const measure_options measure{.timing_floor_ms = a.cfg.timing_floor_ms,
                                  .interleaved_executor = a.compute().executor_preferring(0)};
    estimate_compressions_async(
        *p, in->data, a.compute().executor(),
        [job, in, p = *p, measure](std::vector<compression_estimate> estimates) {
            try {
                run_estimated(job, in, p, measure, estimate_cpu_ms(estimates, measure));
            } catch (const std::exception& ex) {
                job->fail({error_kind::internal, std::string("the report failed: ") + ex.what()});
            }
        },
        // The table is off by 2.2 times at most on the inputs checked (brotli:5 on machine
        // code; README, Costs): sampling only decides near the limit.
        {.timing_floor_ms = measure.timing_floor_ms,
         .sample_above_ms = a.cfg.max_panel_cpu_ms / 4});
}

void report_route(app& a, request&& req, std::string_view client, reply_handler done) {
    switch (a.try_admit(client)) {
    case admission::full:
        return done(from_error(req, a, busy_error()));
    case admission::client_over_share:
        return done(from_error(req, a, over_share_error(a)));
    case admission::admitted:
        break;
    }
    auto job = std::make_shared<report_job>(
        report_job{a, std::move(req), std::string(client), std::move(done)});
    a.compute().post([job] {
        try {
            prepare_report(job);
        } catch (const std::exception& ex) {
            job->fail({error_kind::internal, std::string("the report failed: ") + ex.what()});
        }
    });
}

} // namespace

route_id classify(http::verb method, std::string_view target) {
    const route* r = find_route(path_of(target));
    if (!r) return route_id::other;
    if (method == http::verb::options) return route_id::preflight;
    if (method == http::verb::post && r->report) return route_id::report;
    return r->read_label;
}

std::string client_key(const config& cfg, std::string_view peer, const request_header& h) {
    if (!cfg.trust_forwarded_for) return std::string(peer);
    // Every hop appends the address it got the request from; hops on private networks (the
    // balancer itself, a proxy on the host) are ours, so the client is the rightmost public one.
    std::string_view chosen;
    for (auto [it, end] = h.equal_range("X-Forwarded-For"); it != end; ++it)
        for (std::string_view list = it->value(); !list.empty();) {
            const auto comma = list.find(',');
            const auto entry = text::trim_ows(list.substr(0, comma));
            list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
            if (is_public_address(entry)) chosen = entry;
        }
    return std::string(chosen.empty() ? peer : chosen.substr(0, max_client_key_nbytes));
}

std::optional<error> refusal_from_headers(const app& a, const request_header& h,
                                          std::string_view client) {
    if (classify(h.method(), h.target()) != route_id::report || h.method() != http::verb::post)
        return std::nullopt;
    const auto mt = media_type(h[http::field::content_type]);
    if (!text::iequals(mt, "multipart/form-data") && !text::iequals(mt, "application/octet-stream"))
        return error{error_kind::unsupported_type,
                     "send multipart/form-data (fields fileUpload or textEntry) or "
                     "application/octet-stream, not \"" +
                         std::string(mt.substr(0, 64)) + "\""};
    if (auto it = h.find(http::field::content_length); it != h.end()) {
        std::uint64_t n = 0;
        const auto v = it->value();
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec == std::errc{} && end == v.data() + v.size() && n > a.cfg.max_body_nbytes)
            return body_over_limit(v, a.cfg.max_body_nbytes);
    }
    switch (a.would_admit(client)) {
    case admission::full:
        return busy_error();
    case admission::client_over_share:
        return over_share_error(a);
    case admission::admitted:
        break;
    }
    return std::nullopt;
}

void handle_request(app& a, request&& req, std::string_view client, reply_handler reply_to) {
    // A HEAD answer has the headers of the GET answer (Content-Length included) and no body,
    // whatever the route or error (RFC 9110 §9.3.2).
    reply_handler done = req.method() != http::verb::head
                             ? std::move(reply_to)
                             : [reply_to = std::move(reply_to)](reply r) {
                                   if (r.raw.empty()) r.msg.body().clear();
                                   reply_to(std::move(r));
                               };
    const auto method = req.method();
    if (req.target() == "*") { // asterisk-form (RFC 9112 §3.2.4)
        if (method == http::verb::options) return done(preflight(req, whole_server));
        return done(
            from_error(req, a, {error_kind::bad_request, "the target * is only for OPTIONS"}));
    }
    const auto path = path_of(req.target());
    const route* r = find_route(path);
    if (!r)
        return done(
            from_error(req, a,
                       {error_kind::not_found, "no route for " + std::string(path.substr(0, 128)) +
                                                   "; see /api/codecs, /compress, /tiny"}));
    if (method == http::verb::options) return done(preflight(req, *r));
    if (method == http::verb::post && r->report) {
        if (auto e = refusal_from_headers(a, req, client)) return done(from_error(req, a, *e));
        return report_route(a, std::move(req), client, std::move(done));
    }
    if ((method == http::verb::get || method == http::verb::head) && r->read)
        return done(r->read(a, req));
    done(method_not_allowed(req, a, *r));
}

} // namespace compresstest
