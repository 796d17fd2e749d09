// TinySite: the pre-serialized response bytes and the budget they must fit.
#include "tinysite.hpp"

#include "embedded.hpp"

namespace compresstest::tinysite {
namespace {

const embedded_file& page() {
    return tinysite_files().front();
}

std::string build_head() {
    return "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: " +
           std::to_string(page().zlib.size()) + "\r\n\r\n";
}

} // namespace

std::string_view html() {
    return page().identity;
}
std::string_view body_zlib() {
    return page().zlib;
}

const std::string& head_response() {
    static const std::string bytes = build_head();
    return bytes;
}

const std::string& get_response() {
    static const std::string bytes = head_response() + std::string(body_zlib());
    return bytes;
}

result<std::size_t> check_budget() {
    const std::size_t n = get_response().size();
    if (n > segment_budget_nbytes)
        return error{error_kind::internal,
                     "TinySite response is " + std::to_string(n) + " bytes, over the " +
                         std::to_string(segment_budget_nbytes) + "-byte segment budget"};
    if (html().size() < min_html_nbytes)
        return error{error_kind::internal, "TinySite page is " + std::to_string(html().size()) +
                                               " bytes, under the " +
                                               std::to_string(min_html_nbytes) + "-byte floor"};
    return n;
}

} // namespace compresstest::tinysite
