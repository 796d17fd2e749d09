// handle_request: the HTTP contract as one function of the request and the app's state.
#pragma once

#include "app.hpp"
#include "http.hpp"
#include "metrics.hpp"
#include "result.hpp"

#include <optional>

namespace compresstest {

// Answers req through done (exactly once). Quick routes answer before returning; reports
// are admitted (or refused with 503 at once) and answered later from the compute pool.
// Used unchanged by the socket server and the Lambda adapter.
void handle_request(app& a, request&& req, reply_handler done);

// Checks made from the headers alone, before any body is read: a body that would be refused
// (413 over max_body_nbytes, 415 wrong content type) is refused without reading it, which is
// also how "Expect: 100-continue" gets its immediate answer.
std::optional<error> check_headers(const app& a, const request_header& h);

// Which metrics label a request counts under.
route_id classify(http::verb method, std::string_view target);

// Headers every response carries (CORS).
void set_common_headers(response& res);

} // namespace compresstest
