// TinySite: a page whose whole HTTP response fits in one 536-byte TCP segment.
#pragma once

#include "result.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace compresstest::tinysite {

// RFC 6691: the 576-byte minimum IP datagram less 40 bytes of IPv4 and TCP headers.
inline constexpr std::size_t segment_budget_nbytes = 536;
// The page must carry real content, not a stub that trivially fits.
inline constexpr std::size_t min_html_nbytes = 1000;

// The page as written (text/html; charset=utf-8).
std::string_view html();
// The page in the zlib format (RFC 1950), which is what the "deflate" content-coding names
// (RFC 9110 §8.4.1.2), compressed once at build time by Zopfli.
std::string_view body_zlib();

// The exact bytes sent for GET and HEAD: "HTTP/1.1 200 OK", Content-Encoding: deflate and
// Content-Length, nothing else. Built once, on first use; thread-safe.
const std::string& get_response();
const std::string& head_response();

// The response's size, or an error naming it if it is over the segment budget or the page is
// under the content floor. The build runs this on the embedded page (tools/check_embedded.cpp),
// so a page that misses either fails the build, not the start-up.
result<std::size_t> check_budget();

} // namespace compresstest::tinysite
