// API Gateway event JSON <-> the Beast messages handle_request takes and gives; no sockets.
#include "apigw.hpp"

#include "text.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <unordered_set>
#include <utility>
#include <vector>

namespace compresstest::apigw {
namespace json = boost::json;
namespace {

// Thrown inside parse_event only, and turned into its error there: the event is malformed.
struct bad_event {
    std::string message;
};

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr unsigned char not_base64 = 0xff;

// Byte -> its 6-bit value, or not_base64.
constexpr std::array<unsigned char, 256> base64_values = [] {
    std::array<unsigned char, 256> t{};
    t.fill(not_base64);
    for (std::size_t i = 0; i < base64_alphabet.size(); ++i)
        t[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<unsigned char>(i);
    return t;
}();

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_unreserved(char c) {
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 pchar without '%', plus '/' (path) and, for queries, '?'.
bool allowed_in(char c, bool query) {
    return is_unreserved(c) ||
           std::string_view("!$&'()*+,;=:@/").find(c) != std::string_view::npos ||
           (query && c == '?');
}

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void append_escape(std::string& out, char c) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    const auto b = static_cast<unsigned char>(c);
    out += '%';
    out += hex[b >> 4];
    out += hex[b & 0xf];
}

// A decoded query parameter name or value, every byte but the unreserved ones escaped.
std::string encode_component(std::string_view s) {
    std::string out;
    for (char c : s)
        if (is_unreserved(c))
            out += c;
        else
            append_escape(out, c);
    return out;
}

// A path or raw query as sent: escapes what may not appear there and keeps "%XX", so a raw
// string is unchanged and a decoded one becomes valid.
std::string sanitize(std::string_view s, bool query) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (allowed_in(c, query) ||
            (c == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])))
            out += c;
        else
            append_escape(out, c);
    }
    return out;
}

// The member key of o, or nullptr when it is absent or null.
const json::value* member(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
}

const json::object* optional_object(const json::object& o, std::string_view key) {
    const auto* v = member(o, key);
    if (!v) return nullptr;
    if (!v->is_object()) throw bad_event{"\"" + std::string(key) + "\" must be an object"};
    return &v->get_object();
}

std::string_view optional_string(const json::object& o, std::string_view key) {
    const auto* v = member(o, key);
    if (!v) return {};
    if (!v->is_string()) throw bad_event{"\"" + std::string(key) + "\" must be a string"};
    return v->get_string();
}

// The string values of one entry of a single-value map (a string) or a multi-value map (an
// array of strings); nulls are skipped.
std::vector<std::string_view> strings_of(const json::value& v, std::string_view map,
                                         std::string_view name) {
    std::vector<std::string_view> out;
    if (v.is_string())
        out.push_back(v.get_string());
    else if (const auto* a = v.if_array()) {
        for (const auto& item : *a) {
            if (item.is_string())
                out.push_back(item.get_string());
            else if (!item.is_null())
                throw bad_event{"\"" + std::string(map) + "\" values must be strings"};
        }
    } else if (!v.is_null())
        throw bad_event{"\"" + std::string(map) + "\" entry \"" + std::string(name.substr(0, 64)) +
                        "\" must be a string or an array of strings"};
    return out;
}

// Payload 1.0 gives most maps twice: multi-valued and single-valued (the last value). Visits
// every multi-value pair, then the single-value names the multi-value map lacks; names are
// compared after fold (lower-casing for headers, nothing for query parameters).
template <class Fold, class Visit>
void each_pair(const json::object& event, std::string_view multi_key, std::string_view single_key,
               Fold fold, Visit visit) {
    std::unordered_set<std::string> seen;
    if (const auto* multi = optional_object(event, multi_key))
        for (const auto& [name, v] : *multi) {
            seen.insert(fold(name));
            for (auto s : strings_of(v, multi_key, name))
                visit(name, s);
        }
    if (const auto* single = optional_object(event, single_key))
        for (const auto& [name, v] : *single)
            if (!seen.contains(fold(name)))
                for (auto s : strings_of(v, single_key, name))
                    visit(name, s);
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), text::ascii_lower);
    return out;
}

