// What a body costs on the wire: the bytes of the smallest HTTP/1.1 response carrying it, the
// TCP segments they take and the round trips slow start needs to deliver them; and which
// content-coding a server honouring the client's Accept-Encoding would pick.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace compresstest::wire {

// RFC 9293's default MSS for IPv4 on Ethernet (1500 - 40) and RFC 6691's floor (576 - 40).
inline constexpr std::size_t mss_ethernet = 1460;
inline constexpr std::size_t mss_minimum = 536;
// RFC 6928: an initial congestion window of 10 segments.
inline constexpr std::size_t initial_window_segments = 10;

// The media type the report's wire view gives the input: it knows nothing of what it is.
inline constexpr std::string_view report_content_type = "application/octet-stream";

// The bytes of "HTTP/1.1 200 OK", Content-Type (left out when empty), Content-Encoding (left
// out for "identity" or empty), Content-Length and the body, in that order.
std::string response_head(std::string_view content_type, std::string_view content_encoding,
                          std::size_t body_nbytes);
std::size_t response_nbytes(std::string_view content_type, std::string_view content_encoding,
                            std::size_t body_nbytes);

// ceil(nbytes / mss): a response's payload split into full segments and one partial one.
std::size_t segments(std::size_t nbytes, std::size_t mss);

// Round trips to deliver n segments from an empty connection under slow start (RFC 5681):
// the first round trip carries the initial window, and each acknowledged round doubles it.
// No loss, a receive window that never limits, and delayed ACKs ignored. 0 segments: 0.
std::size_t round_trips(std::size_t nsegments,
                        std::size_t initial_window = initial_window_segments);

struct figures {
    std::string_view content_encoding; // "identity" for none
    std::size_t response_nbytes;
    std::size_t segments_mss1460, segments_mss536;
    std::size_t round_trips_mss1460, round_trips_mss536;
};
figures figures_of(std::string_view content_type, std::string_view content_encoding,
                   std::size_t body_nbytes);
// {"content_encoding":…,"response_bytes":…,"segments_mss1460":…,…} as JSON.
std::string to_json(const figures& f);

// The q-value in an element's parameters (what follows its first ';' in Accept or
// Accept-Encoding): 1 when there is none, nothing when it is malformed.
std::optional<double> q_of(std::string_view params);

// Accept-Encoding (RFC 9110 §12.5.3): the q-value a client gives coding (a token, compared
// without case), 0 when it refuses it. An absent header accepts everything; "identity" is
// acceptable unless refused by name or by "*;q=0"; x-gzip counts as gzip.
double accepted_q(std::optional<std::string_view> accept_encoding, std::string_view coding);

// The candidate a server honouring the client's q-values would send: the highest q, then
// the fewest response bytes; none when every candidate is refused.
struct candidate {
    std::string_view content_encoding; // "identity" for the unencoded body
    std::size_t response_nbytes;
};
std::optional<std::size_t> choose(std::optional<std::string_view> accept_encoding,
                                  std::span<const candidate> candidates);

} // namespace compresstest::wire
