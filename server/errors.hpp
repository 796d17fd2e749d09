// The one place where an error becomes an HTTP status and a JSON body.
#pragma once

#include "http.hpp"
#include "result.hpp"

namespace compresstest {

http::status status_of(error_kind kind);

// Headers every response carries (CORS); TinySite's pre-serialized deflate bytes excepted.
void set_common_headers(response& res);

// 413 for a body whose Content-Length (as sent) is over limit_nbytes: the one wording, whether
// the connection core, the report route or the Lambda adapter finds it.
error body_over_limit(std::string_view content_length, std::size_t limit_nbytes);

// {"error": message} with the status of e.kind, the CORS header and, for 503 and 429,
// Retry-After. The message is made valid UTF-8 (it may quote what a client sent).
response error_response(const error& e, unsigned version, unsigned retry_after_s);

} // namespace compresstest