void add_header(request& req, std::string_view name, std::string_view value) {
    if (!text::is_token(name))
        throw bad_event{"header name \"" + std::string(name.substr(0, 64)) + "\" is not a token"};
    // RFC 9110 §5.5: visible characters, obs-text, spaces and tabs; no other controls.
    if (std::any_of(value.begin(), value.end(), text::is_ctl))
        throw bad_event{"header \"" + std::string(name.substr(0, 64)) +
                        "\" has a control character in its value"};
    req.insert(name, value);
}

void set_method(request& req, std::string_view method) {
    if (!text::is_token(method))
        throw bad_event{"method \"" + std::string(method.substr(0, 32)) + "\" is not a token"};
    req.method_string(method);
}

// An absolute path, as API Gateway always sends, made valid for a request target.
std::string path_target(std::string_view path) {
    if (path.empty() || path.front() != '/')
        throw bad_event{"the path \"" + std::string(path.substr(0, 64)) +
                        "\" does not start with /"};
    return sanitize(path, false);
}

std::size_t base64_decoded_nbytes(std::string_view text) {
    while (!text.empty() && text.back() == '=')
        text.remove_suffix(1);
    return text.size() / 4 * 3 + (text.size() % 4) * 3 / 4;
}

void build_v1(const json::object& o, request& req) {
    set_method(req, o.at("httpMethod").get_string());
    const std::string target = path_target(o.at("path").get_string());
    std::string query;
    each_pair(
        o, "multiValueQueryStringParameters", "queryStringParameters",
        [](std::string_view name) { return std::string(name); },
        [&](std::string_view name, std::string_view value) {
            query += query.empty() ? "" : "&";
            query += encode_component(name) + "=" + encode_component(value);
        });
    req.target(query.empty() ? target : target + "?" + query);
    each_pair(o, "multiValueHeaders", "headers", lower,
              [&](std::string_view name, std::string_view value) { add_header(req, name, value); });
}

void build_v2(const json::object& o, request& req) {
    set_method(req, o.at("requestContext").at("http").at("method").get_string());
    const auto query = optional_string(o, "rawQueryString");
    req.target(path_target(o.at("rawPath").get_string()) +
               (query.empty() ? "" : "?" + sanitize(query, true)));
    if (const auto* headers = optional_object(o, "headers"))
        for (const auto& [name, v] : *headers)
            for (auto s : strings_of(v, "headers", name))
                add_header(req, name, s);
    std::string cookies;
    if (const auto* c = member(o, "cookies")) {
        if (!c->is_array()) throw bad_event{"\"cookies\" must be an array of strings"};
        for (auto s : strings_of(*c, "cookies", "cookies"))
            cookies += (cookies.empty() ? "" : "; ") + std::string(s);
    }
    if (!cookies.empty()) {
        // A Cookie header next to "cookies" would be unusual; keep both, in one field.
        const auto existing = req[http::field::cookie];
        req.set(http::field::cookie,
                existing.empty() ? cookies : std::string(existing) + "; " + cookies);
    }
}

bool is_v2(const json::object& o) {
    const auto* v = o.if_contains("version");
    if (!v || !v->is_string() || v->get_string() != "2.0") return false;
    const auto* ctx = o.if_contains("requestContext");
    const auto* http_ctx =
        ctx && ctx->is_object() ? ctx->get_object().if_contains("http") : nullptr;
    const auto* method =
        http_ctx && http_ctx->is_object() ? http_ctx->get_object().if_contains("method") : nullptr;
    const auto* path = o.if_contains("rawPath");
    return method && method->is_string() && path && path->is_string();
}

