// handle_request: the HTTP contract as one function of the request and the app's state.
#include "routes.hpp"

#include "embedded.hpp"
#include "errors.hpp"
#include "multipart.hpp"
#include "report.hpp"
#include "tinysite.hpp"

#include <boost/url/parse.hpp>

#include <charconv>
#include <memory>

namespace compresstest {
namespace {

constexpr std::string_view report_methods = "POST, OPTIONS";
constexpr std::string_view read_methods = "GET, HEAD, OPTIONS";

std::string_view path_of(std::string_view target) {
    return target.substr(0, target.find('?'));
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// The media type of a Content-Type value, without parameters or surrounding spaces.
std::string_view media_type(std::string_view content_type) {
    auto mt = content_type.substr(0, content_type.find(';'));
    while (!mt.empty() && mt.back() == ' ')
        mt.remove_suffix(1);
    while (!mt.empty() && mt.front() == ' ')
        mt.remove_prefix(1);
    return mt;
}

// The q-value the client gives coding in Accept-Encoding (RFC 9110 §12.5.3): the coding's
// own entry, else "*", else 0. With no header at all RFC 9110 allows any coding; TinySite
// relies on that (as the original did), while assets play safe and send identity.
double accept_q(const request& req, std::string_view coding, double when_absent) {
    auto it = req.find(http::field::accept_encoding);
    if (it == req.end()) return when_absent;
    double star = -1, own = -1;
    std::string_view v = it->value();
    while (!v.empty()) {
        auto item = v.substr(0, v.find(','));
        v.remove_prefix(std::min(v.size(), item.size() + 1));
        auto name = media_type(item); // same trimming rules: token before ';'
        double q = 1;
        if (auto semi = item.find(';'); semi != std::string_view::npos) {
            auto param = item.substr(semi + 1);
            while (!param.empty() && param.front() == ' ')
                param.remove_prefix(1);
            if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
                q = std::atof(std::string(param.substr(2)).c_str());
        }
        if (iequals(name, coding))
            own = q;
        else if (name == "*")
            star = q;
    }
    return own >= 0 ? own : star >= 0 ? star : 0;
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
    reply r{error_response(e, req.version(), a.cfg.retry_after_s), {}};
    r.msg.keep_alive(req.keep_alive());
    if (!allow.empty()) r.msg.set(http::field::allow, allow);
    return r;
}

reply method_not_allowed(const request& req, const app& a, std::string_view allow) {
    return from_error(req, a,
                      {error_kind::method_not_allowed,
                       std::string(req.method_string()) + " is not allowed on " +
                           std::string(path_of(req.target())) + "; use " + std::string(allow)},
                      allow);
}

reply preflight(const request& req, std::string_view allow) {
    response res{http::status::no_content, req.version()};
    set_common_headers(res);
    res.set(http::field::access_control_allow_methods, allow);
    res.set(http::field::access_control_allow_headers, "Content-Type");
    res.set(http::field::access_control_max_age, "86400");
    res.set(http::field::allow, allow);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return {std::move(res), {}};
}

std::string_view content_type_of(std::string_view path) {
    if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
    if (path.ends_with(".css")) return "text/css; charset=utf-8";
    return "text/html; charset=utf-8";
}

// An embedded file with ETag revalidation and the best precompressed variant accepted.
reply serve_file(const request& req, const embedded_file& f) {
    response res{http::status::ok, req.version()};
    set_common_headers(res);
    res.keep_alive(req.keep_alive());
    res.set(http::field::etag, f.etag);
    res.set(http::field::cache_control, "no-cache");
    res.set(http::field::vary, "Accept-Encoding");
    if (auto inm = req.find(http::field::if_none_match);
        inm != req.end() && inm->value().find(f.etag) != std::string_view::npos) {
        res.result(http::status::not_modified);
        return {std::move(res), {}};
    }
    res.set(http::field::content_type, content_type_of(f.path));
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

const embedded_file* web_file(std::string_view path) {
    if (path == "/") path = "/index.html";
    for (const auto& f : web_files())
        if (f.path == path) return &f;
    return nullptr;
}

reply tiny(const request& req) {
    const bool head = req.method() == http::verb::head;
    // Identity unless the client accepts deflate; the deflate answer is the exact
    // pre-serialized bytes, whatever the client's HTTP version or Connection header.
    if (accept_q(req, "deflate", 1) > 0)
        return {{}, head ? tinysite::head_response() : tinysite::get_response()};
    return {make_response(req, http::status::ok, "text/html; charset=utf-8",
                          std::string(tinysite::html())),
            {}};
}

error busy_error() {
    return {error_kind::overloaded, "the server is busy with other reports; retry shortly"};
}

// The report's input and panel, pulled out of the request without copying the input.
struct report_input {
    std::string_view data;
    std::string codecs; // panel spec; empty = default panel
};

result<report_input> extract_input(const app& a, const request& req) {
    report_input in;
    const auto ct = req[http::field::content_type];
    if (iequals(media_type(ct), "application/octet-stream")) {
        in.data = req.body();
    } else {
        const multipart::limits lim{a.cfg.max_form_parts, a.cfg.max_part_header_nbytes,
                                    a.cfg.max_field_name_nbytes};
        auto form = multipart::parse_form(ct, req.body(), lim);
        if (!form) return form.err();
        const auto* file = form->find("fileUpload");
        const auto* text = form->find("textEntry");
        const bool has_file = file && !file->data.empty();
        const bool has_text = text && !text->data.empty();
        if (has_file && has_text)
            return error{error_kind::unprocessable,
                         "send either fileUpload or textEntry, not both"};
        if (!has_file && !has_text)
            return error{error_kind::bad_request,
                         "nothing to compress: send a non-empty fileUpload file or textEntry "
                         "field"};
        in.data = has_file ? file->data : text->data;
        if (const auto* codecs = form->find("codecs")) in.codecs = std::string(codecs->data);
    }
    if (in.codecs.empty()) {
        auto url = boost::urls::parse_origin_form(req.target());
        if (!url)
            return error{error_kind::bad_request, "the request target is not a valid URL path"};
        auto params = url->params();
        if (auto it = params.find("codecs"); it != params.end() && (*it).has_value)
            in.codecs = (*it).value;
    }
    if (in.data.size() > a.cfg.max_input_nbytes)
        return error{error_kind::too_large, "the input is " + std::to_string(in.data.size()) +
                                                " bytes; the limit is " +
                                                std::to_string(a.cfg.max_input_nbytes)};
    return in;
}

void report_route(app& a, request&& req, reply_handler done) {
    auto held = std::make_shared<request>(std::move(req));
    auto in = extract_input(a, *held);
    if (!in) return done(from_error(*held, a, in.err()));
    auto p = in->codecs.empty() ? result<panel>(default_panel()) : parse_panel(in->codecs);
    if (!p) return done(from_error(*held, a, p.err()));
    if (path_of(held->target()) == "/") p = with_original_entries(*p); // the original client's keys
    const double cost_ms = estimate_cpu_ms(*p, in->data.size());
    if (cost_ms > a.cfg.max_panel_cpu_ms)
        return done(from_error(*held, a,
                               {error_kind::unprocessable,
                                "this panel would take about " +
                                    std::to_string(static_cast<long>(cost_ms)) +
                                    " ms of CPU on this input; the limit is " +
                                    std::to_string(static_cast<long>(a.cfg.max_panel_cpu_ms)) +
                                    " ms: choose fewer or faster codec levels"}));
    if (!a.try_admit()) {
        a.stats.add_rejected();
        return done(from_error(
            *held, a,
            {error_kind::overloaded, "the server is busy with other reports; retry shortly"}));
    }
    run_report_async(
        in->data, *p, a.compute().executor(), [&a, held, done = std::move(done)](result<report> r) {
            a.release();
            if (!r) return done(from_error(*held, a, r.err()));
            done({make_response(*held, http::status::ok, "application/json", to_json(*r) + "\n"),
                  {}});
        });
}

} // namespace

void set_common_headers(response& res) {
    res.set(http::field::access_control_allow_origin, "*");
}

route_id classify(http::verb method, std::string_view target) {
    const auto path = path_of(target);
    if (method == http::verb::options) return route_id::preflight;
    if (path == "/") return method == http::verb::post ? route_id::report : route_id::page;
    if (path == "/compress") return route_id::report;
    if (path == "/tiny") return route_id::tiny;
    if (path == "/api/codecs") return route_id::codecs;
    if (path == "/healthz") return route_id::healthz;
    if (path == "/metrics") return route_id::metrics;
    if (web_file(path)) return route_id::asset;
    return route_id::other;
}

std::optional<error> check_headers(const app& a, const request_header& h) {
    if (classify(h.method(), h.target()) != route_id::report || h.method() != http::verb::post)
        return std::nullopt;
    const auto mt = media_type(h[http::field::content_type]);
    if (!iequals(mt, "multipart/form-data") && !iequals(mt, "application/octet-stream"))
        return error{error_kind::unsupported_type,
                     "send multipart/form-data (fields fileUpload or textEntry) or "
                     "application/octet-stream, not \"" +
                         std::string(mt.substr(0, 64)) + "\""};
    if (auto it = h.find(http::field::content_length); it != h.end()) {
        std::uint64_t n = 0;
        const auto v = it->value();
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec == std::errc{} && end == v.data() + v.size() && n > a.cfg.max_body_nbytes)
            return error{error_kind::too_large,
                         "the body is " + std::to_string(n) + " bytes; the limit is " +
                             std::to_string(a.cfg.max_body_nbytes) + " (input up to " +
                             std::to_string(a.cfg.max_input_nbytes) + " bytes)"};
    }
    if (a.full()) {
        a.stats.add_rejected();
        return busy_error();
    }
    return std::nullopt;
}

void handle_request(app& a, request&& req, reply_handler reply_to) {
    // A HEAD answer has the headers of the GET answer (Content-Length included) and no body,
    // whatever the route or error (RFC 9110 §9.3.2).
    reply_handler done = req.method() != http::verb::head
                             ? std::move(reply_to)
                             : [reply_to = std::move(reply_to)](reply r) {
                                   if (r.raw.empty()) r.msg.body().clear();
                                   reply_to(std::move(r));
                               };
    if (req.target() == "*") { // asterisk-form (RFC 9112 §3.2.4): about the server as a whole
        if (req.method() == http::verb::options)
            return done(preflight(req, "GET, HEAD, POST, OPTIONS"));
        return done(
            from_error(req, a, {error_kind::bad_request, "the target * is only for OPTIONS"}));
    }
    const auto path = path_of(req.target());
    const auto method = req.method();
    const bool read = method == http::verb::get || method == http::verb::head;
    const route_id route = classify(http::verb::get, req.target()); // by path alone

    if (path == "/compress" || (path == "/" && method == http::verb::post)) {
        if (method == http::verb::options) return done(preflight(req, report_methods));
        if (method != http::verb::post) return done(method_not_allowed(req, a, report_methods));
        if (auto e = check_headers(a, req)) return done(from_error(req, a, *e));
        return report_route(a, std::move(req), std::move(done));
    }
    if (route == route_id::other)
        return done(
            from_error(req, a,
                       {error_kind::not_found, "no route for " + std::string(path.substr(0, 128)) +
                                                   "; see /api/codecs, /compress, /tiny"}));
    const std::string_view allow = path == "/" ? "GET, HEAD, POST, OPTIONS" : read_methods;
    if (method == http::verb::options) return done(preflight(req, allow));
    if (!read) return done(method_not_allowed(req, a, allow));

    reply r;
    switch (route) {
    case route_id::tiny:
        r = tiny(req);
        break;
    case route_id::codecs:
        r.msg = make_response(req, http::status::ok, "application/json", a.codecs_json);
        break;
    case route_id::healthz:
        r.msg = make_response(req, http::status::ok, "application/json", "{\"status\":\"ok\"}\n");
        break;
    case route_id::metrics:
        r.msg = make_response(req, http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                              a.stats.exposition(a.compute().queue_depth(), a.reports_admitted(),
                                                 a.body_nbytes_reserved()));
        break;
    default:
        r = serve_file(req, *web_file(path));
        break;
    }
    done(std::move(r));
}

} // namespace compresstest
