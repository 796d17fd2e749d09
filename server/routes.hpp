// handle_request: the HTTP contract as one function of the request and the app's state.
#pragma once

#include "app.hpp"
#include "http.hpp"
#include "metrics.hpp"
#include "result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace compresstest {

// Answers req through done (exactly once). Quick routes answer before returning; reports are
// admitted (or refused with 503 or 429 at once) and answered later from the compute pool, where
// their body is parsed too. client is the key --max-reports-per-client counts under
// (client_key()). Used unchanged by the socket server and the Lambda adapter.
void handle_request(app& a, request&& req, std::string_view client, reply_handler done);

// The refusal a request's headers alone earn, changing nothing: for a report, 415 (wrong
// content type), 413 (Content-Length over the body limit), 429 (the client is over its share)
// or 503 (the compute queue is full). Asked before any body byte is read, which is also how
// "Expect: 100-continue" gets its immediate answer.
std::optional<error> refusal_from_headers(const app& a, const request_header& h,
                                          std::string_view client);

// Which metrics label a request counts under.
route_id classify(http::verb method, std::string_view target);

// The key a request's reports count under: the peer address, or with cfg.trust_forwarded_for
// the rightmost public address in X-Forwarded-For (the client as an AWS load balancer appended
// it; later private-network hops, such as Elastic Beanstalk's nginx, are skipped), else the peer.
std::string client_key(const config& cfg, std::string_view peer, const request_header& h);

} // namespace compresstest
