// The wire view: response bytes, segments and round trips by their definitions, TinySite's
// real answer as the smallest case, and Accept-Encoding's q-values.
#include "tinysite.hpp"
#include "wire.hpp"

#include <gtest/gtest.h>

#include <array>

namespace ct = compresstest;
namespace wire = compresstest::wire;

TEST(wire, response_bytes_are_the_head_as_written_plus_the_body) {
    for (std::size_t n : {0u, 1u, 9u, 10u, 99u, 100u, 535u, 1460u, 123456u}) {
        const std::string head = wire::response_head("text/plain", "br", n);
        EXPECT_EQ(head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: br\r\n"
                        "Content-Length: " +
                            std::to_string(n) + "\r\n\r\n");
        EXPECT_EQ(wire::response_nbytes("text/plain", "br", n), head.size() + n);
        // identity and an empty type leave their headers out.
        EXPECT_EQ(wire::response_head("", "identity", n),
                  "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n");
    }
}

TEST(wire, segments_are_the_bytes_over_the_mss_rounded_up) {
    for (std::size_t mss : {wire::mss_minimum, wire::mss_ethernet})
        for (std::size_t n = 1; n < 5 * mss; n += 97) {
            const std::size_t s = wire::segments(n, mss);
            EXPECT_GE(s * mss, n) << n;       // enough segments
            EXPECT_LT((s - 1) * mss, n) << n; // and no more
        }
}

TEST(wire, round_trips_follow_slow_start_from_ten_segments) {
    // 10 segments in the first round trip, then 20, 40, 80: cumulative 10, 30, 70, 150.
    const std::array<std::pair<std::size_t, std::size_t>, 9> cases{
        {{0, 0}, {1, 1}, {10, 1}, {11, 2}, {30, 2}, {31, 3}, {70, 3}, {71, 4}, {150, 4}}};
    for (auto [segments, trips] : cases)
        EXPECT_EQ(wire::round_trips(segments), trips) << segments;
    // And as a property: the windows of the first k round trips hold the segments, k-1 do not.
    for (std::size_t n = 1; n < 5000; n += 7) {
        const std::size_t k = wire::round_trips(n);
        const std::size_t held = wire::initial_window_segments * ((std::size_t{1} << k) - 1);
        EXPECT_GE(held, n);
        EXPECT_LT(held / 2 - wire::initial_window_segments / 2, n); // k-1 rounds hold less
    }
}

TEST(wire, tinysite_is_the_smallest_case_and_matches_its_real_bytes) {
    // /tiny's answer carries no Content-Type: the figures of that shape are its real bytes.
    const auto f = wire::figures_of("", "deflate", ct::tinysite::body_zlib().size());
    EXPECT_EQ(f.response_nbytes, ct::tinysite::get_response().size());
    EXPECT_EQ(wire::response_head("", "deflate", ct::tinysite::body_zlib().size()) +
                  std::string(ct::tinysite::body_zlib()),
              ct::tinysite::get_response());
    EXPECT_EQ(f.segments_mss536, 1u);
    EXPECT_EQ(f.segments_mss1460, 1u);
    EXPECT_EQ(f.round_trips_mss536, 1u);
}

TEST(wire, accept_encoding_q_values) {
    EXPECT_EQ(wire::accepted_q(std::nullopt, "br"), 1); // no header: anything
    EXPECT_EQ(wire::accepted_q("", "br"), 0);           // empty: identity only
    EXPECT_EQ(wire::accepted_q("", "identity"), 1);
    EXPECT_EQ(wire::accepted_q("gzip, deflate, br", "br"), 1);
    EXPECT_EQ(wire::accepted_q("gzip, deflate, br", "zstd"), 0);
    EXPECT_EQ(wire::accepted_q("GZIP;Q=0.5", "gzip"), 0.5); // case-insensitive
    EXPECT_EQ(wire::accepted_q("x-gzip", "gzip"), 1);
    EXPECT_EQ(wire::accepted_q("br;q=0, *", "br"), 0); // named beats *
    EXPECT_EQ(wire::accepted_q("*;q=0.3", "zstd"), 0.3);
    EXPECT_EQ(wire::accepted_q("*;q=0", "identity"), 0);
    EXPECT_EQ(wire::accepted_q("identity;q=0", "identity"), 0);
    EXPECT_EQ(wire::accepted_q("br;q=2, gzip;q=x", "br"), 0);      // malformed: ignored
    EXPECT_EQ(wire::accepted_q(" br ; q=0.25 ,gzip", "br"), 0.25); // whitespace
}

TEST(wire, q_of_reads_an_elements_parameters) {
    EXPECT_EQ(wire::q_of(""), 1);
    EXPECT_EQ(wire::q_of("charset=utf-8"), 1);
    EXPECT_EQ(wire::q_of("q=0"), 0);
    EXPECT_EQ(wire::q_of(" Q = 0.000 "), 0);
    EXPECT_EQ(wire::q_of("q=0.5; level=1"), 0.5);
    EXPECT_EQ(wire::q_of("q=1.0"), 1);
    EXPECT_EQ(wire::q_of("q=2"), std::nullopt);
    EXPECT_EQ(wire::q_of("q=0.1234"), std::nullopt);
    EXPECT_EQ(wire::q_of("q="), std::nullopt);
}

TEST(wire, choose_takes_the_highest_q_then_the_fewest_bytes) {
    const std::array<wire::candidate, 3> c{{{"identity", 1000}, {"gzip", 400}, {"br", 300}}};
    EXPECT_EQ(wire::choose("gzip, br", c), 2u);
    EXPECT_EQ(wire::choose("gzip, br;q=0.5", c), 1u);
    EXPECT_EQ(wire::choose("identity;q=0, *;q=0", c), std::nullopt);
    EXPECT_EQ(wire::choose("", c), 0u);
    EXPECT_EQ(wire::choose(std::nullopt, c), 2u);
    const std::array<wire::candidate, 2> larger{{{"identity", 10}, {"gzip", 30}}};
    EXPECT_EQ(wire::choose("gzip", larger), 0u); // identity is acceptable and smaller
}
