// TinySite: the whole response fits one 536-byte segment and inflates to the page.
#include "tinysite.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <sstream>

namespace compresstest {
namespace {

TEST(tinysite, whole_response_fits_one_segment_with_content_length) {
    const std::string& r = tinysite::get_response();
    EXPECT_LE(r.size(), tinysite::segment_budget_nbytes);
    EXPECT_TRUE(tinysite::check_budget());
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: " +
                             std::to_string(tinysite::body_zlib().size()) + "\r\n\r\n";
    EXPECT_EQ(r.substr(0, head.size()), head);
    EXPECT_EQ(r.substr(head.size()), tinysite::body_zlib());
    EXPECT_EQ(tinysite::head_response(), head);
}

TEST(tinysite, page_has_real_content_over_a_thousand_bytes) {
    EXPECT_GE(tinysite::html().size(), tinysite::min_html_nbytes);
    EXPECT_NE(tinysite::html().find("<table"), std::string_view::npos);
    EXPECT_EQ(tinysite::html().substr(0, 15), "<!doctype html>");
}

TEST(tinysite, body_is_zlib_format_and_inflates_to_the_page_byte_for_byte) {
    const auto body = tinysite::body_zlib();
    ASSERT_GE(body.size(), 2u);
    // RFC 1950 header: CM = 8 (deflate), and the check bits make it a multiple of 31.
    EXPECT_EQ(static_cast<unsigned char>(body[0]) & 0x0f, 8);
    EXPECT_EQ(
        ((static_cast<unsigned char>(body[0]) << 8) | static_cast<unsigned char>(body[1])) % 31, 0);
    // Inflated by zlib itself, as a browser would.
    std::string page(tinysite::html().size(), '\0');
    uLongf page_nbytes = page.size();
    ASSERT_EQ(uncompress(reinterpret_cast<Bytef*>(page.data()), &page_nbytes,
                         reinterpret_cast<const Bytef*>(body.data()), body.size()),
              Z_OK);
    EXPECT_EQ(page_nbytes, page.size());
    EXPECT_EQ(page, tinysite::html());
}

TEST(tinysite, embedded_page_is_the_file_in_the_source_tree) {
    std::ifstream f(COMPRESSTEST_SOURCE_DIR "/core/tinysite_page/index.html", std::ios::binary);
    ASSERT_TRUE(f);
    std::ostringstream s;
    s << f.rdbuf();
    EXPECT_EQ(s.str(), tinysite::html());
}

} // namespace
} // namespace compresstest