std::string source_ip(const json::object& o) {
    const json::value* v = nullptr;
    if (const auto* ctx = o.if_contains("requestContext"); ctx && ctx->is_object())
        for (const char* holder : {"http", "identity"})
            if (const auto* h = ctx->get_object().if_contains(holder); h && h->is_object())
                if (const auto* ip = h->get_object().if_contains("sourceIp"); ip && !v) v = ip;
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool is_v1(const json::object& o) {
    const auto* m = o.if_contains("httpMethod");
    const auto* p = o.if_contains("path");
    return m && m->is_string() && p && p->is_string();
}

event parse_checked(std::string_view text, const event_limits& lim) {
    if (text.size() > lim.max_event_nbytes) return oversized_event(text.size(), lim);
    event ev;
    boost::system::error_code ec;
    const json::value root = json::parse(text, ec);
    if (ec) throw bad_event{"the event is not JSON: " + ec.message()};
    const auto* o = root.if_object();
    if (!o) throw bad_event{"the event is not a JSON object"};

    ev.req.version(11);
    ev.client = source_ip(*o);
    if (is_v2(*o)) {
        ev.version = payload_version::v2;
        build_v2(*o, ev.req);
    } else if (is_v1(*o)) {
        build_v1(*o, ev.req);
    } else {
        throw bad_event{"not an API Gateway event: expected \"httpMethod\" and \"path\" "
                        "(payload 1.0) or \"version\": \"2.0\" with \"rawPath\" and "
                        "\"requestContext.http.method\" (payload 2.0)"};
    }

    const auto body = optional_string(*o, "body");
    bool base64 = false;
    if (const auto* b = member(*o, "isBase64Encoded")) {
        if (!b->is_bool()) throw bad_event{"\"isBase64Encoded\" must be true or false"};
        base64 = b->get_bool();
    }
    // The body comes whole, so what framed it on the way in no longer applies.
    ev.req.erase(http::field::content_length);
    ev.req.erase(http::field::transfer_encoding);
    const std::size_t body_nbytes = base64 ? base64_decoded_nbytes(body) : body.size();
    if (body_nbytes > lim.max_body_nbytes) {
        ev.req.content_length(body_nbytes);
        ev.refusal = error{error_kind::too_large, "the body is " + std::to_string(body_nbytes) +
                                                      " bytes; the limit is " +
                                                      std::to_string(lim.max_body_nbytes)};
        return ev;
    }
    if (base64) {
        auto decoded = base64_decode(body);
        if (!decoded) throw bad_event{"\"body\" is not valid base64 but isBase64Encoded is true"};
        ev.req.body() = std::move(*decoded);
    } else {
        ev.req.body() = std::string(body);
    }
    const auto m = ev.req.method();
    if (!ev.req.body().empty() || m == http::verb::post || m == http::verb::put ||
        m == http::verb::patch)
        ev.req.content_length(ev.req.body().size());
    return ev;
}

bool is_text_type(std::string_view content_type) {
    const auto mt = text::trim_ows(content_type.substr(0, content_type.find(';')));
    const auto ends_with = [&](std::string_view suffix) {
        return mt.size() >= suffix.size() &&
               text::iequals(mt.substr(mt.size() - suffix.size()), suffix);
    };
    return (mt.size() > 5 && text::iequals(mt.substr(0, 5), "text/")) ||
           text::iequals(mt, "application/json") || text::iequals(mt, "application/javascript") ||
           text::iequals(mt, "application/xml") || ends_with("+json") || ends_with("+xml");
}

bool is_framing(const http::fields::value_type& f) {
    switch (f.name()) {
    case http::field::content_length:
    case http::field::transfer_encoding:
    case http::field::connection:
    case http::field::keep_alive:
        return true;
    default:
        return false;
    }
}

// TinySite's bytes leave Content-Type out to fit one TCP segment; behind API Gateway, which
// adds headers of its own, that budget cannot hold anyway, and the page must say it is HTML
// for a browser to show it rather than its source.
constexpr std::string_view raw_content_type = "text/html; charset=utf-8";
// For a message without one: what a missing Content-Type means (RFC 9110 §8.3), as is_binary
// reads it too. The routes leave it out only where there is no content to describe: the 204
// preflight, and a 304, whose recipient keeps the type it stored (browsers take no
// Content-Type from a 304).
constexpr std::string_view untyped_content_type = "application/octet-stream";

// Pre-serialized response bytes as a message; for a HEAD request they carry no body.
result<response> parse_raw(std::string_view raw, bool head_request) {
    http::response_parser<http::string_body> p;
    p.eager(true);
    p.skip(head_request);
    p.body_limit(raw.size());
    boost::beast::error_code ec;
    std::string_view rest = raw;
    while (!ec && !p.is_done()) {
        if (rest.empty()) {
            p.put_eof(ec);
            break;
        }
        rest.remove_prefix(p.put(boost::asio::buffer(rest.data(), rest.size()), ec));
    }
    if (ec || !p.is_done())
        return error{error_kind::internal, "the pre-serialized response does not parse: " +
                                               (ec ? ec.message() : std::string("incomplete"))};
    return p.release();
}

} // namespace

