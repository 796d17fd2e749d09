// The one place where an error becomes an HTTP status and a JSON body.
#pragma once

#include "http.hpp"
#include "result.hpp"

namespace compresstest {

http::status status_of(error_kind kind);

// {"error": message} with the status of e.kind, the CORS header and, for 503, Retry-After.
response error_response(const error& e, unsigned version, unsigned retry_after_s);

} // namespace compresstest
