// The one place where an error becomes an HTTP status and a JSON body.
#include "errors.hpp"

#include "text.hpp"

#include <boost/json.hpp>

namespace compresstest {

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
    case error_kind::too_many_requests:
        return http::status::too_many_requests;
    case error_kind::overloaded:
        return http::status::service_unavailable;
    case error_kind::internal:
        break;
    }
    return http::status::internal_server_error;
}

void set_common_headers(response& res) {
    res.set(http::field::access_control_allow_origin, "*");
}

error body_over_limit(std::string_view content_length, std::size_t limit_nbytes) {
    return {error_kind::too_large, "the body is " + std::string(content_length.substr(0, 32)) +
                                       " bytes; the limit is " + std::to_string(limit_nbytes) +
                                       " bytes"};
}

response error_response(const error& e, unsigned version, unsigned retry_after_s) {
    response res{status_of(e.kind), version};
    res.set(http::field::content_type, "application/json");
    set_common_headers(res);
    if (e.kind == error_kind::overloaded || e.kind == error_kind::too_many_requests)
        res.set(http::field::retry_after, std::to_string(retry_after_s));
    res.body() =
        boost::json::serialize(boost::json::object{{"error", text::to_valid_utf8(e.message)}}) +
        "\n";
    res.prepare_payload();
    return res;
}

} // namespace compresstest