result<event> parse_event(std::string_view json_text, const event_limits& lim) {
    try {
        return parse_checked(json_text, lim);
    } catch (const bad_event& e) {
        return error{error_kind::bad_request, e.message};
    }
}

event oversized_event(std::size_t event_nbytes, const event_limits& lim) {
    event ev;
    ev.refusal = error{error_kind::too_large, "the event is " + std::to_string(event_nbytes) +
                                                  " bytes; the limit is " +
                                                  std::to_string(lim.max_event_nbytes)};
    return ev;
}

result<response> to_message(reply&& r, bool head_request) {
    const bool raw = !r.raw.empty();
    auto msg = raw ? parse_raw(r.raw, head_request) : result<response>(std::move(r.msg));
    // API Gateway would label an answer without one application/json.
    if (msg && (*msg)[http::field::content_type].empty())
        msg->set(http::field::content_type, raw ? raw_content_type : untyped_content_type);
    return msg;
}

bool is_binary(const response& msg) {
    if (msg.body().empty()) return false;
    const auto coding = text::trim_ows(msg[http::field::content_encoding]);
    if (!coding.empty() && !text::iequals(coding, "identity")) return true;
    return !is_text_type(msg[http::field::content_type]) || !text::is_valid_utf8(msg.body());
}

std::string to_response_json(const response& msg, payload_version v) {
    // Fields grouped by name in first-seen order; Beast keeps repeated names apart.
    std::vector<std::pair<std::string, std::vector<std::string>>> fields;
    json::array cookies;
    for (const auto& f : msg) {
        if (is_framing(f)) continue;
        if (v == payload_version::v2 && f.name() == http::field::set_cookie) {
            cookies.emplace_back(f.value());
            continue;
        }
        auto it = std::find_if(fields.begin(), fields.end(), [&](const auto& g) {
            return text::iequals(g.first, f.name_string());
        });
        if (it == fields.end()) it = fields.insert(it, {std::string(f.name_string()), {}});
        it->second.emplace_back(f.value());
    }

    json::object headers, multi;
    for (const auto& [name, values] : fields) {
        if (values.size() == 1) {
            headers[name] = values.front();
        } else if (v == payload_version::v1) {
            multi[name] = json::array(values.begin(), values.end());
        } else {
            std::string joined;
            for (const auto& value : values)
                joined += (joined.empty() ? "" : ", ") + value;
            headers[name] = joined;
        }
    }

    const bool binary = is_binary(msg);
    json::object out;
    out["statusCode"] = msg.result_int();
    out["headers"] = std::move(headers);
    if (!multi.empty()) out["multiValueHeaders"] = std::move(multi);
    out["body"] = binary ? base64_encode(msg.body()) : msg.body();
    out["isBase64Encoded"] = binary;
    if (!cookies.empty()) out["cookies"] = std::move(cookies);
    return json::serialize(out);
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    const auto at = [&](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
    };
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t n = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        for (int shift = 18; shift >= 0; shift -= 6)
            out += base64_alphabet[(n >> shift) & 63];
    }
    if (const std::size_t left = bytes.size() - i; left > 0) {
        const std::uint32_t n = at(i) << 16 | (left == 2 ? at(i + 1) << 8 : 0);
        out += base64_alphabet[(n >> 18) & 63];
        out += base64_alphabet[(n >> 12) & 63];
        out += left == 2 ? base64_alphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::size_t padding = 0;
    while (!text.empty() && text.back() == '=' && padding < 2) {
        text.remove_suffix(1);
        ++padding;
    }
    if ((padding > 0 && (text.size() + padding) % 4 != 0) || text.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(base64_decoded_nbytes(text));
    std::uint32_t acc = 0;
    int nbits = 0;
    for (char c : text) {
        const auto value = base64_values[static_cast<unsigned char>(c)];
        if (value == not_base64) return std::nullopt;
        acc = (acc << 6) | value;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            out += static_cast<char>((acc >> nbits) & 0xff);
        }
    }
    return out;
}

} // namespace compresstest::apigw
