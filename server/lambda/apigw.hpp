// API Gateway event JSON <-> the Beast messages handle_request takes and gives; no sockets.
#pragma once

#include "result.hpp"
#include "server/http.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace compresstest::apigw {

// Lambda refuses synchronous invocation payloads over 6 MB (6 MiB), request or response.
inline constexpr std::size_t lambda_payload_nbytes = 6 * 1024 * 1024;

// Which API Gateway payload format an event came in; the response goes back in the same one.
// REST APIs send 1.0; HTTP APIs send 2.0 (or 1.0 when configured so).
enum class payload_version { v1, v2 };

struct event_limits {
    std::size_t max_event_nbytes = lambda_payload_nbytes; // the event JSON as received
    std::size_t max_body_nbytes;                          // the decoded body (config)
};

// What an API Gateway event becomes.
struct event {
    payload_version version = payload_version::v1;
    // HTTP/1.1, as the socket path builds it: method, origin-form target, the event's headers,
    // the decoded body and Content-Length (when there is a body, or for POST/PUT/PATCH).
    // Without a refusal, it is ready for handle_request.
    request req;
    // Set when the request must be answered 413 without being handled: the event is over
    // max_event_nbytes (then req is empty and version is v1, whose response shape without
    // multiValueHeaders API Gateway accepts for both formats), or the decoded body is over
    // max_body_nbytes (then req has the method, target and headers, Content-Length is the
    // decoded size and the body is left empty).
    std::optional<error> refusal;
    // The caller's address as API Gateway saw it (requestContext.identity.sourceIp in 1.0,
    // requestContext.http.sourceIp in 2.0); empty when absent. The per-client report cap keys
    // on it, as the socket path keys on the peer address.
    std::string client;
};

// Parses an event. Payload 1.0 is recognised by string "httpMethod" and "path"; 2.0 by
// "version": "2.0" with string "rawPath" and "requestContext.http.method". Unknown fields are
// ignored, absent or null optional ones are empty.
// - Target: 1.0's decoded query parameters (multiValueQueryStringParameters, else
//   queryStringParameters) are percent-encoded (RFC 3986 unreserved characters kept); 2.0's
//   rawQueryString is used as sent. In paths and raw queries, characters not allowed there are
//   percent-encoded and "%XX" escapes are kept, so the target is always valid origin-form.
// - Headers: 1.0 takes multiValueHeaders (one field per value) plus any name only in
//   "headers"; 2.0 takes "headers" as sent (comma-joined) and joins "cookies" into one
//   Cookie field ("; "). Names are case-insensitive, as in any Beast message.
// - Body: base64-decoded when isBase64Encoded is true (RFC 4648 alphabet, padding optional).
// Returns an error (error_kind::bad_request) when the bytes are not such an event: not JSON,
// neither shape, a wrong type, a path not starting with '/', a method or header name that is
// not an HTTP token, a header value with a control character other than tab, invalid base64.
// The runtime reports those as invalid events.
// Thread-safe (no shared state).
result<event> parse_event(std::string_view json, const event_limits& lim);

// The refusal parse_event gives an event of event_nbytes over lim.max_event_nbytes; for a
// caller that stopped reading such an event instead of passing it whole.
event oversized_event(std::size_t event_nbytes, const event_limits& lim);

// The message a reply stands for: reply.msg, or reply.raw (pre-serialized bytes, as TinySite
// answers) parsed with Beast's response parser; for a HEAD request the raw bytes carry no
// body. It always has a Content-Type, since API Gateway would label a missing one
// application/json: one the reply has is kept; raw bytes without one (TinySite's page) get
// text/html; charset=utf-8; a message without one (the routes' bodyless 204 preflight and 304)
// application/octet-stream. An error only if raw is not a complete HTTP response.
result<response> to_message(reply&& r, bool head_request);

// The API Gateway response JSON for msg, in the event's payload version:
//   1.0: {"statusCode","headers","multiValueHeaders" (only for repeated names),"body",
//         "isBase64Encoded"}
//   2.0: {"statusCode","headers" (repeated names comma-joined),"body","isBase64Encoded",
//         "cookies" (Set-Cookie values, only when there are some)}
// Framing and hop-by-hop fields (Content-Length, Transfer-Encoding, Connection, Keep-Alive)
// are left out: API Gateway frames the response itself. The body is base64 with
// isBase64Encoded true when it is binary: it has a Content-Encoding other than identity, its
// Content-Type is missing or not text, or it is not valid UTF-8.
std::string to_response_json(const response& msg, payload_version v);

// Whether to_response_json sends msg's body base64-encoded (the rule above).
bool is_binary(const response& msg);

// RFC 4648 base64, standard alphabet. decode refuses any other character, misplaced or
// excess padding and impossible lengths; padding may be omitted.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

} // namespace compresstest::apigw
