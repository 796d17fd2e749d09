// The one place where an error becomes an HTTP status and a JSON body.
#include "errors.hpp"

#include "routes.hpp"

#include <boost/json.hpp>

namespace compresstest {
namespace {

// Messages may quote what the client sent; JSON must be UTF-8, so invalid sequences become
// U+FFFD rather than bytes a client's JSON parser would reject.
std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = c < 0x80           ? 1
                              : (c >> 5) == 0x6  ? 2
                              : (c >> 4) == 0xe  ? 3
                              : (c >> 3) == 0x1e ? 4
                                                 : 0;
        bool ok = n > 0 && i + n <= s.size();
        for (std::size_t k = 1; ok && k < n; ++k)
            ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
        if (ok && n > 1) {
            // Reject overlong forms, surrogates and code points above U+10FFFF.
            std::uint32_t cp = c & (0xff >> (n + 1));
            for (std::size_t k = 1; k < n; ++k)
                cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
            static constexpr std::uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
            ok = cp >= min_cp[n] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
        }
        if (ok) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

} // namespace

http::status status_of(error_kind kind) {
    switch (kind) {
    case error_kind::bad_request:
        return http::status::bad_request;
    case error_kind::not_found:
        return http::status::not_found;
    case error_kind::method_not_allowed:
        return http::status::method_not_allowed;
    case error_kind::timeout:
        return http::status::request_timeout;
    case error_kind::too_large:
        return http::status::payload_too_large;
    case error_kind::headers_too_large:
        return http::status::request_header_fields_too_large;
    case error_kind::unsupported_type:
        return http::status::unsupported_media_type;
    case error_kind::unprocessable:
        return http::status::unprocessable_entity;
    case error_kind::overloaded:
        return http::status::service_unavailable;
    case error_kind::internal:
        break;
    }
    return http::status::internal_server_error;
}

response error_response(const error& e, unsigned version, unsigned retry_after_s) {
    response res{status_of(e.kind), version};
    res.set(http::field::content_type, "application/json");
    set_common_headers(res);
    if (e.kind == error_kind::overloaded)
        res.set(http::field::retry_after, std::to_string(retry_after_s));
    res.body() =
        boost::json::serialize(boost::json::object{{"error", valid_utf8(e.message)}}) + "\n";
    res.prepare_payload();
    return res;
}

} // namespace compresstest
